"""Detectors of the `corrected` rules that stop paying for abandoning rhythm (issue 13).

The original's autocorrelation, hold-interval and repeated-motif rules, tuned
against, lead to melodies of one formula or without rhythm: every composition a
stream of sixteenth notes looping one motif, or one tonic held for 31 steps. The
`corrected` rules use these detectors instead; `legacy` keeps the original's
(rl_tuner/README.md, "Corrected rules and rhythm"). Same conventions as
`features`: encoded compositions x int [B, T], entry [b, t] about note t
given notes 0 .. t-1, loops over T only.
"""

from typing import Optional, Sequence

import numpy as np

from rl_tuner.music import features as mf

# A hold earns its interval reward only while its note has sounded fewer steps than
# this (a quarter note: the pitch and three holds); later holds earn 0.
MAX_REWARDED_NOTE_STEPS = 4


def struck_pitches_first(x: np.ndarray):
  """(compact int [B, T], count int [B, T]): each row's pitches moved to the front.

  compact[b, :k] are row b's first k struck pitches in order (the rest is the
  row's specials); count[b, t] is how many pitches notes 0 .. t strike.
  """
  struck = x >= mf.FIRST_PITCH
  order = np.argsort(~struck, axis=1, kind='stable')
  return np.take_along_axis(x, order, axis=1), np.cumsum(struck, axis=1)


def struck_autocorrelation_prefix(x: np.ndarray, lags: Sequence[int] = (1, 2, 3),
                                  threshold: Optional[float] = None) -> np.ndarray:
  """float [B, T, len(lags)]: ρ_lag of the pitches struck by notes 0 .. t.

  Holds and note-offs are skipped, so rhythm does not change ρ: a hold sees the ρ
  of the pitches before it. Raw indices would put holds (0) ~20 below every pitch,
  which makes any melody with holds "autocorrelated" (the Note RNN's samples pay
  −3 per note). NaN (no penalty) before the first pitch and for one repeated pitch.
  """
  compact, count = struck_pitches_first(x)
  rho = mf.autocorrelation_prefix(compact, lags, threshold=threshold)
  out = np.take_along_axis(rho, np.maximum(count - 1, 0)[:, :, None], axis=1)
  out[count == 0] = np.nan
  return out


def steps_sounded(x: np.ndarray) -> np.ndarray:
  """int [B, T]: for a hold, how many steps its note has sounded before it (else 0).

  A hold after a note-off, or before any pitch, continues a rest: 0.
  """
  batch, length = x.shape
  out = np.zeros((batch, length), dtype=np.int64)
  sounded = np.zeros(batch, dtype=np.int64)
  for t in range(length):
    a = x[:, t]
    hold = a == mf.HOLD
    out[:, t] = np.where(hold, sounded, 0)
    sounded = np.where(a >= mf.FIRST_PITCH, 1,
                       np.where(hold & (sounded > 0), sounded + 1, 0))
  return out


def long_holds(x: np.ndarray) -> np.ndarray:
  """bool [B, T]: holds of a note that has sounded MAX_REWARDED_NOTE_STEPS or more."""
  return steps_sounded(x) >= MAX_REWARDED_NOTE_STEPS


def first_repeats(x: np.ndarray, unique_pitches: np.ndarray,
                  bar_length: int = mf.MOTIF_BAR_LENGTH) -> np.ndarray:
  """bool [B, T]: `features.repeated_motif`, paid once per phrase.

  A repeat counts when its window occurred exactly once before (entirely earlier),
  and not within bar_length − 1 steps after a counted repeat (those windows are
  the same repetition, shifted). A loop then counts once, not at every step.
  """
  batch, length = x.shape
  out = np.zeros((batch, length), dtype=bool)
  if length < 2 * bar_length:
    return out
  codes = mf.window_codes(x, bar_length)
  has_motif = unique_pitches >= mf.MOTIF_MIN_UNIQUE_PITCHES
  last_counted = np.full(batch, -bar_length, dtype=np.int64)
  for t in range(2 * bar_length - 1, length):
    start = t - bar_length + 1
    earlier = codes[:, :start - bar_length + 1]
    occurrences = np.count_nonzero(earlier == codes[:, start:start + 1], axis=1)
    counted = has_motif[:, t] & (occurrences == 1) & (t - last_counted >= bar_length)
    out[:, t] = counted
    last_counted = np.where(counted, t, last_counted)
  return out
