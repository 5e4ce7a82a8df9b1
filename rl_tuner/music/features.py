"""Vectorised melody detectors behind the music-theory rewards and statistics.

Every function takes encoded compositions `x` int [B, T] (0 = hold / no event,
1 = note off, k >= 2 = MIDI pitch k + 46; the priming event is not part of a
composition) and answers, for each note t, a question about note t given notes
0 .. t-1 of the same row: the original RL Tuner's "composition so far plus the
candidate action" (rl_tuner/README.md). Loops run over T only, never over B, and
the history-dependent detectors use scans or prefix sums instead of walking the
history once per note.

`semantics` is 'corrected' or 'legacy' (rl_tuner/README.md); it matters only for
the interval classifier and the repetition detector. With 'legacy' the original
labels index 0 NOTE_OFF and index 1 NO_EVENT (bug 1), and its in-key third
ignores direction and key (bug 14).
"""

from typing import Optional, Sequence, Tuple

import numpy as np

from pipelines import encoding
from rl_tuner.music import keys as keys_lib

CORRECTED = 'corrected'
LEGACY = 'legacy'
SEMANTICS = (CORRECTED, LEGACY)

HOLD = encoding.NO_EVENT_INDEX
NOTE_OFF = encoding.NOTE_OFF_INDEX
FIRST_PITCH = encoding.FIRST_PITCH_INDEX
NO_PITCH = -1  # "no previous pitch" in previous_pitch()

# Interval classifier codes (rule 7 in rl_tuner/README.md). Codes >= 0 are semitones.
NO_INTERVAL = 0.0
REST_INTERVAL = -1.0
HOLD_INTERVAL = -1.5
REST_INTERVAL_AFTER_TONIC_OR_FIFTH = -2.0
HOLD_INTERVAL_AFTER_TONIC_OR_FIFTH = -2.5
IN_KEY_THIRD = -3.0
IN_KEY_FIFTH = -5.0
CORRECTED_THIRD_SEMITONES = (3, 4)

# Repetition detector thresholds (bug 12: kept in both semantics).
MAX_REPEATS_WITHOUT_BREAK = 4
MAX_REPEATS_WITH_BREAK = 6
MAX_REPEATED_RESTS = 1

MOTIF_BAR_LENGTH = 8
MOTIF_MIN_UNIQUE_PITCHES = 3

LEAP_MIN_SEMITONES = 7  # a fifth or more, in both semantics
STEPS_BETWEEN_LEAPS = 6
LEAP_RESOLVED = 1
LEAP_DOUBLED = -1


def check_semantics(semantics: str) -> str:
  if semantics not in SEMANTICS:
    raise ValueError('semantics must be one of %s, got %r' % (SEMANTICS, semantics))
  return semantics


def as_compositions(compositions) -> np.ndarray:
  """Validates and returns int64 [B, T] encoded compositions."""
  x = np.asarray(compositions)
  if x.ndim != 2:
    raise ValueError('compositions must be [B, T], got shape %s' % (x.shape,))
  if x.size and not np.issubdtype(x.dtype, np.integer):
    if not np.all(np.equal(np.mod(x, 1), 0)):
      raise ValueError('compositions must hold integer class indices')
  x = x.astype(np.int64, copy=False)
  if x.size and (x.min() < 0 or x.max() >= encoding.NUM_CLASSES):
    raise ValueError('class index outside [0, %d): min %d, max %d'
                     % (encoding.NUM_CLASSES, x.min(), x.max()))
  return x


def previous_pitch(x: np.ndarray) -> np.ndarray:
  """int [B, T]: the last pitch among notes 0 .. t-1 (specials skipped), or -1."""
  batch, length = x.shape
  positions = np.where(x >= FIRST_PITCH, np.arange(length), -1)
  last = np.maximum.accumulate(positions, axis=1) if length else positions
  prev_pos = np.full((batch, length), -1, dtype=np.int64)
  prev_pos[:, 1:] = last[:, :-1]
  prev = np.take_along_axis(x, np.maximum(prev_pos, 0), axis=1)
  return np.where(prev_pos >= 0, prev, NO_PITCH)


def hold_and_rest_indices(semantics: str) -> Tuple[int, int]:
  """(index that gets the hold codes, index that gets the rest codes).

  The original gives the hold codes to index 1, which it calls NO_EVENT
  (bug 1); corrected gives them to the true hold, index 0.
  """
  if check_semantics(semantics) == LEGACY:
    return NOTE_OFF, HOLD
  return HOLD, NOTE_OFF


