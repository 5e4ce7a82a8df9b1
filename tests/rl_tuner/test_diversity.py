"""rl_tuner.music.diversity on small hand-worked arrays."""

import math

import numpy as np
import pytest

from pipelines import encoding
from rl_tuner.music import diversity as dv

C4, D4, E4, G4 = 14, 16, 18, 21  # class indices (MIDI 60, 62, 64, 67)
H, OFF = 0, 1


def log(probabilities):
  with np.errstate(divide='ignore'):
    return np.log(np.array(probabilities))


def events(rows):
  return encoding.index_to_event(np.array(rows))


def test_distinct_and_top_share():
  rows = [[C4, D4], [C4, D4], [C4, D4], [E4, H], [G4, OFF]]
  # Three distinct rows of five; the most common occurs 3 times.
  assert dv.distinct_compositions(rows) == 3 / 5
  assert dv.top_composition_share(rows) == 3 / 5
  assert dv.distinct_compositions([[C4], [D4]]) == 1.0
  assert dv.top_composition_share([[C4], [D4]]) == 0.5


def test_distinct_ngrams_counts_windows_within_rows():
  # Row 0 windows of 2: (C4 D4) (D4 C4) (C4 D4) -> 2 distinct;
  # row 1: (D4 C4) (C4 H) -> one new.  A window across rows (D4 | D4) never counts.
  rows = [[C4, D4, C4, D4], [D4, C4, H, H]]
  assert dv.distinct_ngrams(rows, 2) == 4  # (C4 D4) (D4 C4) (C4 H) (H H)
  assert dv.distinct_ngrams(rows, 4) == 2
  assert dv.distinct_ngrams(rows, 5) == 0
  # Only the first max_compositions rows count.
  assert dv.distinct_ngrams(rows, 2, max_compositions=1) == 2


def test_distinct_4_and_8grams_and_ratio():
  loop = [C4, D4, E4, G4] * 4  # 16 events, period 4: 4 distinct windows of 4 and of 8
  assert dv.distinct_4grams([loop, loop]) == 4
  assert dv.distinct_8grams([loop]) == 4
  varied = list(range(2, 18))  # 16 different pitches: 9 windows of 8, all distinct
  assert dv.distinct_8grams([varied]) == 9
  assert dv.distinct_8grams_ratio(4, 9) == 4 / 9
  assert math.isnan(dv.distinct_8grams_ratio(4, 0))


def test_ngram_hash_is_exact_for_extreme_indices():
  # 37 and 0 at every position: base-38 codes of distinct windows never collide.
  rows = [[37] * 8, [37] * 7 + [36], [0] + [37] * 7]
  assert dv.distinct_8grams(rows) == 3


def test_note_lengths():
  # C4 held 3 steps (C4 H H), D4 ended by a note-off after 2 (D4 H OFF),
  # E4 struck on the last step of the row and ended by the row: 1.
  row = [C4, H, H, D4, H, OFF, H, E4]
  assert dv.note_lengths(events([row])).tolist() == [3, 2, 1]
  # A row of one note held to the end: length = row length; a leading rest is no note.
  assert dv.note_lengths(events([[H, C4, H, H]])).tolist() == [3]


def test_note_length_histogram_clips_at_16():
  row = [C4] + [H] * 19 + [D4, H]  # 20 steps (-> bin 16) and 2 steps
  hist = dv.note_length_histogram(events([row]))
  assert hist.shape == (16,)
  assert hist[15] == 1 and hist[1] == 1 and hist.sum() == 2


def test_intervals_skip_specials_and_rows():
  # Row 0: C4 (hold) E4 (off) D4 -> +4, -2; row 1: G4 C4 -> -7; no interval across rows.
  rows = [[C4, H, E4, OFF, D4], [G4, H, C4, H, H]]
  assert dv.intervals(events(rows)).tolist() == [4, -2, -7]
  hist = dv.interval_histogram(events(rows))
  assert hist.shape == (25,)
  assert hist[12 + 4] == 1 and hist[12 - 2] == 1 and hist[12 - 7] == 1


def test_interval_histogram_clips_at_an_octave():
  # 48 -> 83 is +35 semitones: the +12 bin.
  hist = dv.interval_histogram(np.array([[48, 83, 48]]))
  assert hist[24] == 1 and hist[0] == 1


def test_pitch_class_histogram_takes_melody_events():
  # Magenta events: -2 no event, -1 note-off, pitches 60 (C), 64 (E), 72 (C).
  hist = dv.pitch_class_histogram(np.array([[60, -2, 64, -1, 72]]))
  assert hist.tolist() == [2, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]


