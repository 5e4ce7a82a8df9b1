"""The paper's Table-1 statistics over many compositions (pure numpy).

`composition_stats` scores encoded compositions int [N, T] (0 = hold / no
event, 1 = note off, k >= 2 = MIDI pitch k + 46; the priming event excluded) with
the detectors of the reward rules, as the original's `compute_composition_stats`
does note by note (rl_tuner.md §5.2), but vectorised over N and in chunks so
that 100,000 compositions take seconds. `semantics='legacy'` reproduces the
original's counts exactly (label swap, bug 1; the in-key-third counter slip,
bug 4; direction-blind in-key third, bug 14); `'corrected'` follows
interfaces.md §3. `mean_log_p` needs a model and is added by the evaluation.
"""

from typing import Dict, Optional

import numpy as np

from rl_tuner import keys as keys_lib
from rl_tuner import melody_features as mf

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

PER_NOTE_KEYS = ('notes_excessively_repeated', 'notes_not_in_key', 'notes_in_motif',
                 'notes_in_repeated_motif')
PER_COMPOSITION_KEYS = ('starts_with_tonic', 'unique_max_note', 'unique_min_note')


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
  """Raw counts and per-composition autocorrelations of one chunk."""
  prev = mf.previous_pitch(x)
  unique = mf.motif_unique_pitches(x)
  leaps = mf.leap_outcomes(x, prev)
  high, low = mf.unique_extrema(x)
  rho = mf.float_autocorrelation(x, AUTOCORRELATION_LAGS)
  return {
      'notes_excessively_repeated': int(np.count_nonzero(mf.excessive_repeats(x, semantics))),
      'notes_not_in_key': int(np.count_nonzero(~key.in_key[x])),
      'notes_in_motif': int(np.count_nonzero(unique >= mf.MOTIF_MIN_UNIQUE_PITCHES)),
      'notes_in_repeated_motif': int(np.count_nonzero(mf.repeated_motif(x, unique))),
      'leaps_resolved_count': int(np.count_nonzero(leaps == mf.LEAP_RESOLVED)),
      'leaps_doubled_count': int(np.count_nonzero(leaps == mf.LEAP_DOUBLED)),
      'starts_with_tonic': int(np.count_nonzero(x[:, 0] == key.tonic_index)),
      'unique_max_note': int(np.count_nonzero(high)),
      'unique_min_note': int(np.count_nonzero(low)),
      'intervals': count_intervals(mf.interval_codes(x, key, semantics, prev), semantics),
      'autocorrelation': rho,
  }


def _nanmean_or_none(values: np.ndarray) -> Optional[float]:
  finite = values[~np.isnan(values)]
  return float(finite.mean()) if finite.size else None


def composition_stats(compositions, *, key='C', semantics: str = mf.CORRECTED,
                      chunk_size: int = CHUNK_SIZE) -> Dict[str, object]:
  """The per-model statistics of metrics.json (interfaces.md §4), without mean_log_p.

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
  x = mf.as_compositions(compositions)
  key = keys_lib.parse_key(key)
  mf.check_semantics(semantics)
  num_compositions, length = x.shape
  if num_compositions == 0 or length == 0:
    raise ValueError('composition_stats needs at least one note, got shape %s' % (x.shape,))
  totals = None
  rhos = []
  for start in range(0, num_compositions, chunk_size):
    part = _chunk_counts(x[start:start + chunk_size], key, semantics)
    rhos.append(part.pop('autocorrelation'))
    if totals is None:
      totals = part
    else:
      for name, value in part.items():
        if name == 'intervals':
          for counter, count in value.items():
            totals['intervals'][counter] += count
        else:
          totals[name] += value
  rho = np.concatenate(rhos)
  num_notes = num_compositions * length
  stats = {name: totals[name] / num_notes for name in PER_NOTE_KEYS}
  stats.update({name: totals[name] / num_compositions for name in PER_COMPOSITION_KEYS})
  leaps = totals['leaps_resolved_count'] + totals['leaps_doubled_count']
  stats['leaps_resolved'] = totals['leaps_resolved_count'] / leaps if leaps else None
  for j, lag in enumerate(AUTOCORRELATION_LAGS):
    stats['autocorrelation_lag%d' % lag] = _nanmean_or_none(rho[:, j])
  stats['num_compositions'] = int(num_compositions)
  stats['intervals'] = totals['intervals']
  return stats