def interval_codes(x: np.ndarray, key: keys_lib.Key, semantics: str,
                   prev: Optional[np.ndarray] = None) -> np.ndarray:
  """float [B, T]: the interval classifier's code for each note.

  0 when there is no previous pitch; -1.5 / -2.5 for a hold and -1 / -2 for a
  note-off (the larger after a tonic or fifth degree); -5 for an in-key fifth,
  -3 for an in-key third, otherwise the distance in semitones.
  """
  if prev is None:
    prev = previous_pitch(x)
  has_prev = prev >= FIRST_PITCH
  safe_prev = np.maximum(prev, 0)
  after_tonic_or_fifth = key.is_tonic_or_fifth()[safe_prev] & has_prev
  hold_index, rest_index = hold_and_rest_indices(semantics)
  codes = np.zeros(x.shape, dtype=np.float64)
  hold = has_prev & (x == hold_index)
  rest = has_prev & (x == rest_index)
  codes[hold] = np.where(after_tonic_or_fifth[hold], HOLD_INTERVAL_AFTER_TONIC_OR_FIFTH,
                         HOLD_INTERVAL)
  codes[rest] = np.where(after_tonic_or_fifth[rest], REST_INTERVAL_AFTER_TONIC_OR_FIFTH,
                         REST_INTERVAL)
  pitched = has_prev & (x >= FIRST_PITCH)
  distance = np.abs(x - prev)
  codes[pitched] = distance[pitched]
  fifth = pitched & (distance == keys_lib.FIFTH_SEMITONES) & after_tonic_or_fifth
  after_tonic_or_third = key.is_tonic_or_third()[safe_prev]
  if semantics == LEGACY:
    third = pitched & (distance == key.third_semitones) & after_tonic_or_third
  else:
    in_key = key.in_key[x]
    fifth &= in_key
    third = (pitched & np.isin(distance, CORRECTED_THIRD_SEMITONES) &
             after_tonic_or_third & in_key)
  codes[fifth] = IN_KEY_FIFTH
  codes[third] = IN_KEY_THIRD
  return codes


def excessive_repeats(x: np.ndarray, semantics: str) -> np.ndarray:
  """bool [B, T]: the repetition detector (rule 3 in rl_tuner/README.md).

  Walking back from note t, copies of the candidate count, specials set the
  "break" flag, and any other pitch stops the walk. A scan keeps, per row, the
  last pitch, how many copies of it the walk back would count, how many
  specials that walk passes, and the specials since the last pitch.
  """
  semantics = check_semantics(semantics)
  batch, length = x.shape
  out = np.zeros((batch, length), dtype=bool)
  last_pitch = np.full(batch, NO_PITCH, dtype=np.int64)
  copies = np.zeros(batch, dtype=np.int64)
  specials_in_run = np.zeros(batch, dtype=np.int64)
  trailing_holds = np.zeros(batch, dtype=np.int64)
  trailing_offs = np.zeros(batch, dtype=np.int64)
  for t in range(length):
    a = x[:, t]
    is_pitch = a >= FIRST_PITCH
    same = is_pitch & (a == last_pitch)
    limit = np.where(specials_in_run > 0, MAX_REPEATS_WITH_BREAK, MAX_REPEATS_WITHOUT_BREAK)
    repeated = same & (copies > limit)
    if semantics == LEGACY:
      # The original's "NOTE_OFF" (index 0) is excessive after two more of
      # them; its "NO_EVENT" (index 1) is treated like a pitch.
      repeated |= (a == HOLD) & (trailing_holds > MAX_REPEATED_RESTS)
      limit_offs = np.where(trailing_holds > 0, MAX_REPEATS_WITH_BREAK,
                            MAX_REPEATS_WITHOUT_BREAK)
      repeated |= (a == NOTE_OFF) & (trailing_offs > limit_offs)
    else:
      repeated |= (a == NOTE_OFF) & (trailing_offs > MAX_REPEATED_RESTS)
    out[:, t] = repeated
    new = is_pitch & ~same
    copies = np.where(same, copies + 1, np.where(new, 1, copies))
    specials_in_run = np.where(new, trailing_holds + trailing_offs,
                               specials_in_run + ~is_pitch)
    trailing_holds = np.where(is_pitch, 0, trailing_holds + (a == HOLD))
    trailing_offs = np.where(is_pitch, 0, trailing_offs + (a == NOTE_OFF))
    last_pitch = np.where(is_pitch, a, last_pitch)
  return out


