"""Runs a Magenta attention_rnn bundle's own TF1 graph and dumps what its RNN computes.

Run it in Magenta's kit (``.venv-baseline``; it needs TF 2.15's ``tf.compat.v1`` and
note-seq's ``generator_pb2``, not the project):

    .venv-baseline/bin/python tests/note_rnn/magenta_attention_probe.py \\
        --bundle=../shared/data/magenta_golden/configs/attention_rnn/attention_rnn.mag \\
        --out=tests/note_rnn/testdata/attention_cell/attention_rnn_golden.npz

The bundle's generation metagraph is imported as it is and its V1 checkpoint restored, so
the numbers come from Magenta's graph (``MultiRNNCell([AttentionCellWrapper(LSTM), LSTM])``
unrolled by ``dynamic_rnn``), not from a re-implementation. Two runs are recorded, each for the
first ``--rows`` rows of the graph's fixed batch:

* ``zero_*``: ``--steps`` steps from the zero state (more steps than the attention window, so
  the window fills and then drops its oldest entries);
* ``warm_*``: ``--warm_steps`` steps from a random state fed into the ``initial_state``
  collection, which pins down the state layout (c, h, attns, attn_states, c, h).

Inputs are 0/1 vectors with a few ones each (like the lookback encoding) in all rows but the
last, which holds uniform floats in [-1, 1] to exercise non-binary inputs.
The logits are ``fully_connected/BiasAdd``, before the temperature.
"""

import argparse
import hashlib
import os
import tempfile

import numpy as np
import tensorflow.compat.v1 as tf
from note_seq.protobuf import generator_pb2

RNN_OUTPUTS = 'rnn/transpose_1:0'
LOGITS = 'fully_connected/BiasAdd:0'


def _inputs(rng, batch, steps, size):
  x = (rng.uniform(size=(batch, steps, size)) < 0.08).astype(np.float32)
  x[-1] = rng.uniform(-1.0, 1.0, size=(steps, size)).astype(np.float32)
  return x


def _load(bundle_path, tmp):
  bundle = generator_pb2.GeneratorBundle()
  with open(bundle_path, 'rb') as f:
    data = f.read()
  bundle.ParseFromString(data)
  ckpt = os.path.join(tmp, 'model.ckpt')
  with open(ckpt, 'wb') as f:
    f.write(bundle.checkpoint_file[0])
  meta = tf.MetaGraphDef()
  meta.ParseFromString(bundle.metagraph_file)
  graph = tf.Graph()
  with graph.as_default():
    saver = tf.train.import_meta_graph(meta)
  sess = tf.Session(graph=graph)
  saver.restore(sess, ckpt)
  return graph, sess, hashlib.sha256(data).hexdigest()


def _run(graph, sess, inputs, initial_state=None):
  feed = {graph.get_collection('inputs')[0]: inputs}
  if initial_state is not None:
    feed.update(zip(graph.get_collection('initial_state'), initial_state))
  fetches = [graph.get_tensor_by_name(RNN_OUTPUTS), graph.get_tensor_by_name(LOGITS),
             graph.get_collection('final_state')]
  outputs, logits, final = sess.run(fetches, feed)
  return outputs, logits.reshape(inputs.shape[0], inputs.shape[1], -1), final


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--bundle', required=True)
  parser.add_argument('--out', required=True)
  parser.add_argument('--steps', type=int, default=45)
  parser.add_argument('--warm_steps', type=int, default=4)
  parser.add_argument('--rows', type=int, default=2)
  parser.add_argument('--seed', type=int, default=20261203)
  args = parser.parse_args()
  tf.disable_v2_behavior()
  rng = np.random.RandomState(args.seed)
  with tempfile.TemporaryDirectory() as tmp:
    graph, sess, sha = _load(args.bundle, tmp)
  batch, _, size = graph.get_collection('inputs')[0].shape.as_list()
  rows = min(args.rows, batch)
  zero_inputs = _inputs(rng, batch, args.steps, size)
  zero_inputs[rows - 1] = zero_inputs[-1]  # keep the float row among the saved ones
  zero_out, zero_logits, zero_final = _run(graph, sess, zero_inputs)
  warm_inputs = _inputs(rng, batch, args.warm_steps, size)
  warm_inputs[rows - 1] = warm_inputs[-1]
  warm_state = [(0.5 * rng.standard_normal(t.shape.as_list())).astype(np.float32)
                for t in graph.get_collection('initial_state')]
  warm_out, warm_logits, warm_final = _run(graph, sess, warm_inputs, warm_state)
  arrays = {
      'bundle_sha256': np.array(sha), 'rnn_outputs_tensor': np.array(RNN_OUTPUTS),
      'zero_inputs': zero_inputs[:rows], 'zero_outputs': zero_out[:rows],
      'zero_logits': zero_logits[:rows], 'warm_inputs': warm_inputs[:rows],
      'warm_outputs': warm_out[:rows], 'warm_logits': warm_logits[:rows]}
  for k, (a, b, c) in enumerate(zip(zero_final, warm_state, warm_final)):
    arrays['zero_final_%d' % k] = a[:rows]
    arrays['warm_initial_%d' % k] = b[:rows]
    arrays['warm_final_%d' % k] = c[:rows]
  os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
  np.savez_compressed(args.out, **arrays)
  print('wrote %s: %d rows, %d + %d steps, state parts %s'
        % (args.out, rows, args.steps, args.warm_steps, [a.shape[1] for a in zero_final]))


if __name__ == '__main__':
  main()
