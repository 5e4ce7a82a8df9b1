"""NoteRnn: step-wise == whole-sequence, state structure, weights, run dir round trip."""

import json
import os

import numpy as np
import pytest
import tensorflow as tf

import note_rnn
from note_rnn import loading
from note_rnn import model as model_lib
from pipelines import encoding


def _random_inputs(batch, steps, seed=0):
  rng = np.random.RandomState(seed)
  return encoding.one_hot(rng.randint(0, encoding.NUM_CLASSES, size=(batch, steps)))


@pytest.mark.parametrize('layer_sizes', [(100,), (32, 24)])
def test_step_matches_sequence(layer_sizes):
  model = note_rnn.build(layer_sizes, seed=3)
  x = _random_inputs(4, 25)
  full, final = model.logits_and_state(x)
  state = model.initial_state(4)
  outs = []
  for t in range(x.shape[1]):
    logits, state = model.step(x[:, t], state)
    outs.append(logits.numpy())
  np.testing.assert_allclose(np.stack(outs, axis=1), full.numpy(), atol=1e-5)
  for (h1, c1), (h2, c2) in zip(state, final):
    np.testing.assert_allclose(h1.numpy(), h2.numpy(), atol=1e-5)
    np.testing.assert_allclose(c1.numpy(), c2.numpy(), atol=1e-5)


def test_step_matches_keras_cell_call():
  model = note_rnn.build((16,), seed=1)
  x = _random_inputs(3, 1)[:, 0]
  state = model.initial_state(3)
  (h0, c0), = state
  rng = np.random.RandomState(1)
  h0 = tf.constant(rng.randn(3, 16).astype(np.float32))
  c0 = tf.constant(rng.randn(3, 16).astype(np.float32))
  logits, ((h, c),) = model.step(x, ((h0, c0),))
  out, (kh, kc) = model.lstm_cells[0](tf.constant(x), [h0, c0])
  np.testing.assert_allclose(h.numpy(), kh.numpy(), atol=1e-6)
  np.testing.assert_allclose(c.numpy(), kc.numpy(), atol=1e-6)
  np.testing.assert_allclose(logits.numpy(), model.dense(out).numpy(), atol=1e-6)


def test_state_structure_and_layers():
  model = note_rnn.build((8, 6))
  state = model.initial_state(5)
  assert len(state) == 2
  assert [tuple(t.shape) for pair in state for t in pair] == [(5, 8), (5, 8), (5, 6), (5, 6)]
  assert all(t.dtype == tf.float32 for pair in state for t in pair)
  assert model.layer_sizes == (8, 6)
  assert all(isinstance(c, tf.keras.layers.LSTMCell) for c in model.lstm_cells)
  assert isinstance(model.dense, tf.keras.layers.Dense)
  assert tuple(model.dense.kernel.shape) == (6, encoding.NUM_CLASSES)


def test_step_in_tf_function_does_not_retrace():
  model = note_rnn.build((12,), seed=0)

  @tf.function
  def rollout(x, n):
    state = model.initial_state(tf.shape(x)[0])
    for _ in tf.range(n):
      logits, state = model.step(x, state)
      x = tf.one_hot(tf.argmax(logits, axis=-1), encoding.NUM_CLASSES)
    return x

  x = tf.constant(_random_inputs(7, 1)[:, 0])
  a = rollout(x, tf.constant(3))
  b = rollout(x, tf.constant(5))
  assert a.shape == b.shape == (7, encoding.NUM_CLASSES)
  assert rollout.experimental_get_tracing_count() == 1


def test_seed_is_reproducible_and_weights_round_trip():
  a = note_rnn.build((10,), seed=7)
  b = note_rnn.build((10,), seed=7)
  c = note_rnn.build((10,), seed=8)
  for wa, wb in zip(a.get_weights(), b.get_weights()):
    np.testing.assert_array_equal(wa, wb)
  assert not np.array_equal(a.get_weights()[0], c.get_weights()[0])
  c.set_weights(a.get_weights())
  for wa, wc in zip(a.get_weights(), c.get_weights()):
    np.testing.assert_array_equal(wa, wc)
  with pytest.raises(ValueError, match='shape mismatch'):
    c.set_weights([w.T for w in a.get_weights()])
  with pytest.raises(ValueError, match='expected 5 arrays'):
    c.set_weights(a.get_weights()[:2])


def test_save_and_load_run_dir(tmp_path):
  model = note_rnn.build((20, 10), seed=2)
  run_dir = str(tmp_path / 'run')
  model.save(run_dir, source='unit test')
  with open(os.path.join(run_dir, 'config.json')) as f:
    cfg = json.load(f)
  assert cfg['layer_sizes'] == [20, 10] and cfg['source'] == 'unit test'
  assert cfg['encoding']['num_classes'] == encoding.NUM_CLASSES
  loaded = note_rnn.load(run_dir)
  assert loaded.layer_sizes == (20, 10)
  for wa, wb in zip(model.get_weights(), loaded.get_weights()):
    np.testing.assert_array_equal(wa, wb)
  # The checkpoint prefix alone is enough: layer sizes come from the variable shapes.
  again = note_rnn.load(os.path.join(run_dir, 'best', 'model'))
  assert again.layer_sizes == (20, 10)
  # Saving twice replaces best/ atomically and leaves no temporary directories.
  model.save(run_dir)
  assert sorted(os.listdir(run_dir)) == ['best', 'config.json']


def test_load_none_without_shipped_model_is_clear(monkeypatch, tmp_path):
  monkeypatch.setattr(loading, 'PRETRAINED_DIR', str(tmp_path))
  with pytest.raises(FileNotFoundError, match='shipped Note RNN is not built yet'):
    note_rnn.load()


def test_load_missing_path_names_it(tmp_path):
  with pytest.raises(FileNotFoundError, match='nope'):
    note_rnn.load(str(tmp_path / 'nope'))
  empty = tmp_path / 'empty'
  empty.mkdir()
  with pytest.raises(FileNotFoundError, match='no Note RNN checkpoint here'):
    note_rnn.load(str(empty))
  assert model_lib.best_weights_prefix(str(empty)) is None


def test_shipped_model_loads_and_is_documented():
  run_dir = loading.default_model_dir()
  model = note_rnn.load()
  assert model.layer_sizes == (100,)
  info = model_lib.read_best_info(run_dir)
  assert info['selected_by'] == 'eval loss' and info['eval_loss'] < 1.0
  with open(os.path.join(run_dir, 'config.json')) as f:
    cfg = json.load(f)
  assert cfg['layer_sizes'] == [100] and cfg['encoding']['num_classes'] == encoding.NUM_CLASSES
  card = open(os.path.join(run_dir, 'model_card.md')).read()
  assert '%.3f' % info['eval_loss'] in card
  size = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(run_dir) for f in fs)
  assert size < 5 * 2**20
  # Trained, not random: it prefers holding a note to anything else after a note onset.
  logits = model.logits(encoding.one_hot([[encoding.C_MAJOR_TONIC_INDEX]])).numpy()[0, -1]
  assert int(np.argmax(logits)) == encoding.NO_EVENT_INDEX
