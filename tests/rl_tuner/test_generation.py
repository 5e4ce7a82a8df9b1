"""Batched generation and scoring: shapes, determinism, policies, log p vs a hand loop."""

import numpy as np
import pytest
import tensorflow as tf

from pipelines import encoding
from rl_tuner.evaluate import sampling
from rl_tuner.policy import priming as priming_lib


class _TinyStepModel:
  """A two-layer LSTM step model with the NoteRnn interface (independent of note_rnn)."""

  def __init__(self, seed=0, sizes=(16, 12)):
    tf.keras.utils.set_random_seed(seed)
    self.layer_sizes = sizes
    self.lstm_cells = [tf.keras.layers.LSTMCell(u) for u in sizes]
    self.dense = tf.keras.layers.Dense(encoding.NUM_CLASSES)
    self._rnn = tf.keras.layers.RNN(tf.keras.layers.StackedRNNCells(self.lstm_cells),
                                    return_sequences=True)
    self.dense(self._rnn(tf.zeros([1, 1, encoding.NUM_CLASSES])))

  def initial_state(self, batch):
    return tuple((tf.zeros([batch, u]), tf.zeros([batch, u])) for u in self.layer_sizes)

  def step(self, inputs, state):
    x, new = inputs, []
    for cell, (h, c) in zip(self.lstm_cells, state):
      x, (h, c) = cell(x, [h, c])
      new.append((h, c))
    return self.dense(x) * 3.0, tuple(new)  # sharper than random init

  def logits(self, inputs):
    return self.dense(self._rnn(inputs)) * 3.0


@pytest.fixture(scope='module')
def model():
  return _TinyStepModel()


def _hand_log_p(model, prefix, notes):
  """log p(note_t | history) by stepping one composition at a time in Python."""
  out = np.zeros(notes.shape, np.float32)
  for n in range(notes.shape[0]):
    state = model.initial_state(1)
    history = list(prefix[n]) + list(notes[n])
    for i in range(len(history) - 1):
      logits, state = model.step(tf.one_hot([history[i]], encoding.NUM_CLASSES), state)
      t = i + 1 - len(prefix[n])
      if t >= 0:
        out[n, t] = tf.nn.log_softmax(logits)[0, history[i + 1]].numpy()
  return out


def test_shapes_and_ranges(model):
  priming, notes = sampling.generate_compositions(model, 37, num_notes=9, batch_size=16)
  assert priming.shape == (37,) and notes.shape == (37, 9)
  assert notes.dtype == np.int32
  assert notes.min() >= 0 and notes.max() < encoding.NUM_CLASSES
  assert priming.min() >= encoding.FIRST_PITCH_INDEX  # corrected: pitches only


def test_legacy_priming_draws_0_to_36():
  legacy = priming_lib.random_priming_notes(20000, semantics='legacy', seed=3)
  corrected = priming_lib.random_priming_notes(20000, semantics='corrected', seed=3)
  assert legacy.min() == 0 and legacy.max() == 36
  assert corrected.min() == 2 and corrected.max() == 37
  assert set(np.unique(corrected)) == set(range(2, 38))


def test_same_seed_same_notes_other_seed_differs(model):
  a = sampling.generate_compositions(model, 40, num_notes=8, seed=5, batch_size=16)
  b = sampling.generate_compositions(model, 40, num_notes=8, seed=5, batch_size=16)
  c = sampling.generate_compositions(model, 40, num_notes=8, seed=6, batch_size=16)
  np.testing.assert_array_equal(a[1], b[1])
  np.testing.assert_array_equal(a[0], b[0])
  assert (a[1] != c[1]).any()


def test_batches_differ_from_each_other(model):
  # Each batch gets its own noise: identical prefixes in two batches must not repeat.
  prefixes = np.full(64, 14, np.int32)
  notes = sampling.generate_from_prefixes(model, prefixes, num_notes=8, batch_size=32)
  assert (notes[:32] != notes[32:]).any()


def test_greedy_is_the_argmax_path(model):
  prefixes = np.array([14, 20, 2, 37], np.int32)
  notes = sampling.generate_from_prefixes(model, prefixes, num_notes=6, policy='greedy')
  again = sampling.generate_from_prefixes(model, prefixes, num_notes=6, policy='greedy',
                                            seed=99)
  np.testing.assert_array_equal(notes, again)  # the seed plays no part
  for n, first in enumerate(prefixes):
    state, obs = model.initial_state(1), first
    for t in range(6):
      logits, state = model.step(tf.one_hot([obs], encoding.NUM_CLASSES), state)
      obs = int(np.argmax(logits.numpy()[0]))
      assert notes[n, t] == obs


def test_sampling_follows_softmax(model):
  # First-note frequencies from one priming event match softmax(logits) of that event.
  n = 20000
  notes = sampling.generate_from_prefixes(model, np.full(n, 14, np.int32), num_notes=1,
                                            seed=1, batch_size=5000)
  logits, _ = model.step(tf.one_hot([14], encoding.NUM_CLASSES), model.initial_state(1))
  p = tf.nn.softmax(logits)[0].numpy()
  freq = np.bincount(notes[:, 0], minlength=encoding.NUM_CLASSES) / n
  assert np.abs(freq - p).max() < 4 * np.sqrt(p.max() / n) + 1e-3


def test_score_log_p_matches_hand_loop(model):
  priming, notes = sampling.generate_compositions(model, 5, num_notes=7, seed=2)
  scored = sampling.score_log_p(model, priming, notes, batch_size=3)
  np.testing.assert_allclose(scored, _hand_log_p(model, priming[:, None], notes),
                             atol=1e-5)