def test_js_distance_hand_worked():
  # p = (1, 0), q = (0, 1): disjoint, JSD = 1 bit, distance 1.
  assert dv.js_distance([3, 0], [0, 5]) == pytest.approx(1.0)
  assert dv.js_distance([2, 2], [1, 1]) == 0.0
  # p = (1, 0), q = (1/2, 1/2): m = (3/4, 1/4);
  # KL(p‖m) = log2(4/3), KL(q‖m) = ½ log2(2/3) + ½ log2(2) = 1 - ½ log2 3;
  # JSD = ½ (2 - log2 3) + ½ (1 - ½ log2 3) = 1.5 - ¾ log2 3.
  expected = math.sqrt(1.5 - 0.75 * math.log2(3))
  assert dv.js_distance([1, 0], [1, 1]) == pytest.approx(expected, abs=1e-12)
  assert math.isnan(dv.js_distance([0, 0], [1, 1]))
  with pytest.raises(ValueError):
    dv.js_distance([1, 2], [1, 2, 3])


def test_js_figures_between_two_sets():
  steady = [[C4, H, D4, H, E4, H, D4, H]]  # eighth notes
  fast = [[C4, D4, E4, D4, C4, D4, E4, D4]]  # sixteenths
  # Lengths: all 2 vs all 1 -> disjoint -> 1.  Intervals: +2, +2, -2 vs
  # +2, +2, -2, -2, +2, +2, -2 (4 up, 3 down).
  assert dv.js_note_lengths(events(steady), events(fast)) == pytest.approx(1.0)
  p, q = np.array([1, 2]) / 3, np.array([3, 4]) / 7
  m = (p + q) / 2
  jsd = 0.5 * np.sum(p * np.log2(p / m)) + 0.5 * np.sum(q * np.log2(q / m))
  assert dv.js_intervals(events(steady), events(fast)) == pytest.approx(math.sqrt(jsd))
  # Pitch classes: C, D, E, D vs C, D, E, D twice: the same distribution.
  assert dv.js_pitch_classes(events(steady), events(fast)) == 0.0


def test_entropy_per_note():
  # Step 1 uniform over 4 classes: ln 4; step 2 certain (others underflow to -inf): 0.
  lp = log([[[0.25, 0.25, 0.25, 0.25], [1.0, 0.0, 0.0, 0.0]]])
  assert dv.entropy_per_note(lp) == pytest.approx(math.log(4) / 2)
  np.testing.assert_allclose(dv.entropy_per_step(lp), [[math.log(4), 0.0]])


def test_kl_to_note_rnn_per_note():
  pi = log([[0.5, 0.5, 0.0], [1.0, 0.0, 0.0]])
  prior = log([[0.25, 0.25, 0.5], [0.5, 0.25, 0.25]])
  # Step 1: ½ ln(0.5/0.25) · 2 = ln 2 (the third class adds 0); step 2: ln(1/0.5). Mean ln 2.
  assert dv.kl_to_note_rnn_per_note(pi, prior) == pytest.approx(math.log(2))
  np.testing.assert_allclose(dv.kl_per_step(pi, prior), [math.log(2), math.log(2)])
  assert dv.kl_to_note_rnn_per_note(prior, prior) == 0.0
  with pytest.raises(ValueError):
    dv.kl_to_note_rnn_per_note(prior, prior[:1])


def test_diversity_figures_of_the_note_rnn_against_itself():
  rows = np.array([[C4, H, D4, E4], [C4, H, D4, E4], [G4, OFF, H, C4]])
  lp = np.log(np.full((3, 4, 38), 1 / 38))
  out = dv.diversity_figures(rows, rows, log_probs=lp, note_rnn_log_probs=lp)
  assert out['distinct_compositions'] == 2 / 3
  assert out['top_composition_share'] == 2 / 3
  assert out['distinct_4grams'] == 2 and out['distinct_8grams'] == 0
  assert math.isnan(out['distinct_8grams_ratio'])  # no 8-event window in 4 steps
  assert out['js_note_lengths'] == out['js_intervals'] == out['js_pitch_classes'] == 0.0
  assert out['entropy_per_note'] == pytest.approx(math.log(38))
  assert out['kl_to_note_rnn_per_note'] == 0.0


def test_bad_input():
  with pytest.raises(ValueError, match='shape'):
    dv.distinct_compositions(np.zeros((0, 4), int))
  with pytest.raises(ValueError, match='integers'):
    dv.top_composition_share(np.zeros((2, 4)))
  with pytest.raises(ValueError, match='outside'):
    dv.distinct_4grams([[0, 1, 2, 38]])
