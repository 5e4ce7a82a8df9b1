"""The paper's Table-1 statistics over many compositions (pure numpy).

`composition_stats` scores encoded compositions int [N, T] (0 = hold / no
event, 1 = note off, k >= 2 = MIDI pitch k + 46; the priming event excluded) with
the detectors of the reward rules, as the original's `compute_composition_stats`
does note by note (Magenta's `compute_composition_stats`), but vectorised over N and in chunks so
that 100,000 compositions take seconds. `semantics='legacy'` reproduces the
original's counts exactly (label swap, bug 1; the in-key-third counter slip,
bug 4; direction-blind in-key third, bug 14); `'corrected'` follows
rl_tuner/README.md. `mean_log_p` needs a model and is added by the evaluation.
"""

from typing import Dict, Optional

import numpy as np

from rl_tuner.music import keys as keys_lib
from rl_tuner.music import features as mf

CHUNK_SIZE = 16384
AUTOCORRELATION_LAGS = (1, 2, 3)

# Interval counters: the first matching (code test, counter) wins; code 0 is
# skipped and codes 1, 3, 6, 8, 10 and 12 are counted nowhere (§5.2).
_COMMON_COUNTERS_HEAD = (
    ('rest_intervals', lambda c: c == mf.REST_INTERVAL),
    ('special_rest_intervals', lambda c: c == mf.REST_INTERVAL_AFTER_TONIC_OR_FIFTH),
    ('octave_jumps', lambda c: c > keys_lib.OCTAVE_SEMITONES),
)
_COMMON_COUNTERS_TAIL = (
    ('fifths', lambda c: c == 7),
    ('thirds', lambda c: c == 4),
    ('sixths', lambda c: c == 9),
    ('seconds', lambda c: c == 2),
    ('fourths', lambda c: c == 5),
    ('sevenths', lambda c: c == 11),
)
# Bug 4: the original's `x == (FIFTH or x == THIRD)` tests only the fifth.
LEGACY_INTERVAL_COUNTERS = _COMMON_COUNTERS_HEAD + (
    ('in_key_preferred_intervals', lambda c: c == mf.IN_KEY_FIFTH),
) + _COMMON_COUNTERS_TAIL
CORRECTED_INTERVAL_COUNTERS = _COMMON_COUNTERS_HEAD + (
    ('in_key_preferred_intervals',
     lambda c: (c == mf.IN_KEY_FIFTH) | (c == mf.IN_KEY_THIRD)),
) + _COMMON_COUNTERS_TAIL + (
    ('hold_intervals', lambda c: c == mf.HOLD_INTERVAL),
    ('special_hold_intervals', lambda c: c == mf.HOLD_INTERVAL_AFTER_TONIC_OR_FIFTH),
)



def interval_counters(semantics: str):
  """The (name, code test) pairs of the interval counters, in priority order."""
  if mf.check_semantics(semantics) == mf.LEGACY:
    return LEGACY_INTERVAL_COUNTERS
  return CORRECTED_INTERVAL_COUNTERS


def count_intervals(codes: np.ndarray, semantics: str) -> Dict[str, int]:
  """Counts classifier codes (any shape) into the interval counters."""
  counts = {}
  unclaimed = codes != mf.NO_INTERVAL
  for name, test in interval_counters(semantics):
    hit = unclaimed & test(codes)
    counts[name] = int(np.count_nonzero(hit))
    unclaimed &= ~hit
  return counts


def _chunk_counts(x: np.ndarray, key: keys_lib.Key, semantics: str) -> Dict[str, object]:
  """Magenta's stat-dict counts for one chunk, and its autocorrelations [n, 3]."""
  prev = mf.previous_pitch(x)
  unique = mf.motif_unique_pitches(x)
  leaps = mf.leap_outcomes(x, prev)
  high, low = mf.unique_extrema(x)
  counts = {
      'notes_not_in_key': np.count_nonzero(~key.in_key[x]),
      'notes_in_motif': np.count_nonzero(unique >= mf.MOTIF_MIN_UNIQUE_PITCHES),
      'notes_in_repeated_motif': np.count_nonzero(mf.repeated_motif(x, unique)),
      'num_starting_tonic': np.count_nonzero(x[:, 0] == key.tonic_index),
      'num_repeated_notes': np.count_nonzero(mf.excessive_repeats(x, semantics)),
      'num_resolved_leaps': np.count_nonzero(leaps == mf.LEAP_RESOLVED),
      'num_leap_twice': np.count_nonzero(leaps == mf.LEAP_DOUBLED),
      'num_high_unique': np.count_nonzero(high),
      'num_low_unique': np.count_nonzero(low),
  }
  intervals = count_intervals(mf.interval_codes(x, key, semantics, prev), semantics)
  counts.update({'num_' + name: count for name, count in intervals.items()})
  return {name: int(count) for name, count in counts.items()}


def magenta_stat_dict(compositions, *, key='C', semantics: str = mf.CORRECTED,
                      chunk_size: int = CHUNK_SIZE) -> Dict[str, object]:
  """The original's `compute_composition_stats` dict (see `_stat_dict`), lists included."""
  stat_dict = _stat_dict(compositions, key=key, semantics=semantics, chunk_size=chunk_size)
  for lag in AUTOCORRELATION_LAGS:
    stat_dict['autocorrelation%d' % lag] = stat_dict['autocorrelation%d' % lag].tolist()
  return stat_dict