def autocorrelation_prefix(x: np.ndarray, lags: Sequence[int] = (1, 2, 3),
                           threshold: Optional[float] = None) -> np.ndarray:
  """float [B, T, len(lags)]: ρ_lag of notes 0 .. t (raw indices, specials too).

  ρ = Σ_{i<n-lag} (x_{i+lag} - m)(x_i - m) / n / Var with the population
  variance (rl_tuner_ops.autocorrelate); NaN when Var = 0. Integer prefix sums
  give ρ exactly rounded. Where |ρ| lies within 1e-9 of `threshold`, ρ is
  recomputed with the original's floating-point steps (mean, deviations, var,
  sum, two divisions), so a threshold test decides as the original does:
  [35, 35, 35, 35, 1] has ρ_3 = -0.15 exactly, which the original computes as
  -0.15000000000000002 and penalises.
  """
  rho = _exact_autocorrelation_prefix(x, lags)
  if threshold is None:
    return rho
  with np.errstate(invalid='ignore'):
    near = np.abs(np.abs(rho) - threshold) < _TIE_TOLERANCE
  for t in np.unique(np.nonzero(near)[1]):
    rows = np.nonzero(near[:, t, :].any(axis=1))[0]
    rho[rows, t, :] = float_autocorrelation(x[rows, :t + 1], lags)
  return rho


_TIE_TOLERANCE = 1e-9



def float_autocorrelation(x: np.ndarray, lags: Sequence[int]) -> np.ndarray:
  """float [B, len(lags)]: ρ of whole rows, step by step as rl_tuner_ops.autocorrelate."""
  batch, n = x.shape
  deviations = x - x.mean(axis=1, keepdims=True)
  variance = x.var(axis=1)
  out = np.empty((batch, len(lags)), dtype=np.float64)
  with np.errstate(invalid='ignore', divide='ignore'):
    for j, lag in enumerate(lags):
      if lag < n:
        products = (deviations[:, lag:] * deviations[:, :n - lag]).sum(axis=1)
      else:
        products = np.zeros(batch)
      out[:, j] = products / float(n) / variance
  return out


def _exact_autocorrelation_prefix(x: np.ndarray, lags: Sequence[int]) -> np.ndarray:
  """ρ from prefix sums of integers held exactly in float64 (all < 2^53): one rounding.

  For n = t + 1 notes and k = n - lag products, with S1, S2 the sums of x and
  x², P the sum of x_{i+lag}·x_i and A, L the sums of x_i and x_{i+lag} over
  i < k:  n²·num = n²P - n·S1·(A + L) + k·S1²  and  n²·n·Var = n·(n·S2 - S1²).
  """
  batch, length = x.shape
  xf = x.astype(np.float64)
  n = np.arange(1, length + 1, dtype=np.float64)
  s1 = np.cumsum(xf, axis=1)
  s2 = np.cumsum(xf * xf, axis=1)
  denominator = n * (n * s2 - s1 * s1)
  zero_variance = denominator == 0
  denominator[zero_variance] = 1.0
  out = np.zeros((batch, length, len(lags)), dtype=np.float64)
  for j, lag in enumerate(lags):
    if lag >= length:
      continue
    k = n[:length - lag]                                        # columns t = lag .. T-1
    products = np.cumsum(xf[:, lag:] * xf[:, :length - lag], axis=1)
    head = s1[:, :length - lag]                                 # Σ_{i<k} x_i
    tail = s1[:, lag:] - s1[:, lag - 1:lag]                     # Σ_{i<k} x_{i+lag}
    m, total = n[lag:], s1[:, lag:]
    numerator = m * m * products - m * total * (head + tail) + k * total * total
    out[:, lag:, j] = numerator / denominator[:, lag:]
  out[zero_variance] = np.nan
  return out


def motif_unique_pitches(x: np.ndarray, bar_length: int = MOTIF_BAR_LENGTH) -> np.ndarray:
  """int [B, T]: distinct pitches among notes t-bar_length+1 .. t (0 for t < bar_length-1)."""
  batch, length = x.shape
  out = np.zeros((batch, length), dtype=np.int64)
  if length < bar_length:
    return out
  bits = np.where(x >= FIRST_PITCH, np.left_shift(np.int64(1), x), 0).astype(np.uint64)
  windows = length - bar_length + 1
  mask = np.zeros((batch, windows), dtype=np.uint64)
  for k in range(bar_length):
    mask |= bits[:, k:k + windows]
  bytes_view = np.ascontiguousarray(mask).view(np.uint8).reshape(batch, windows, 8)
  out[:, bar_length - 1:] = _POPCOUNT8[bytes_view].sum(axis=2)
  return out


