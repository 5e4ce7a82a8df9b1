"""Runs a melody_rnn bundle's own generation graph on a fixed melody: Magenta's goldens.

Run with the baseline venv (Magenta's code under ../shared/baseline), never with the
project's venv:

  .venv-baseline/bin/python tests/note_rnn/magenta_logits_probe.py KIT_DIR BUNDLE.mag \
      EVENTS.json OUT.npz

EVENTS.json is a JSON list of Melody events (-2 hold, -1 note-off, MIDI pitch). The probe
takes the config Magenta's generator would take for the bundle (its generator id), encodes
the events with that config's own encoder/decoder exactly as generation does
(``get_inputs_batch(full_length=True)``), labels each step with ``events_to_label``, imports
the bundle's metagraph, restores its checkpoint and runs the graph from its zero state at
temperature 1. OUT.npz holds ``inputs`` [T, input_size], ``labels`` [T] (label t = class of
event t + 1, as in the dataset; the last one is 0), ``event_labels`` [T] (class of event t),
``logits`` [T, num_classes] (the ``fully_connected`` layer's output), ``softmax``, every
``final_state`` tensor as ``final_state_<i>``, and ``config``.
"""

import json
import os
import sys
import tempfile

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')


def main(kit_dir, bundle_path, events_path, out_path):
  sys.path.insert(0, kit_dir)
  from tensorflow.python.framework import indexed_slices, ops  # pylint: disable=g-import-not-at-top
  if not hasattr(ops, 'IndexedSlices'):
    ops.IndexedSlices = indexed_slices.IndexedSlices
  import numpy as np  # pylint: disable=g-import-not-at-top
  import note_seq  # pylint: disable=g-import-not-at-top
  import tensorflow.compat.v1 as tf  # pylint: disable=g-import-not-at-top
  from magenta.models.melody_rnn import melody_rnn_model  # pylint: disable=g-import-not-at-top
  from note_seq.protobuf import generator_pb2  # pylint: disable=g-import-not-at-top
  tf.disable_v2_behavior()

  bundle = generator_pb2.GeneratorBundle()
  with open(bundle_path, 'rb') as f:
    bundle.ParseFromString(f.read())
  config_name = bundle.generator_details.id
  encoder = melody_rnn_model.default_configs[config_name].encoder_decoder
  with open(events_path) as f:
    events = note_seq.Melody(json.load(f))
  inputs = np.asarray(encoder.get_inputs_batch([events], full_length=True)[0], np.float32)
  event_labels = np.asarray([encoder.events_to_label(events, t) for t in range(len(events))])
  labels = np.concatenate([event_labels[1:], [0]])

  with tempfile.TemporaryDirectory() as tmp:
    ckpt = os.path.join(tmp, 'model.ckpt')
    with open(ckpt, 'wb') as f:
      f.write(bundle.checkpoint_file[0])
    graph = tf.Graph()
    with graph.as_default():
      saver = tf.train.import_meta_graph(tf.MetaGraphDef.FromString(bundle.metagraph_file))
      with tf.Session(graph=graph) as sess:
        saver.restore(sess, ckpt)
        placeholder = graph.get_collection('inputs')[0]
        batch_size = placeholder.shape.as_list()[0]
        batch = np.zeros([batch_size] + list(inputs.shape), np.float32)
        batch[:] = inputs
        logits = graph.get_tensor_by_name('fully_connected/BiasAdd:0')
        softmax = graph.get_collection('softmax')[0]
        final_state = graph.get_collection('final_state')
        out = sess.run([logits, softmax] + final_state, {
            placeholder: batch, graph.get_collection('temperature')[0]: 1.0})
  num_steps = inputs.shape[0]
  arrays = {'inputs': inputs, 'labels': labels, 'event_labels': event_labels,
            'events': np.asarray(list(events)),
            'logits': out[0].reshape(batch_size, num_steps, -1)[0],
            'softmax': out[1][0], 'config': np.asarray(config_name)}
  for i, state in enumerate(out[2:]):
    arrays['final_state_%d' % i] = state[0]
  np.savez_compressed(out_path, **arrays)


if __name__ == '__main__':
  main(*sys.argv[1:5])
