"""Runs Magenta's own TF1 attention RNN and dumps what it computes, for the attention tests.

Run it in Magenta's kit venv (``.venv-baseline``: TF 2.15's ``tf.compat.v1`` and note-seq),
never in the project's. Two modes:

* ``--bundle=FILE.mag``: imports the bundle's generation metagraph as it is and restores its
  V1 checkpoint, so the numbers come from Magenta's graph
  (``MultiRNNCell([AttentionCellWrapper(LSTM), LSTM])`` unrolled by ``dynamic_rnn``)::

      .venv-baseline/bin/python tests/note_rnn/magenta_attention_probe.py \\
          --bundle=../shared/data/magenta_golden/configs/attention_rnn/attention_rnn.mag \\
          --out=tests/note_rnn/testdata/attention_cell/attention_rnn_golden.npz

  It records the first ``--rows`` rows of the graph's fixed batch, from two runs: ``zero_*``,
  ``--steps`` steps from the zero state (more than the attention window, so the window fills
  and then drops its oldest entries); ``warm_*``, ``--warm_steps`` steps from a random state
  fed into the ``initial_state`` collection, which pins down the state layout
  (c0, h0, attns, attn_states, c1, h1). Logits are ``fully_connected/BiasAdd`` (no temperature).
* ``--kit=DIR --layers=4,3,2``: builds the cell with Magenta's own
  ``events_rnn_graph.make_rnn_cell`` from the kit at DIR, gives every variable (biases too)
  random values and records them (keys ``var|<TF1 name>``) with the same two runs. It covers
  layer counts and sizes that no bundle has.

Inputs are 0/1 vectors with a few ones (like the lookback encoding) in all rows but the last
saved one, which holds uniform floats in [-1, 1].
"""

import argparse
import hashlib
import os
import sys
import tempfile

import numpy as np
import tensorflow.compat.v1 as tf

RNN_OUTPUTS = 'rnn/transpose_1:0'
LOGITS = 'fully_connected/BiasAdd:0'


def _inputs(rng, batch, steps, size, float_row):
  x = (rng.uniform(size=(batch, steps, size)) < 0.08).astype(np.float32)
  x[float_row] = rng.uniform(-1.0, 1.0, size=(steps, size)).astype(np.float32)
  return x


def _load_bundle(bundle_path):
  """(graph, session, sha256 of the file) with the bundle's metagraph and weights."""
  from note_seq.protobuf import generator_pb2  # pylint: disable=g-import-not-at-top
  bundle = generator_pb2.GeneratorBundle()
  with open(bundle_path, 'rb') as f:
    data = f.read()
  bundle.ParseFromString(data)
  meta = tf.MetaGraphDef()
  meta.ParseFromString(bundle.metagraph_file)
  graph = tf.Graph()
  with graph.as_default():
    saver = tf.train.import_meta_graph(meta)
  sess = tf.Session(graph=graph)
  with tempfile.TemporaryDirectory() as tmp:
    ckpt = os.path.join(tmp, 'model.ckpt')
    with open(ckpt, 'wb') as f:
      f.write(bundle.checkpoint_file[0])
    saver.restore(sess, ckpt)
  return graph, sess, hashlib.sha256(data).hexdigest()


def _build_cell_graph(kit, sizes, attn_length, batch, input_size, rng):
  """(graph, session, {name: value}) of make_rnn_cell's stack with random values everywhere."""
  sys.path.insert(0, kit)
  from magenta.models.shared import events_rnn_graph  # pylint: disable=g-import-not-at-top
  graph = tf.Graph()
  with graph.as_default():
    inputs = tf.placeholder(tf.float32, [batch, None, input_size])
    cell = events_rnn_graph.make_rnn_cell(sizes, attn_length=attn_length)
    initial = cell.zero_state(batch, tf.float32)
    outputs, final = tf.nn.dynamic_rnn(cell, inputs, initial_state=initial, scope='rnn')
    assert outputs.name == RNN_OUTPUTS, outputs.name
    tf.add_to_collection('inputs', inputs)
    for t in tf.nest.flatten(initial):
      tf.add_to_collection('initial_state', t)
    for t in tf.nest.flatten(final):
      tf.add_to_collection('final_state', t)
    sess = tf.Session(graph=graph)
    sess.run(tf.global_variables_initializer())
    values = {}
    for var in tf.global_variables():
      values[var.op.name] = (0.5 * rng.standard_normal(var.shape.as_list())).astype(np.float32)
      var.load(values[var.op.name], sess)
  return graph, sess, values


