"""rl_tuner.music.goal: the "stay music" goal on hand-made metric dicts."""

import math

import pytest

from rl_tuner.music import goal

NOTE_RNN_LOG_P = -1.0

# Every figure inside its bound, with some margin.
GOOD = dict(notes_excessively_repeated=0.0, notes_in_motif=0.75, starts_with_tonic=0.30,
            notes_not_in_key=0.005, notes_in_repeated_motif=0.001,
            top_composition_share=0.0005, distinct_8grams_ratio=0.9, js_note_lengths=0.3,
            js_intervals=0.2, mean_log_p=-1.8, kl_to_note_rnn_per_note=0.3)

# One value per criterion that misses it (just beyond its bound).
MISSES = dict(notes_excessively_repeated=0.0101, notes_in_motif=0.699,
              starts_with_tonic=0.199, notes_not_in_key=0.0201,
              notes_in_repeated_motif=0.0201, top_composition_share=0.0025,
              distinct_8grams_ratio=0.49, js_note_lengths=0.471, js_intervals=0.251,
              mean_log_p=-2.51)


def failed(entry, target=None):
  return goal.failed_criteria(entry, note_rnn_mean_log_p=NOTE_RNN_LOG_P,
                              target_kl_per_note=target)


def test_good_figures_pass():
  assert failed(GOOD) == []
  assert failed(GOOD, target=0.3) == []


@pytest.mark.parametrize('key', sorted(MISSES))
def test_each_criterion_fails_alone(key):
  assert failed(dict(GOOD, **{key: MISSES[key]})) == [key]


@pytest.mark.parametrize('key', goal.criteria(0.3))
@pytest.mark.parametrize('value', [None, float('nan')])
def test_a_missing_or_undefined_figure_fails(key, value):
  assert failed(dict(GOOD, **{key: value}), target=0.3) == [key]
  without = {k: v for k, v in GOOD.items() if k != key}
  assert failed(without, target=0.3) == [key]


def test_bounds_themselves_pass():
  edge = dict(notes_excessively_repeated=0.01, notes_in_motif=0.70, starts_with_tonic=0.20,
              notes_not_in_key=0.02, notes_in_repeated_motif=0.02,
              top_composition_share=0.002, distinct_8grams_ratio=0.5,
              js_note_lengths=0.47, js_intervals=0.25, mean_log_p=-2.5)
  assert failed(edge) == []
  # With 2,000 compositions, 4 identical ones are 0.2 %: still in; 5 are out.
  assert failed(dict(edge, top_composition_share=4 / 2000)) == []
  assert failed(dict(edge, top_composition_share=5 / 2000)) == ['top_composition_share']


def test_kl_within_twenty_percent_of_the_target():
  assert goal.kl_target_range(0.3) == pytest.approx((0.24, 0.36))
  for kl in (0.241, 0.3, 0.359):
    assert failed(dict(GOOD, kl_to_note_rnn_per_note=kl), target=0.3) == []
  for kl in (0.239, 0.361, 0.0):
    assert failed(dict(GOOD, kl_to_note_rnn_per_note=kl), target=0.3) == [
        'kl_to_note_rnn_per_note']
  # Without a target the KL is not judged, whatever it is.
  assert failed(dict(GOOD, kl_to_note_rnn_per_note=5.0)) == []


def test_failures_are_listed_in_criteria_order():
  entry = dict(GOOD, mean_log_p=-3.0, notes_in_motif=0.1, js_intervals=0.9,
               kl_to_note_rnn_per_note=1.0)
  assert failed(entry, target=0.3) == ['notes_in_motif', 'js_intervals', 'mean_log_p',
                                       'kl_to_note_rnn_per_note']
  assert goal.criteria()[-1] == 'mean_log_p'
  assert len(goal.criteria(0.3)) == len(MISSES) + 1


def test_collapse_warnings():
  good = dict(top_composition_share=0.001, distinct_8grams_ratio=0.9, js_note_lengths=0.3,
              js_intervals=0.2, notes_in_repeated_motif=0.001)
  assert goal.collapse_warnings(good, is_note_rnn=False) == []
  bad = dict(good, top_composition_share=0.017, distinct_8grams_ratio=0.22,
             js_intervals=None)
  assert goal.collapse_warnings(bad, is_note_rnn=False) == [
      'top_composition_share 1.7 % > 0.2 %', 'distinct_8grams_ratio 0.22 < 0.5',
      'js_intervals undefined']
  assert goal.collapse_warnings(bad, is_note_rnn=True) == []
  # A figure at its bound passes; a missing one is not judged; rule figures are not warned.
  edge = dict(js_note_lengths=0.47, notes_in_repeated_motif=0.021, notes_in_motif=0.1)
  assert goal.collapse_warnings(edge, is_note_rnn=False) == [
      'notes_in_repeated_motif 2.1 % > 2 %']
  assert goal.collapse_warnings(dict(good, js_note_lengths=math.nan),
                                is_note_rnn=False) == ['js_note_lengths undefined']
