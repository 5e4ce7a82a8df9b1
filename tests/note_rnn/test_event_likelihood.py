"""Log-likelihood per decoded melody event, worked by hand on tiny distributions."""

import numpy as np

from note_rnn import event_likelihood
from note_rnn import melody_configs as mc


def _log(p):
  return np.log(np.asarray(p, np.float64))


def test_basic_rnn_is_the_label_probability():
  config = mc.get('basic_rnn')
  probs = np.full((1, 2, 38), 0.5 / 37)
  probs[0, 0, 14], probs[0, 1, 0] = 0.5, 0.5  # C4, then a hold
  got = event_likelihood.event_log_probs(config, _log(probs), np.array([[14, 0]]))
  np.testing.assert_allclose(got, _log([[0.5, 0.5]]))


def test_repeat_label_mass_joins_the_event_it_repeats():
  """attention_rnn at step 16: the true event C4 (60) equals the event 16 steps back.

  Class 12 is C4 itself (60 − 48), class 38 'the event 1 bar ago' also decodes to C4, class 39
  '2 bars ago' reaches before the start (a hold), so only 0.3 + 0.2 counts at step 16.
  """
  config = mc.get('attention_rnn')
  events = np.full((1, 17), mc.MELODY_NO_EVENT)
  events[0, 0] = events[0, 16] = 60
  labels = mc.classes_from_events(config, events)
  assert labels[0, 16] == 38  # Magenta labels the repeat
  probs = np.full((1, 17, 40), 0.0)
  probs[0, :, 36] = 1.0  # holds, except where set below
  probs[0, 0] = 0.0
  probs[0, 0, 12] = 1.0
  probs[0, 16] = 0.0
  probs[0, 16, 12], probs[0, 16, 38], probs[0, 16, 39], probs[0, 16, 0] = 0.3, 0.2, 0.1, 0.4
  with np.errstate(divide='ignore'):
    got = event_likelihood.event_log_probs(config, _log(probs), labels)
  np.testing.assert_allclose(got[0, 16], np.log(0.5))
  label_log_p = np.log(probs[0, 16, labels[0, 16]])
  assert got[0, 16] > label_log_p  # the label alone (0.2) undercounts the event


def test_early_hold_counts_both_repeat_labels():
  """A hold at step 3: both repeat labels reach before the start and decode to a hold."""
  config = mc.get('lookback_rnn')
  labels = mc.classes_from_events(config, np.array([[62, -2, -2, -2]]))
  probs = np.full((1, 4, 40), 0.1 / 37)
  probs[0, 3, 0], probs[0, 3, 38], probs[0, 3, 39] = 0.2, 0.3, 0.4  # lookback's hold is 0
  probs[0, 3] /= probs[0, 3].sum()
  got = event_likelihood.event_log_probs(config, _log(probs), labels)
  want = probs[0, 3, [0, 38, 39]].sum()
  np.testing.assert_allclose(got[0, 3], np.log(want))