def _run(graph, sess, inputs, initial_state=None, with_logits=True):
  feed = {graph.get_collection('inputs')[0]: inputs}
  if initial_state is not None:
    feed.update(zip(graph.get_collection('initial_state'), initial_state))
  fetches = [graph.get_tensor_by_name(RNN_OUTPUTS), graph.get_collection('final_state')]
  if with_logits:
    fetches.append(graph.get_tensor_by_name(LOGITS))
  out = sess.run(fetches, feed)
  if with_logits:
    out[2] = out[2].reshape(inputs.shape[0], inputs.shape[1], -1)
  return out


def _record(graph, sess, rng, rows, steps, warm_steps, with_logits):
  """The zero_* and warm_* arrays for the first ``rows`` rows of the batch."""
  batch, _, size = graph.get_collection('inputs')[0].shape.as_list()
  arrays = {}
  warm_state = [(0.5 * rng.standard_normal(t.shape.as_list())).astype(np.float32)
                for t in graph.get_collection('initial_state')]
  for run, num_steps, state in (('zero', steps, None), ('warm', warm_steps, warm_state)):
    x = _inputs(rng, batch, num_steps, size, rows - 1)
    result = _run(graph, sess, x, state, with_logits)
    arrays.update({'%s_inputs' % run: x[:rows], '%s_outputs' % run: result[0][:rows]})
    if with_logits:
      arrays['%s_logits' % run] = result[2][:rows]
    for k, final in enumerate(result[1]):
      arrays['%s_final_%d' % (run, k)] = final[:rows]
  for k, initial in enumerate(warm_state):
    arrays['warm_initial_%d' % k] = initial[:rows]
  return arrays


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--bundle', help='a .mag GeneratorBundle of attention_rnn')
  parser.add_argument('--kit', help='the folder holding Magenta\'s magenta/ package')
  parser.add_argument('--layers', default='4,3,2', help='with --kit: rnn_layer_sizes')
  parser.add_argument('--input_size', type=int, default=5, help='with --kit')
  parser.add_argument('--attn_length', type=int, default=3, help='with --kit')
  parser.add_argument('--out', required=True)
  parser.add_argument('--steps', type=int, default=45)
  parser.add_argument('--warm_steps', type=int, default=4)
  parser.add_argument('--rows', type=int, default=2)
  parser.add_argument('--seed', type=int, default=20261203)
  args = parser.parse_args()
  if bool(args.bundle) == bool(args.kit):
    parser.error('give exactly one of --bundle and --kit')
  tf.disable_v2_behavior()
  rng = np.random.RandomState(args.seed)
  if args.bundle:
    graph, sess, sha = _load_bundle(args.bundle)
    arrays = {'bundle_sha256': np.array(sha)}
  else:
    sizes = [int(u) for u in args.layers.split(',')]
    graph, sess, values = _build_cell_graph(args.kit, sizes, args.attn_length, args.rows,
                                            args.input_size, rng)
    arrays = {'var|' + name: value for name, value in values.items()}
    arrays['attn_length'] = np.array(args.attn_length)
  arrays.update(_record(graph, sess, rng, args.rows, args.steps, args.warm_steps,
                        with_logits=bool(args.bundle)))
  os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
  np.savez_compressed(args.out, **arrays)
  print('wrote %s: %d rows, %d + %d steps, state widths %s' % (
      args.out, args.rows, args.steps, args.warm_steps,
      [arrays['zero_final_%d' % k].shape[1] for k in range(len(graph.get_collection(
          'final_state')))]))


if __name__ == '__main__':
  main()
