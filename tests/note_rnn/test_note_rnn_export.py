"""Export to Magenta: exact round trip, bundle contents, and Magenta's own generator reading it."""

import os
import subprocess

import note_seq
import numpy as np
import pytest
import tensorflow as tf

import note_rnn
from note_rnn import magenta_checkpoint as mc
import note_rnn_testlib as lib


@pytest.fixture(scope='module')
def peaked_model():
  # Two layers (so layer chaining is exercised) with peaked logits, so greedy decoding emits
  # notes and has clear margins between the top two classes.
  model = note_rnn.build((32, 24), seed=5)
  model.set_weights([w * 3 for w in model.get_weights()])
  return model


@pytest.fixture(scope='module')
def exported(peaked_model, tmp_path_factory):
  out = tmp_path_factory.mktemp('export')
  written = mc.export_magenta(peaked_model, checkpoint_prefix=str(out / 'train' / 'model.ckpt-7'),
                              bundle_file=str(out / 'basic_rnn.mag'), global_step=7,
                              bundle_description='unit test')
  return out, written


def test_round_trip_is_exact(peaked_model, exported):
  out, written = exported
  for path in (written['bundle_file'], written['checkpoint_prefix'], str(out)):
    loaded = note_rnn.load(path)
    assert loaded.layer_sizes == (32, 24)
    for a, b in zip(loaded.get_weights(), peaked_model.get_weights()):
      np.testing.assert_array_equal(a, b)


def test_checkpoint_has_melody_rnn_names(exported):
  _, written = exported
  shapes = dict(tf.train.list_variables(written['checkpoint_prefix']))
  assert shapes == {
      'rnn/multi_rnn_cell/cell_0/basic_lstm_cell/kernel': [38 + 32, 128],
      'rnn/multi_rnn_cell/cell_0/basic_lstm_cell/bias': [128],
      'rnn/multi_rnn_cell/cell_1/basic_lstm_cell/kernel': [32 + 24, 96],
      'rnn/multi_rnn_cell/cell_1/basic_lstm_cell/bias': [96],
      'fully_connected/weights': [24, 38], 'fully_connected/biases': [38], 'global_step': []}
  assert tf.train.load_variable(written['checkpoint_prefix'], 'global_step') == 7
  assert os.path.exists(written['checkpoint_prefix'] + '.meta')
  assert tf.train.latest_checkpoint(os.path.dirname(written['checkpoint_prefix'])) == \
      written['checkpoint_prefix']


def test_bundle_contents(exported):
  _, written = exported
  bundle = mc.read_bundle(written['bundle_file'])
  assert bundle.generator_details.id == 'basic_rnn'
  assert bundle.bundle_details.description == 'unit test'
  assert len(bundle.checkpoint_file) == 1
  meta = tf.compat.v1.MetaGraphDef()
  meta.ParseFromString(bundle.metagraph_file)
  collections = meta.collection_def
  for key in ('inputs', 'temperature', 'softmax'):
    assert len(collections[key].node_list.value) == 1
  assert len(collections['initial_state'].node_list.value) == 4
  assert len(collections['final_state'].node_list.value) == 4
  assert meta.saver_def.version == tf.compat.v1.train.SaverDef.V1
  assert sorted(mc.bundle_variables(written['bundle_file'])) == sorted(
      mc.melody_rnn_arrays(note_rnn.build((32, 24))))