def test_primer_prefix_and_own_log_p(model):
  primer = np.array([[14, 0, 0, 16, 1, 18], [26, 0, 1, 21, 0, 19]], np.int32)
  priming, notes, own = sampling.generate_compositions(
      model, 6, num_notes=5, priming_mode='random_midi', primers=primer, seed=4,
      return_log_p=True)
  assert priming.shape == (6, 6)
  assert all(any((row == p).all() for p in primer) for row in priming)
  hand = _hand_log_p(model, priming, notes)
  np.testing.assert_allclose(own, hand, atol=1e-5)
  np.testing.assert_allclose(sampling.score_log_p(model, priming, notes), hand, atol=1e-5)


@pytest.mark.parametrize('kwargs, message', [
    (dict(policy='argmax'), 'policy'),
    (dict(priming_mode='nope'), 'priming_mode'),
    (dict(priming_mode='single_midi'), 'needs primers'),
    (dict(num_notes=0), 'num_notes'),
])
def test_bad_arguments(model, kwargs, message):
  with pytest.raises(ValueError, match=message):
    sampling.generate_compositions(model, 4, **kwargs)


def test_score_rejects_bad_indices(model):
  with pytest.raises(ValueError, match='notes'):
    sampling.score_log_p(model, np.array([14]), np.array([[40]]))


def test_score_log_p_equals_whole_sequence_logits(model):
  priming, notes = sampling.generate_compositions(model, 9, num_notes=6, seed=8)
  history = np.concatenate([priming[:, None], notes], axis=1)
  logits = model.logits(tf.one_hot(history[:, :-1], encoding.NUM_CLASSES))
  expected = np.take_along_axis(tf.nn.log_softmax(logits).numpy(), history[:, 1:, None], 2)
  np.testing.assert_allclose(sampling.score_log_p(model, priming, notes),
                             expected[..., 0], atol=1e-5)


def test_next_event_probabilities_rows_sum_to_one(model):
  notes = np.array([14, 0, 16, 1, 18], np.int32)
  probs = sampling.next_event_probabilities(model, [20], notes)
  assert probs.shape == (5, encoding.NUM_CLASSES)
  np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
  log_p = sampling.score_log_p(model, np.array([20]), notes[None])
  np.testing.assert_allclose(np.log(probs[np.arange(5), notes]), log_p[0], atol=1e-5)


def test_prior_scored_in_the_generation_loop_equals_score_log_p(model):
  prior = _TinyStepModel(seed=11, sizes=(10,))
  primer = np.array([[14, 0, 16], [20, 1, 21]], np.int32)
  for mode, primers in (('random_note', None), ('random_midi', primer)):
    priming, notes, log_p = sampling.generate_compositions(
        model, 12, num_notes=6, seed=3, priming_mode=mode, primers=primers,
        return_log_p=True, prior=prior, batch_size=5)
    np.testing.assert_allclose(log_p, sampling.score_log_p(prior, priming, notes),
                               atol=1e-5)
    # The notes are the step model's own: the prior does not change them.
    again = sampling.generate_compositions(model, 12, num_notes=6, seed=3,
                                             priming_mode=mode, primers=primers,
                                             batch_size=5)
    np.testing.assert_array_equal(notes, again[1])


def test_per_step_distributions_of_the_model_and_its_prior(model):
  prior = _TinyStepModel(seed=11, sizes=(10,))
  priming, notes, log_p, ours, theirs = sampling.generate_compositions(
      model, 7, num_notes=5, seed=4, return_log_p=True, prior=prior,
      return_distributions=True, batch_size=4)
  assert ours.shape == theirs.shape == (7, 5, encoding.NUM_CLASSES)
  # Row t of each is the distribution before note t: the hand loop's, per model.
  for b in range(7):
    np.testing.assert_allclose(
        np.exp(ours[b]), sampling.next_event_probabilities(model, [priming[b]], notes[b]),
        atol=1e-5)
    np.testing.assert_allclose(
        np.exp(theirs[b]), sampling.next_event_probabilities(prior, [priming[b]], notes[b]),
        atol=1e-5)
  # log_p is the prior's entry of the chosen note; the notes are those sampled without.
  np.testing.assert_allclose(np.take_along_axis(theirs, notes[..., None], 2)[..., 0], log_p,
                             atol=1e-6)
  np.testing.assert_array_equal(
      notes, sampling.generate_compositions(model, 7, num_notes=5, seed=4, batch_size=4)[1])
  # Without a prior both arrays are the model's own.
  _, _, _, own, same = sampling.generate_compositions(
      model, 3, num_notes=4, seed=1, return_log_p=True, return_distributions=True)
  np.testing.assert_array_equal(own, same)
  with pytest.raises(ValueError, match='return_log_p'):
    sampling.generate_compositions(model, 3, return_distributions=True)


def test_distributions_handed_over_batch_by_batch(model):
  prior = _TinyStepModel(seed=11, sizes=(10,))
  _, notes, _, ours, theirs = sampling.generate_compositions(
      model, 7, num_notes=5, seed=4, return_log_p=True, prior=prior,
      return_distributions=True, batch_size=4)
  seen = []

  def keep(start, stop, a, b):
    seen.append((start, stop))
    np.testing.assert_array_equal(a, ours[start:stop])
    np.testing.assert_array_equal(b, theirs[start:stop])

  out = sampling.generate_compositions(model, 7, num_notes=5, seed=4, return_log_p=True,
                                         prior=prior, on_distributions=keep, batch_size=4)
  assert len(out) == 3 and seen == [(0, 4), (4, 7)]
  np.testing.assert_array_equal(out[1], notes)
