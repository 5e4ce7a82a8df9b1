"""composition_stats on hand-made compositions with hand-computed values."""

import numpy as np
import pytest

from rl_tuner.music import features as mf
from rl_tuner.music import statistics
from rl_tuner.music import rules as mt

BOTH = ('corrected', 'legacy')
FULL = [14, 1, 16, 1, 18, 1, 21, 1, 19, 18, 16, 1, 14, 1, 0, 1,
        23, 21, 19, 1, 18, 16, 18, 1, 16, 1, 26, 1, 14, 1, 0, 0]
TABLE_KEYS = {'notes_excessively_repeated', 'notes_not_in_key', 'notes_in_motif',
              'notes_in_repeated_motif', 'starts_with_tonic', 'unique_max_note',
              'unique_min_note', 'leaps_resolved', 'autocorrelation_lag1',
              'autocorrelation_lag2', 'autocorrelation_lag3', 'num_compositions', 'intervals'}
LEGACY_COUNTERS = {'rest_intervals', 'special_rest_intervals', 'octave_jumps',
                   'in_key_preferred_intervals', 'fifths', 'thirds', 'sixths', 'seconds',
                   'fourths', 'sevenths'}


def stats(rows, semantics='corrected', key='C', **kwargs):
  return statistics.composition_stats(np.array(rows), key=key, semantics=semantics, **kwargs)


@pytest.mark.parametrize('semantics', BOTH)
def test_keys(semantics):
  out = stats([FULL], semantics)
  assert set(out) == TABLE_KEYS
  extra = {'hold_intervals', 'special_hold_intervals'} if semantics == 'corrected' else set()
  assert set(out['intervals']) == LEGACY_COUNTERS | extra


@pytest.mark.parametrize('semantics', BOTH)
def test_notes_not_in_key(semantics):
  # 15 (C#) and 20 (F#) are outside C major; specials are in key: 2 of 6.
  assert stats([[14, 15, 16, 20, 0, 1]], semantics)['notes_not_in_key'] == 2 / 6
  # In G major F# is in key and F (19) is not: 1 of 4.
  assert stats([[21, 20, 19, 9]], semantics, key='G')['notes_not_in_key'] == 1 / 4


@pytest.mark.parametrize('semantics', BOTH)
def test_repeated_pitches(semantics):
  # Strikes 6 and 7 of one pitch (beats 5, 6): 2 of 7 notes.
  assert stats([[14] * 7], semantics)['notes_excessively_repeated'] == 2 / 7


@pytest.mark.parametrize('semantics, expected', [
    # [14, 0, 0, 0, 1, 1, 1, 1]
    # corrected: holds never count; note-offs at beats 6 and 7 follow 2 and 3 others.
    ('corrected', 2 / 8),
    # legacy: the third index 0 (beat 3) counts; index 1 is allowed 6 times after a 0.
    ('legacy', 1 / 8),
])
def test_repeated_specials(semantics, expected):
  assert stats([[14, 0, 0, 0, 1, 1, 1, 1]], semantics)['notes_excessively_repeated'] == expected


@pytest.mark.parametrize('semantics', BOTH)
def test_motifs(semantics):
  # Windows ending at beats 7, 8, 9 hold 4, 4 and 3 distinct pitches: 3 of 10.
  out = stats([[14, 16, 18, 19, 1, 1, 1, 1, 14, 14]], semantics)
  assert out['notes_in_motif'] == 3 / 10
  assert out['notes_in_repeated_motif'] == 0
  # Two copies of a motif: beats 7-15 are in a motif (9 of 16), beat 15 repeats one.
  motif = [14, 16, 18, 19, 1, 1, 1, 1]
  out = stats([motif + motif], semantics)
  assert out['notes_in_motif'] == 9 / 16
  assert out['notes_in_repeated_motif'] == 1 / 16


@pytest.mark.parametrize('semantics', BOTH)
def test_per_composition_fractions(semantics):
  rows = [[14, 16, 18, 16],   # tonic start; max 18 once; lowest pitch 14 once
          [16, 14, 16, 14],   # max and lowest twice
          [0, 1, 0, 0]]       # no pitch: index 1 is the unique max; no lowest pitch
  out = stats(rows, semantics)
  assert out['starts_with_tonic'] == 1 / 3
  assert out['unique_max_note'] == 2 / 3
  assert out['unique_min_note'] == 1 / 3
  assert out['num_compositions'] == 3