def _stat_dict(compositions, *, key, semantics: str, chunk_size: int) -> Dict[str, object]:
  """The original's `compute_composition_stats` dict for compositions int [N, T].

  Counts under the original's names (`num_repeated_notes`, `notes_not_in_key`,
  `notes_in_motif`, `notes_in_repeated_motif`, `num_starting_tonic`,
  `num_resolved_leaps`, `num_leap_twice`, `num_high_unique`, `num_low_unique`,
  `num_<interval counter>`), `autocorrelation1..3` (one ρ per composition, NaN
  for a constant one; arrays here, lists in `magenta_stat_dict`),
  `num_compositions` and `total_notes`.
  With 'legacy' it equals the original's dict for the same notes (tested against
  Magenta's code); 'corrected' adds `num_hold_intervals` and
  `num_special_hold_intervals`.

  Raises:
    ValueError: bad shape or index, unknown key or semantics.
  """
  x = mf.as_compositions(compositions)
  key = keys_lib.parse_key(key)
  mf.check_semantics(semantics)
  num_compositions, length = x.shape
  if num_compositions == 0 or length == 0:
    raise ValueError('composition statistics need at least one note, got shape %s'
                     % (x.shape,))
  totals = {}
  rhos = []
  for start in range(0, num_compositions, chunk_size):
    chunk = x[start:start + chunk_size]
    for name, count in _chunk_counts(chunk, key, semantics).items():
      totals[name] = totals.get(name, 0) + count
    rhos.append(mf.float_autocorrelation(chunk, AUTOCORRELATION_LAGS))
  rho = np.concatenate(rhos)
  for j, lag in enumerate(AUTOCORRELATION_LAGS):
    totals['autocorrelation%d' % lag] = rho[:, j]
  totals['num_compositions'] = int(num_compositions)
  totals['total_notes'] = int(num_compositions * length)
  return totals


def _nanmean_or_none(values) -> Optional[float]:
  values = np.asarray(values, dtype=np.float64)
  finite = values[~np.isnan(values)]
  return float(finite.mean()) if finite.size else None


# metrics.json key -> the stat dict's count (per-note and per-composition fractions).
PER_NOTE_COUNTS = {
    'notes_excessively_repeated': 'num_repeated_notes',
    'notes_not_in_key': 'notes_not_in_key',
    'notes_in_motif': 'notes_in_motif',
    'notes_in_repeated_motif': 'notes_in_repeated_motif',
}
PER_COMPOSITION_COUNTS = {
    'starts_with_tonic': 'num_starting_tonic',
    'unique_max_note': 'num_high_unique',
    'unique_min_note': 'num_low_unique',
}


def stats_from_stat_dict(stat_dict: Dict[str, object], semantics: str) -> Dict[str, object]:
  """metrics.json statistics from a `magenta_stat_dict` (as get_stat_dict_string divides)."""
  notes = stat_dict['total_notes']
  count = stat_dict['num_compositions']
  stats = {name: stat_dict[raw] / notes for name, raw in PER_NOTE_COUNTS.items()}
  stats.update({name: stat_dict[raw] / count for name, raw in PER_COMPOSITION_COUNTS.items()})
  resolved = stat_dict['num_resolved_leaps']
  leaps = resolved + stat_dict['num_leap_twice']
  stats['leaps_resolved'] = resolved / leaps if leaps else None
  for lag in AUTOCORRELATION_LAGS:
    stats['autocorrelation_lag%d' % lag] = _nanmean_or_none(
        stat_dict['autocorrelation%d' % lag])
  stats['num_compositions'] = int(count)
  stats['intervals'] = {name: stat_dict['num_' + name]
                        for name, _ in interval_counters(semantics)}
  return stats


def composition_stats(compositions, *, key='C', semantics: str = mf.CORRECTED,
                      chunk_size: int = CHUNK_SIZE) -> Dict[str, object]:
  """The per-model statistics of metrics.json, without mean_log_p.

  Args:
    compositions: int [N, T] encoded notes, column 0 = the first chosen note.
    key: a key name or `keys.Key`; 'C' is the original's C major.
    semantics: 'corrected' (default) or 'legacy'.
    chunk_size: compositions scored at once (bounds memory).

  Returns:
    A dict with fractions in [0, 1] `notes_excessively_repeated`,
    `notes_not_in_key`, `notes_in_motif`, `notes_in_repeated_motif` (per note),
    `starts_with_tonic`, `unique_max_note`, `unique_min_note` (per composition),
    `leaps_resolved` (resolved / (resolved + doubled), None without leaps),
    `autocorrelation_lag1..3` (nanmean over compositions; None when every
    composition is constant), `num_compositions` and `intervals` (a dict of
    counts; corrected adds `hold_intervals` and `special_hold_intervals`).

  Raises:
    ValueError: bad shape or index, unknown key or semantics.
  """
  stat_dict = _stat_dict(compositions, key=key, semantics=semantics, chunk_size=chunk_size)
  return stats_from_stat_dict(stat_dict, semantics)
