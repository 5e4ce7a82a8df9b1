"""magenta.js MusicRNN export: files, weights layout, the cell magenta.js runs, refusals, CLI."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

import note_rnn
from note_rnn import magenta_js
from note_rnn import model as model_lib
from pipelines import encoding

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _sigmoid(x):
  return 1.0 / (1.0 + np.exp(-x))


def music_rnn_logits(arrays: dict, inputs: np.ndarray) -> np.ndarray:
  """What magenta.js's MusicRNN computes (tfjs basicLSTMCell, forget bias 1.0), in numpy.

  [B, T, 38] one-hot -> [B, T, 38] logits from the zero state: per layer
  ``[x; h] @ kernel + bias`` split into (i, j, f, o), c = c * sigmoid(f + 1) +
  sigmoid(i) * tanh(j), h = tanh(c) * sigmoid(o); then h @ weights + biases.
  """
  layers = []
  while 'rnn/multi_rnn_cell/cell_%d/basic_lstm_cell/kernel' % len(layers) in arrays:
    k = len(layers)
    layers.append((arrays['rnn/multi_rnn_cell/cell_%d/basic_lstm_cell/kernel' % k],
                   arrays['rnn/multi_rnn_cell/cell_%d/basic_lstm_cell/bias' % k]))
  batch, steps, _ = inputs.shape
  state = [(np.zeros((batch, b.shape[0] // 4)), np.zeros((batch, b.shape[0] // 4)))
           for _, b in layers]
  out = []
  for t in range(steps):
    x = inputs[:, t].astype(np.float64)
    for k, (kernel, bias) in enumerate(layers):
      c, h = state[k]
      i, j, f, o = np.split(np.concatenate([x, h], axis=1) @ kernel + bias, 4, axis=1)
      c = c * _sigmoid(f + 1.0) + _sigmoid(i) * np.tanh(j)
      h = np.tanh(c) * _sigmoid(o)
      state[k] = (c, h)
      x = h
    out.append(x @ arrays['fully_connected/weights'] + arrays['fully_connected/biases'])
  return np.stack(out, axis=1)


def _assert_same_weights(a, b):
  """Equal, except the forget-gate bias, which loses what float32 cannot hold of x - 1 + 1."""
  for k, (x, y) in enumerate(zip(a.get_weights(), b.get_weights())):
    if k < 3 * len(a.layer_sizes) and k % 3 == 2:
      np.testing.assert_allclose(x, y, rtol=0, atol=1.2e-7)
    else:
      np.testing.assert_array_equal(x, y)


@pytest.fixture(scope='module')
def two_layer():
  model = note_rnn.build((24, 16), seed=3)
  weights = model.get_weights()
  rng = np.random.default_rng(0)
  for k in (2, 5):  # non-zero biases, so the forget-bias handling is visible
    weights[k] = rng.normal(0, 0.5, weights[k].shape).astype(np.float32)
  weights[-1] = rng.normal(0, 0.5, weights[-1].shape).astype(np.float32)
  model.set_weights(weights)
  return model


def test_files_manifest_and_round_trip(two_layer, tmp_path):
  out = magenta_js.write_checkpoint(two_layer, str(tmp_path / 'js'), {'name': 'two'})
  spec = json.loads((tmp_path / 'js' / 'config.json').read_text())
  assert spec['type'] == 'MusicRNN'
  assert spec['dataConverter'] == {'type': 'MelodyConverter',
                                   'args': {'minPitch': 48, 'maxPitch': 83}}
  assert spec['rlTuner'] == {'name': 'two', 'layer_sizes': [24, 16]}
  (group,) = json.loads((tmp_path / 'js' / 'weights_manifest.json').read_text())
  assert group['paths'] == ['group1-shard1of1.bin']
  assert [(w['name'], w['shape'], w['dtype']) for w in group['weights']] == [
      ('rnn/multi_rnn_cell/cell_0/basic_lstm_cell/kernel', [38 + 24, 96], 'float32'),
      ('rnn/multi_rnn_cell/cell_0/basic_lstm_cell/bias', [96], 'float32'),
      ('rnn/multi_rnn_cell/cell_1/basic_lstm_cell/kernel', [24 + 16, 64], 'float32'),
      ('rnn/multi_rnn_cell/cell_1/basic_lstm_cell/bias', [64], 'float32'),
      ('fully_connected/weights', [16, 38], 'float32'),
      ('fully_connected/biases', [38], 'float32')]
  floats = sum(int(np.prod(w['shape'])) for w in group['weights'])
  assert os.path.getsize(os.path.join(out, 'group1-shard1of1.bin')) == 4 * floats
  _assert_same_weights(magenta_js.load(out), two_layer)


def test_magenta_js_cell_gives_our_logits(two_layer, tmp_path):
  out = magenta_js.write_checkpoint(two_layer, str(tmp_path / 'js'))
  arrays = magenta_js.read_weights(out)
  rng = np.random.default_rng(1)
  inputs = encoding.one_hot(rng.integers(0, 38, size=(3, 12)))
  ours = two_layer.logits(tf.constant(inputs)).numpy()
  np.testing.assert_allclose(music_rnn_logits(arrays, inputs), ours, atol=1e-5)
  # The forget gate's 1.0 is taken out of the exported bias (magenta.js adds it back).
  keras_bias = two_layer.get_weights()[2]
  np.testing.assert_allclose(
      arrays['rnn/multi_rnn_cell/cell_0/basic_lstm_cell/bias'][48:72], keras_bias[24:48] - 1.0)


def test_shards_are_cut_at_the_size_and_read_back(tmp_path):
  arrays = {'a': np.arange(300, dtype=np.float32).reshape(30, 10),
            'b': -np.arange(7, dtype=np.float32)}
  (group,) = magenta_js.write_weights(arrays, str(tmp_path), shard_bytes=400)
  assert group['paths'] == ['group1-shard%dof4.bin' % i for i in (1, 2, 3, 4)]
  sizes = [os.path.getsize(tmp_path / p) for p in group['paths']]
  assert sizes == [400, 400, 400, 28]
  assert (tmp_path / 'group1-shard1of4.bin').read_bytes()[:8] == np.array(
      [0, 1], '<f4').tobytes()
  back = magenta_js.read_weights(str(tmp_path))
  np.testing.assert_array_equal(back['a'], arrays['a'])
  np.testing.assert_array_equal(back['b'], arrays['b'])
  (tmp_path / 'group1-shard4of4.bin').write_bytes(b'\0' * 8)
  with pytest.raises(ValueError, match='the shards end inside b'):
    magenta_js.read_weights(str(tmp_path))


def _tuned_run(root, algorithm, model=None):
  run = root / ('run_' + algorithm)
  run.mkdir()
  (run / 'config.json').write_text(json.dumps({'algorithm': algorithm,
                                               'format': 'rl_tuner.run_dir/1'}))
  if model is not None:
    model.save(str(run / 'note_rnn_export'), source='rl_tuner', algorithm=algorithm)
  return run


def test_tuned_run_exports_its_note_rnn_export(two_layer, tmp_path):
  run = _tuned_run(tmp_path, 'psi', two_layer)
  out = magenta_js.export_magenta_js(str(run))
  assert out == str(run / 'magenta_js')
  spec = json.loads((run / 'magenta_js' / 'config.json').read_text())
  assert spec['rlTuner']['algorithm'] == 'psi' and spec['rlTuner']['name'] == 'run_psi'
  _assert_same_weights(magenta_js.load(out), two_layer)
  # The note_rnn_export/ itself exports too, as the tuned model it is.
  direct = magenta_js.export_magenta_js(str(run / 'note_rnn_export'), str(tmp_path / 'direct'))
  assert json.loads(open(os.path.join(direct, 'config.json')).read())['rlTuner']['algorithm'] == (
      'psi')
  # A second export replaces the first; a directory holding other files is never replaced.
  assert magenta_js.export_magenta_js(str(run)) == out
  (tmp_path / 'other').mkdir()
  (tmp_path / 'other' / 'notes.txt').write_text('mine')
  with pytest.raises(ValueError, match='holds other files'):
    magenta_js.export_magenta_js(str(run), str(tmp_path / 'other'))
  assert (tmp_path / 'other' / 'notes.txt').read_text() == 'mine'


def test_refusals_are_one_line(two_layer, tmp_path):
  cases = []
  with pytest.raises(magenta_js.ExportRefused) as e:
    magenta_js.export_magenta_js(str(_tuned_run(tmp_path, 'g', two_layer)))
  cases.append((e.value, 'needs its prior'))
  with pytest.raises(magenta_js.ExportRefused) as e:
    magenta_js.export_magenta_js(str(_tuned_run(tmp_path, 'q')))
  cases.append((e.value, 'no note_rnn_export/'))
  for name, reason in (('lookback_rnn', 'no lookback encoder'),
                       ('attention_rnn', 'its attention wrapper alone would be expressible'),
                       ('mono_rnn', '130-class')):
    run = tmp_path / name
    model_lib.build((8, 6), seed=1, config=name).save(str(run), config=name)
    with pytest.raises(magenta_js.ExportRefused) as e:
      magenta_js.export_magenta_js(str(run))
    cases.append((e.value, reason))
    with pytest.raises(magenta_js.ExportRefused) as e:
      magenta_js.check_exportable(note_rnn.load(str(run)))
    cases.append((e.value, reason))

  class Wrapped(model_lib.NoteRnn):
    pass

  with pytest.raises(magenta_js.ExportRefused) as e:
    magenta_js.check_exportable(Wrapped((8,)))
  cases.append((e.value, 'not a plain stacked-LSTM'))
  for error, reason in cases:
    assert reason in str(error) and '\n' not in str(error), str(error)
  with pytest.raises(magenta_js.OutputDirError, match='is needed when --checkpoint'):
    magenta_js.export_magenta_js(None)


def test_cli_refuses_g_in_one_line(two_layer, tmp_path):
  g_run = _tuned_run(tmp_path, 'g', two_layer)
  done = subprocess.run(
      [sys.executable, os.path.join(REPO, 'bin', 'export_magenta_js'), '--checkpoint=%s' % g_run],
      env=dict(os.environ, PYTHONPATH=REPO, TF_CPP_MIN_LOG_LEVEL='3'), capture_output=True,
      text=True, timeout=120)
  assert done.returncode == 2
  lines = [l for l in done.stderr.splitlines() if l.startswith('export_magenta_js:')]
  assert len(lines) == 1 and lines[0].startswith('export_magenta_js: --checkpoint: refused: ')
  assert 'prior' in lines[0], done.stderr
  assert 'Traceback' not in done.stderr and not (g_run / 'magenta_js').exists()