@pytest.mark.parametrize('semantics', BOTH)
def test_leaps(semantics):
  rows = [[14, 21, 19, 18, 16, 14, 16],   # one leap, resolved at beat 5
          [14, 21, 28, 28, 28, 27, 26]]   # doubled at beat 2, never resolved
  assert stats(rows, semantics)['leaps_resolved'] == 1 / 2
  assert stats([[14, 16, 18, 16]], semantics)['leaps_resolved'] is None


@pytest.mark.parametrize('semantics', BOTH)
def test_autocorrelation_nanmean(semantics):
  # [14, 0, 0, 0]: m 3.5, Var 36.75, ρ = -12.25, -24.5, -36.75 over 4·36.75 = 147:
  #   -1/12, -1/6, -1/4.
  # [2, 4, 2, 4]: m 3, deviations ∓1, Var 1: ρ = -3/4, 2/4, -1/4.
  # [5, 5, 5, 5]: Var 0, NaN, left out of the mean.
  out = stats([[14, 0, 0, 0], [2, 4, 2, 4], [5, 5, 5, 5]], semantics)
  assert out['autocorrelation_lag1'] == pytest.approx((-1 / 12 - 3 / 4) / 2)
  assert out['autocorrelation_lag2'] == pytest.approx((-1 / 6 + 1 / 2) / 2)
  assert out['autocorrelation_lag3'] == pytest.approx((-1 / 4 - 1 / 4) / 2)
  constant = stats([[5, 5, 5, 5]], semantics)
  assert constant['autocorrelation_lag1'] is None


def _nonzero(counters):
  return {name: count for name, count in counters.items() if count}


@pytest.mark.parametrize('rows, corrected, legacy', [
    # C -> E (third), E -> C (third, E is the third degree), C -> G (fifth).
    # Legacy classifies the thirds as -3 but its counter tests only -5 (bug 4).
    ([[14, 18, 14, 21]], {'in_key_preferred_intervals': 3},
     {'in_key_preferred_intervals': 1}),
    # Beat 1: 0 after C; 3: 0 after D; 4: 1 after D; 2: a second; 5: D -> A a plain
    # fifth; 6: 23 -> 37 beyond an octave; 7: an octave (counted nowhere).
    ([[14, 0, 16, 0, 1, 23, 37, 25]],
     {'special_hold_intervals': 1, 'hold_intervals': 1, 'rest_intervals': 1, 'seconds': 1,
      'fifths': 1, 'octave_jumps': 1},
     {'special_rest_intervals': 1, 'rest_intervals': 1, 'seconds': 1, 'fifths': 1,
      'octave_jumps': 1}),
    # D -> F# third (D is no tonic/third), F# -> C tritone (nowhere), sixths C -> A
    # and A -> C, fourths C -> F and F -> C, seventh C -> B.
    ([[16, 20, 14, 23, 14, 19, 14, 25]],
     {'thirds': 1, 'sixths': 2, 'fourths': 2, 'sevenths': 1},
     {'thirds': 1, 'sixths': 2, 'fourths': 2, 'sevenths': 1}),
])
def test_interval_counters(rows, corrected, legacy):
  assert _nonzero(stats(rows, 'corrected')['intervals']) == corrected
  assert _nonzero(stats(rows, 'legacy')['intervals']) == legacy


def test_appendix_a_full_composition_legacy():
  out = stats([FULL], 'legacy')
  assert out['notes_not_in_key'] == 0
  assert out['notes_in_motif'] == 25 / 32
  assert out['notes_in_repeated_motif'] == 0
  assert out['starts_with_tonic'] == 1
  assert out['unique_max_note'] == 1 and out['unique_min_note'] == 0
  assert out['leaps_resolved'] == 0.0  # one doubled, none resolved
  assert [out['autocorrelation_lag%d' % lag] for lag in (1, 2, 3)] == pytest.approx(
      [-0.2648, 0.3440, -0.4783], abs=1e-4)
  assert _nonzero(out['intervals']) == {'seconds': 10, 'sixths': 1,
                                        'special_rest_intervals': 3}