def test_bundle_graph_computes_our_logits(peaked_model, exported, shared_data):
  """Runs the exported metagraph in TF1 and compares its softmax with the Keras model."""
  _, written = exported
  bundle = mc.read_bundle(written['bundle_file'])
  inputs = np.load(shared_data / 'magenta_golden' / 'inputs_golden.npy')[:, :20]
  import tempfile
  with tempfile.TemporaryDirectory() as tmp:
    ckpt = os.path.join(tmp, 'model.ckpt')
    with open(ckpt, 'wb') as f:
      f.write(bundle.checkpoint_file[0])
    with open(ckpt + '.meta', 'wb') as f:
      f.write(bundle.metagraph_file)
    graph = tf.Graph()
    with graph.as_default(), tf.compat.v1.Session(graph=graph) as sess:
      saver = tf.compat.v1.train.import_meta_graph(ckpt + '.meta')
      saver.restore(sess, ckpt)
      feed_inputs = np.zeros((128,) + inputs.shape[1:], np.float32)
      feed_inputs[0] = inputs[0]
      softmax = sess.run(graph.get_collection('softmax')[0],
                         {graph.get_collection('inputs')[0]: feed_inputs,
                          graph.get_collection('temperature')[0]: 1.0})
  expected = tf.nn.softmax(peaked_model.logits(inputs)).numpy()
  np.testing.assert_allclose(softmax[:1], expected, atol=1e-6)


def test_cli_export_from_run_dir(tmp_path, python_exe, peaked_model):
  run_dir = tmp_path / 'run'
  peaked_model.save(str(run_dir))
  out = tmp_path / 'out'
  proc = subprocess.run([python_exe, str(lib.REPO_ROOT / 'bin' / 'export_magenta_bundle'),
                         '--checkpoint=%s' % run_dir, '--output_dir=%s' % out],
                        capture_output=True, text=True, timeout=300, env=lib.quiet_env())
  assert proc.returncode == 0, proc.stderr[-3000:]
  assert (out / 'basic_rnn.mag').exists()
  assert tf.train.latest_checkpoint(str(out / 'train'))
  loaded = note_rnn.load(str(out / 'basic_rnn.mag'))
  for a, b in zip(loaded.get_weights(), peaked_model.get_weights()):
    np.testing.assert_array_equal(a, b)
  bad = subprocess.run([python_exe, str(lib.REPO_ROOT / 'bin' / 'export_magenta_bundle'),
                        '--checkpoint=%s' % (tmp_path / 'missing'), '--output_dir=%s' % out],
                       capture_output=True, text=True, timeout=120, env=lib.quiet_env())
  assert bad.returncode == 2 and '--checkpoint: ' in bad.stderr


@pytest.mark.baseline
def test_magenta_generate_reads_exported_bundle(exported, shared_dir, tmp_path, python_exe):
  """The drop-in test: Magenta's melody_rnn_generate loads our bundle and writes melodies.

  With a near-zero temperature Magenta's sampling is its argmax, so its files must equal ours
  from --temperature=0 byte for byte (same primer, same MIDI conventions).
  """
  python = lib.baseline_python(shared_dir)
  out, written = exported
  primer = '[60, -2, 62, -2]'
  magenta_out = tmp_path / 'magenta'
  proc = subprocess.run(
      [python, str(shared_dir / 'baseline' / 'run_magenta.py'), 'melody_rnn_generate',
       '--bundle_file=%s' % written['bundle_file'], '--output_dir=%s' % magenta_out,
       '--num_outputs=2', '--num_steps=64', '--primer_melody=%s' % primer,
       '--temperature=0.00001'],
      capture_output=True, text=True, timeout=600, env=lib.quiet_env())
  assert proc.returncode == 0, proc.stderr[-3000:]
  magenta_files = sorted(magenta_out.glob('*.mid'))
  assert len(magenta_files) == 2
  ours_out = tmp_path / 'ours'
  proc = subprocess.run(
      [python_exe, str(lib.REPO_ROOT / 'bin' / 'generate_melodies'),
       '--bundle_file=%s' % written['bundle_file'], '--output_dir=%s' % ours_out,
       '--num_outputs=1', '--num_steps=64', '--primer_melody=%s' % primer, '--temperature=0'],
      capture_output=True, text=True, timeout=300, env=lib.quiet_env())
  assert proc.returncode == 0, proc.stderr[-3000:]
  (ours,) = sorted(ours_out.glob('*.mid'))
  seq = note_seq.midi_file_to_note_sequence(str(magenta_files[0]))
  assert len(seq.notes) > 2, 'greedy output should contain generated notes'
  for f in magenta_files:
    assert f.read_bytes() == ours.read_bytes()