_POPCOUNT8 = np.array([bin(i).count('1') for i in range(256)], dtype=np.int64)


def window_codes(x: np.ndarray, bar_length: int = MOTIF_BAR_LENGTH) -> np.ndarray:
  """int64 [B, T - bar_length + 1]: each window of bar_length events as a base-38 number."""
  windows = x.shape[1] - bar_length + 1
  codes = np.zeros((x.shape[0], max(windows, 0)), dtype=np.int64)
  for k in range(bar_length):
    codes = codes * encoding.NUM_CLASSES + x[:, k:k + windows]
  return codes



def repeated_motif(x: np.ndarray, unique_pitches: np.ndarray,
                   bar_length: int = MOTIF_BAR_LENGTH) -> np.ndarray:
  """bool [B, T]: note t ends a motif whose exact bar_length events occur earlier.

  "Earlier" means entirely before the motif's first note (rule 6).
  Each window is hashed exactly as a base-38 number (38^8 < 2^63).
  """
  batch, length = x.shape
  out = np.zeros((batch, length), dtype=bool)
  if length < 2 * bar_length:
    return out
  codes = window_codes(x, bar_length)
  has_motif = unique_pitches >= MOTIF_MIN_UNIQUE_PITCHES
  for t in range(2 * bar_length - 1, length):
    start = t - bar_length + 1
    earlier = codes[:, :start - bar_length + 1]
    out[:, t] = has_motif[:, t] & np.any(earlier == codes[:, start:start + 1], axis=1)
  return out


def leap_outcomes(x: np.ndarray, prev: Optional[np.ndarray] = None) -> np.ndarray:
  """int8 [B, T]: +1 leap resolved, -1 leap doubled, 0 otherwise (§3.2 (8)).

  A scan over T carries each row's leap direction, the pitch leapt from and the
  steps since the last leap, as the original's stateful detector does.
  """
  if prev is None:
    prev = previous_pitch(x)
  batch, length = x.shape
  out = np.zeros((batch, length), dtype=np.int8)
  direction = np.zeros(batch, dtype=np.int64)
  leapt_from = np.zeros(batch, dtype=np.int64)
  steps = np.zeros(batch, dtype=np.int64)
  for t in range(1, length):  # note 0 sees an empty composition: no change
    a = x[:, t]
    p = prev[:, t]
    is_pitch = a >= FIRST_PITCH
    leap = is_pitch & (p >= FIRST_PITCH) & (np.abs(a - p) >= LEAP_MIN_SEMITONES)
    sign = np.where(a > p, 1, -1)
    active = direction != 0
    opposite = leap & active & (sign != direction)
    doubled = leap & active & (sign == direction)
    fresh = leap & ~active
    step = is_pitch & ~leap
    gradual = step & (((direction == 1) & (a <= leapt_from)) |
                      ((direction == -1) & (a >= leapt_from)))
    resolved = (opposite & (steps > STEPS_BETWEEN_LEAPS)) | gradual
    out[:, t] = np.where(resolved, LEAP_RESOLVED, np.where(doubled, LEAP_DOUBLED, 0))
    direction = np.where(opposite | gradual, 0, np.where(fresh, sign, direction))
    leapt_from = np.where(fresh, p, leapt_from)
    steps = np.where(leap, 0, steps + 1)
  return out


def unique_extrema(x: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
  """(high, low) bool [B]: the row's maximum occurs once; its lowest pitch once.

  The maximum is over raw indices (specials count, which matters only for a
  row without pitches); the minimum is over pitches, False without pitches.
  """
  if x.shape[1] == 0:
    empty = np.zeros(x.shape[0], dtype=bool)
    return empty, empty
  high = (x == x.max(axis=1, keepdims=True)).sum(axis=1) == 1
  pitches = np.where(x >= FIRST_PITCH, x, encoding.NUM_CLASSES)
  lowest = pitches.min(axis=1, keepdims=True)
  low = (lowest[:, 0] < encoding.NUM_CLASSES) & ((x == lowest).sum(axis=1) == 1)
  return high, low