def test_magenta_stat_dict_appendix_a():
  # The original's raw counts for the Appendix A composition (legacy).
  out = statistics.magenta_stat_dict([FULL], key='C', semantics='legacy')
  assert {name: value for name, value in out.items()
          if not name.startswith('autocorrelation') and value} == {
              'notes_in_motif': 25, 'num_starting_tonic': 1, 'num_high_unique': 1,
              'num_leap_twice': 1, 'num_seconds': 10, 'num_sixths': 1,
              'num_special_rest_intervals': 3, 'num_compositions': 1, 'total_notes': 32}
  assert out['autocorrelation1'] == pytest.approx([-0.2648], abs=1e-4)
  corrected = statistics.magenta_stat_dict([FULL], key='C', semantics='corrected')
  assert corrected['num_special_hold_intervals'] == 3 and corrected['num_hold_intervals'] == 0


def test_appendix_a_full_composition_corrected_intervals():
  # The 12 index-1 events become rests (6 after C/G, 6 after D/E/F), the three
  # index-0 events after C holds after the tonic, and E -> G (beat 6) an in-key third.
  assert _nonzero(stats([FULL], 'corrected')['intervals']) == {
      'seconds': 10, 'sixths': 1, 'special_rest_intervals': 6, 'rest_intervals': 6,
      'special_hold_intervals': 3, 'in_key_preferred_intervals': 1}


@pytest.mark.parametrize('semantics', BOTH)
def test_agrees_with_the_reward_rules(semantics):
  rng = np.random.default_rng(11)
  x = np.where(rng.random((300, 32)) < 0.4, rng.integers(0, 2, (300, 32)),
               np.clip(18 + np.cumsum(rng.integers(-4, 5, (300, 32)), axis=1), 2, 37))
  x[:20, :16] = x[:20, 16:]  # some repeated motifs
  out = stats(x, semantics)
  parts = mt.reward_components(x, key='C', semantics=semantics)
  assert out['notes_excessively_repeated'] == np.mean(parts['repetition'] < 0)
  assert out['notes_not_in_key'] == np.mean(parts['key'] < 0)
  assert out['notes_in_motif'] == np.mean(parts['motif'] > 0)
  if semantics == 'legacy':
    assert out['notes_in_repeated_motif'] == np.mean(parts['repeated_motif'] > 0) > 0
  else:
    # The statistic counts every repeat; the corrected reward pays a phrase once.
    assert out['notes_in_repeated_motif'] > np.mean(parts['repeated_motif'] > 0) > 0
    assert np.all(mf.repeated_motif(x, mf.motif_unique_pitches(x))[parts['repeated_motif'] > 0])
  resolved = np.sum(parts['leap_resolution'] > 0)
  doubled = np.sum(parts['leap_resolution'] < 0)
  assert out['leaps_resolved'] == resolved / (resolved + doubled)
  extrema = parts['unique_extrema'][:, -1]
  assert out['unique_max_note'] + out['unique_min_note'] == pytest.approx(
      extrema.sum() / 3 / len(x))


@pytest.mark.parametrize('semantics', BOTH)
def test_chunking_does_not_change_results(semantics):
  x = np.random.default_rng(2).integers(0, 38, (1000, 32))
  whole = stats(x, semantics)
  chunked = stats(x, semantics, chunk_size=97)
  for name, value in whole.items():
    if name.startswith('autocorrelation'):
      assert chunked[name] == pytest.approx(value, abs=1e-15)
    else:
      assert chunked[name] == value, name


@pytest.mark.parametrize('rows, message', [
    (np.zeros((0, 32), int), 'at least one note'),
    (np.zeros((4, 0), int), 'at least one note'),
    (np.zeros(32, int), r'\[B, T\]'),
    (np.full((2, 3), 40), 'outside'),
])
def test_bad_input(rows, message):
  with pytest.raises(ValueError, match=message):
    statistics.composition_stats(rows, key='C', semantics='corrected')


def test_bad_semantics_and_key():
  with pytest.raises(ValueError, match='semantics'):
    stats([FULL], 'paper')
  with pytest.raises(ValueError, match='valid keys'):
    stats([FULL], key='X')
