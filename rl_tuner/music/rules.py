"""Music-theory rewards of the RL Tuner, vectorised over a batch of compositions.

Each rule is a small pure function `rule(x, *, key, semantics, num_notes,
priming) -> float [B, T]` over encoded compositions x int [B, T] (0 = hold /
no event, 1 = note off, k >= 2 = MIDI pitch k + 46; the priming event is not
part of the composition). Entry [b, t] is the rule's unscaled reward (no λ) for
note t given notes 0 .. t-1 of row b, i.e. what the original's
`reward_<rule>(action)` returns at beat t (rl_tuner/README.md, "Rule constants"). The rules are
registered in `REWARD_RULES`; `music_theory_reward` sums the rules of a
`reward_mode` in the original's order so that `legacy` sums match it bit for bit.

`semantics='legacy'` reproduces the original exactly (its hold/note-off label
swap, bug 1, and its in-key third, bug 14); `'corrected'` follows The differences are tabulated in rl_tuner/README.md.
"""

from typing import Callable, Dict, Iterable, Optional

import numpy as np

from pipelines import encoding
from rl_tuner.music import keys as keys_lib
from rl_tuner.music import features as mf
from rl_tuner.music.keys import Key, parse_key  # noqa: F401  (re-exported API)
from rl_tuner.music import rhythm_fixes

CORRECTED = mf.CORRECTED
LEGACY = mf.LEGACY
SEMANTICS = mf.SEMANTICS
DEFAULT_NUM_NOTES = 32

# Rule constants (rl_tuner/README.md), named as in the original's keyword defaults.
KEY_PENALTY = -1.0
TONIC_REWARD = 3.0
FINAL_BAR_LENGTH = 4  # the tonic rule's "bar": the final bar starts at num_notes - 4
REPETITION_PENALTY = -100.0
AUTOCORRELATION_WEIGHT = 3.0
AUTOCORRELATION_THRESHOLD = 0.15
AUTOCORRELATION_LAGS = (1, 2, 3)
MOTIF_REWARD = 3.0
MOTIF_COMPLEXITY_BONUS = 0.3  # per distinct pitch beyond 3
CORRECTED_MOTIF_MAX_PITCHES = 4  # corrected: no bonus beyond 4 pitches (8 eighth-note steps)
REPEATED_MOTIF_REWARD = 4.0  # plus 1.0 per distinct pitch beyond 3
INTERVAL_SCALER = 5.0
LEAP_RESOLVED_BONUS = 5.0
LEAP_DOUBLED_PENALTY = -5.0
EXTREMA_REWARD = 3.0
SCALE_NOTE_OFF_REWARD = 0.1
SCALE_STEP_UP_REWARD = 0.05
SCALE_STEP_UP_MAX = 3  # prev < a < prev + 3
SCALE_IN_SCALE_REWARD = 0.01
SCALE_NEXT_DEGREE_REWARD = 0.8
NON_REPEATING_REWARD = 0.1

# Interval code -> reward before INTERVAL_SCALER (rule 7 in rl_tuner/README.md); codes
# not listed (0, 1, 3, 6, 8, 10, 12) get 0, codes above an octave get -1.0.
INTERVAL_BASE_REWARDS = {
    mf.REST_INTERVAL: 0.05,
    mf.HOLD_INTERVAL: 0.075,
    mf.REST_INTERVAL_AFTER_TONIC_OR_FIFTH: 0.15,
    mf.HOLD_INTERVAL_AFTER_TONIC_OR_FIFTH: 0.3,
    11: -0.3,
    mf.IN_KEY_FIFTH: 0.1,
    mf.IN_KEY_THIRD: 0.15,
    4: 0.09,
    2: 0.08,
    5: 0.07,
    9: 0.05,
    7: 0.02,
}
BEYOND_OCTAVE_BASE_REWARD = -1.0

RuleFn = Callable[..., np.ndarray]


def _positions(x: np.ndarray) -> np.ndarray:
  return np.broadcast_to(np.arange(x.shape[1]), x.shape)


def reward_key(x, *, key: Key, semantics: str = CORRECTED,
               num_notes: int = DEFAULT_NUM_NOTES, priming=None) -> np.ndarray:
  """(1) -1 for a note outside the key (specials are in key)."""
  del semantics, num_notes, priming
  return np.where(key.in_key[x], 0.0, KEY_PENALTY)


def reward_tonic(x, *, key: Key, semantics: str = CORRECTED,
                 num_notes: int = DEFAULT_NUM_NOTES, priming=None) -> np.ndarray:
  """(2) +3 for the tonic at beats 0 and num_notes-4, and the right specials after.

  Beat num_notes-3 wants a hold in corrected (index 0: "hold the final tonic")
  and index 1 in legacy (the label swap); the last two beats want either special.
  """
  del priming
  beat = _positions(x)
  first_of_final_bar = num_notes - FINAL_BAR_LENGTH
  final_hold = mf.NOTE_OFF if semantics == LEGACY else mf.HOLD
  on_tonic_beat = (beat == 0) | (beat == first_of_final_bar)
  after_tonic = ~on_tonic_beat & (beat == first_of_final_bar + 1)
  ending = ~on_tonic_beat & (beat > first_of_final_bar + 1)
  hit = ((on_tonic_beat & (x == key.tonic_index)) | (after_tonic & (x == final_hold)) |
         (ending & (x < mf.FIRST_PITCH)))
  return np.where(hit, TONIC_REWARD, 0.0)


def reward_repetition(x, *, key: Key = None, semantics: str = CORRECTED,
                      num_notes: int = DEFAULT_NUM_NOTES, priming=None) -> np.ndarray:
  """(3) -100 for an excessively repeated note (melody_features.excessive_repeats)."""
  del key, num_notes, priming
  return np.where(mf.excessive_repeats(x, semantics), REPETITION_PENALTY, 0.0)


def reward_autocorrelation(x, *, key: Key = None, semantics: str = CORRECTED,
                           num_notes: int = DEFAULT_NUM_NOTES, priming=None) -> np.ndarray:
  """(4) -3 Σ |ρ_lag| over lags 1-3 with |ρ| > 0.15, of notes 0 .. t; NaN ρ skipped.

  ρ of the raw indices in legacy, of the struck pitches in corrected (rhythm_fixes).
  """
  del key, num_notes, priming
  autocorrelation = (rhythm_fixes.struck_autocorrelation_prefix if semantics == CORRECTED
                     else mf.autocorrelation_prefix)
  rho = np.abs(autocorrelation(x, AUTOCORRELATION_LAGS,
                               threshold=AUTOCORRELATION_THRESHOLD))
  return -_autocorrelation_penalty(rho)


def _autocorrelation_penalty(abs_rho: np.ndarray) -> np.ndarray:
  """Σ over the last axis (lags, in order) of 3·|ρ| where |ρ| > 0.15 (NaN: skipped)."""
  with np.errstate(invalid='ignore'):
    over = abs_rho > AUTOCORRELATION_THRESHOLD  # False for NaN
  # A sum over 3 contiguous values adds left to right, as the original's loop does.
  return np.where(over, abs_rho * AUTOCORRELATION_WEIGHT, 0.0).sum(axis=-1)


def _motif_reward_from_counts(unique: np.ndarray, semantics: str) -> np.ndarray:
  if semantics == CORRECTED:
    unique = np.minimum(unique, CORRECTED_MOTIF_MAX_PITCHES)
  bonus = np.maximum((unique - mf.MOTIF_MIN_UNIQUE_PITCHES) * MOTIF_COMPLEXITY_BONUS, 0)
  return np.where(unique >= mf.MOTIF_MIN_UNIQUE_PITCHES, MOTIF_REWARD + bonus, 0.0)


def reward_motif(x, *, key: Key = None, semantics: str = CORRECTED,
                 num_notes: int = DEFAULT_NUM_NOTES, priming=None) -> np.ndarray:
  """(5) +3 (+0.3 per pitch beyond 3) when the last 8 events hold >= 3 distinct pitches.

  Corrected pays no bonus per pitch beyond 3: the bonus paid for sixteenth notes.
  """
  del key, num_notes, priming
  return _motif_reward_from_counts(mf.motif_unique_pitches(x), semantics)


def reward_repeated_motif(x, *, key: Key = None, semantics: str = CORRECTED,
                          num_notes: int = DEFAULT_NUM_NOTES, priming=None) -> np.ndarray:
  """(6) +4 (+1 per pitch beyond 3) when that 8-event motif occurred before it.

  Corrected pays a phrase's first repeat only (rhythm_fixes.first_repeats).
  """
  del key, num_notes, priming
  unique = mf.motif_unique_pitches(x)
  repeated = (rhythm_fixes.first_repeats(x, unique) if semantics == CORRECTED
              else mf.repeated_motif(x, unique))
  bonus = np.maximum(unique - mf.MOTIF_MIN_UNIQUE_PITCHES, 0)
  return np.where(repeated, REPEATED_MOTIF_REWARD + bonus, 0.0)


def interval_rewards_from_codes(codes: np.ndarray) -> np.ndarray:
  """The interval rule's reward (×5 included) for classifier codes."""
  base = np.zeros(codes.shape, dtype=np.float64)
  base[codes > keys_lib.OCTAVE_SEMITONES] = BEYOND_OCTAVE_BASE_REWARD
  for code, value in INTERVAL_BASE_REWARDS.items():
    base[codes == code] = value
  return base * INTERVAL_SCALER


def reward_intervals(x, *, key: Key, semantics: str = CORRECTED,
                     num_notes: int = DEFAULT_NUM_NOTES, priming=None) -> np.ndarray:
  """(7) Preferred intervals from the previous pitch (melody_features.interval_codes).

  Corrected pays no hold of a note that has sounded 4 steps or more (rhythm_fixes).
  """
  del num_notes, priming
  rewards = interval_rewards_from_codes(mf.interval_codes(x, key, semantics))
  if semantics == CORRECTED:
    rewards[rhythm_fixes.long_holds(x)] = 0.0
  return rewards


def reward_leap_resolution(x, *, key: Key = None, semantics: str = CORRECTED,
                           num_notes: int = DEFAULT_NUM_NOTES, priming=None) -> np.ndarray:
  """(8) +5 when a leap (>= 7 semitones) is resolved, -5 when it is doubled."""
  del key, semantics, num_notes, priming
  outcome = mf.leap_outcomes(x)
  return np.where(outcome == mf.LEAP_RESOLVED, LEAP_RESOLVED_BONUS,
                  np.where(outcome == mf.LEAP_DOUBLED, LEAP_DOUBLED_PENALTY, 0.0))


def reward_unique_extrema(x, *, key: Key = None, semantics: str = CORRECTED,
                          num_notes: int = DEFAULT_NUM_NOTES, priming=None) -> np.ndarray:
  """(9) At the last note (t = num_notes - 1): +3 unique maximum, +3 unique lowest pitch."""
  del key, semantics, priming
  out = np.zeros(x.shape, dtype=np.float64)
  last = num_notes - 1
  if 0 <= last < x.shape[1]:
    high, low = mf.unique_extrema(x[:, :last + 1])
    out[:, last] = (np.where(high, EXTREMA_REWARD, 0.0) + np.where(low, EXTREMA_REWARD, 0.0))
  return out


def _previous_events(x: np.ndarray, priming) -> np.ndarray:
  """int [B, T]: the event before each note (the priming event before note 0, else -1)."""
  prev = np.full(x.shape, -1, dtype=np.int64)
  prev[:, 1:] = x[:, :-1]
  if priming is not None and x.shape[1]:
    prev[:, 0] = np.broadcast_to(np.asarray(priming, dtype=np.int64), x.shape[:1])
  return prev


def reward_scale(x, *, key: Key, semantics: str = CORRECTED,
                 num_notes: int = DEFAULT_NUM_NOTES, priming=None) -> np.ndarray:
  """`scale` mode: rising steps through the key's two-octave scale (§3.1).

  +0.1 for index 1, +0.05 if prev < a < prev + 3, +0.01 if a is in the scale,
  and +0.8 more if prev is in the scale and a is its next degree (the top wraps
  to the bottom). prev is the previous event; before note 0 it is `priming`, and
  with no priming note 0 has no previous event.
  """
  del semantics, num_notes
  prev = _previous_events(x, priming)
  has_prev = prev >= 0
  position = np.full(encoding.NUM_CLASSES, -1, dtype=np.int64)
  position[list(key.scale)] = np.arange(len(key.scale))
  a_pos = position[x]
  prev_pos = np.where(has_prev, position[np.maximum(prev, 0)], -1)
  reward = np.zeros(x.shape, dtype=np.float64)
  reward += np.where(x == mf.NOTE_OFF, SCALE_NOTE_OFF_REWARD, 0.0)
  step_up = has_prev & (prev < x) & (x < prev + SCALE_STEP_UP_MAX)
  reward += np.where(step_up, SCALE_STEP_UP_REWARD, 0.0)
  in_scale = a_pos >= 0
  reward += np.where(in_scale, SCALE_IN_SCALE_REWARD, 0.0)
  top = len(key.scale) - 1
  next_degree = in_scale & (prev_pos >= 0) & (
      ((prev_pos == top) & (a_pos == 0)) | (a_pos == prev_pos + 1))
  reward += np.where(next_degree, SCALE_NEXT_DEGREE_REWARD, 0.0)
  return reward


def reward_key_distribution(x, *, key: Key, semantics: str = CORRECTED,
                            num_notes: int = DEFAULT_NUM_NOTES, priming=None) -> np.ndarray:
  """`key` mode: 1 / |key| (1/23: 21 pitches and 2 specials) for a note in key."""
  del semantics, num_notes, priming
  return np.where(key.in_key[x], 1.0 / np.count_nonzero(key.in_key), 0.0)


def reward_non_repeating(x, *, key: Key = None, semantics: str = CORRECTED,
                         num_notes: int = DEFAULT_NUM_NOTES, priming=None) -> np.ndarray:
  """`non_repeating` mode: +0.1 unless excessively repeated, then 0 (bug 11: never None)."""
  del key, num_notes, priming
  return np.where(mf.excessive_repeats(x, semantics), 0.0, NON_REPEATING_REWARD)


# The nine rules of R_MT, in the order the original sums them.
MUSIC_THEORY_RULES = ('key', 'tonic', 'repetition', 'autocorrelation', 'motif',
                      'repeated_motif', 'intervals', 'leap_resolution', 'unique_extrema')

REWARD_RULES: Dict[str, RuleFn] = {
    'key': reward_key,
    'tonic': reward_tonic,
    'repetition': reward_repetition,
    'autocorrelation': reward_autocorrelation,
    'motif': reward_motif,
    'repeated_motif': reward_repeated_motif,
    'intervals': reward_intervals,
    'leap_resolution': reward_leap_resolution,
    'unique_extrema': reward_unique_extrema,
    # Rules of the single-purpose reward modes.
    'scale': reward_scale,
    'key_distribution': reward_key_distribution,
    'non_repeating': reward_non_repeating,
}

_BASIC = ('key', 'tonic', 'repetition')
REWARD_MODE_RULES = {
    'music_theory_all': MUSIC_THEORY_RULES,
    'music_theory_basic': _BASIC,
    'music_theory_basic_plus_variety': _BASIC + ('autocorrelation',),
    'music_theory_only': MUSIC_THEORY_RULES,
    'music_theory_random': _BASIC,
    'key_and_tonic': ('key', 'tonic'),
    'scale': ('scale',),
    'key': ('key_distribution',),
    'non_repeating': ('non_repeating',),
    'preferred_intervals': ('intervals',),
}
REWARD_MODES = tuple(REWARD_MODE_RULES)
# Modes whose reward adds log p(a|s) under the Note RNN (r = λ·R + log p).
MODES_WITH_LOG_P = ('music_theory_all', 'music_theory_basic',
                    'music_theory_basic_plus_variety')


def _check_args(compositions, key, semantics, num_notes):
  x = mf.as_compositions(compositions)
  key = parse_key(key)
  mf.check_semantics(semantics)
  if not isinstance(num_notes, (int, np.integer)) or num_notes < 1:
    raise ValueError('num_notes must be a positive integer, got %r' % (num_notes,))
  if x.shape[1] > num_notes:
    raise ValueError('compositions have %d notes, more than num_notes=%d'
                     % (x.shape[1], num_notes))
  return x, key


def reward_components(compositions, *, key='C', semantics: str = CORRECTED,
                      num_notes: int = DEFAULT_NUM_NOTES,
                      rules: Optional[Iterable[str]] = None,
                      priming=None) -> Dict[str, np.ndarray]:
  """Each rule's unscaled reward for every note.

  Args:
    compositions: int [B, T], T <= num_notes; column t is beat t.
    key: a key name ('C', 'G', 'A_minor', ...) or a `Key`.
    semantics: 'corrected' (default) or 'legacy'.
    num_notes: notes per composition (the tonic and extrema rules need the end).
    rules: names from `REWARD_RULES`; default the nine rules of R_MT.
    priming: optional int [B] (or scalar) priming event; only `scale` uses it.

  Returns:
    {rule name: float64 [B, T]}; entry [b, t] is the reward for note t given
    notes 0 .. t-1 of composition b.

  Raises:
    ValueError: bad shape or index, unknown key, semantics or rule.
  """
  x, key = _check_args(compositions, key, semantics, num_notes)
  names = MUSIC_THEORY_RULES if rules is None else tuple(rules)
  unknown = [n for n in names if n not in REWARD_RULES]
  if unknown:
    raise ValueError('unknown rules %s; valid: %s' % (unknown, ', '.join(REWARD_RULES)))
  return {name: REWARD_RULES[name](x, key=key, semantics=semantics, num_notes=num_notes,
                                   priming=priming)
          for name in names}


def music_theory_reward(compositions, *, key='C', semantics: str = CORRECTED,
                        reward_mode: str = 'music_theory_all',
                        num_notes: int = DEFAULT_NUM_NOTES, priming=None) -> np.ndarray:
  """float64 [B, T]: the sum of the rules `reward_mode` uses, unscaled (no λ, no log p).

  For the modes in `MODES_WITH_LOG_P` the caller adds log p(a|s); all other
  modes are λ times this alone (rl_tuner/README.md).

  Raises:
    ValueError: unknown reward_mode (listing the valid ones), or as
      `reward_components`.
  """
  if reward_mode not in REWARD_MODE_RULES:
    raise ValueError('unknown reward_mode %r; valid: %s'
                     % (reward_mode, ', '.join(REWARD_MODES)))
  parts = reward_components(compositions, key=key, semantics=semantics, num_notes=num_notes,
                            rules=REWARD_MODE_RULES[reward_mode], priming=priming)
  total = None
  for name in REWARD_MODE_RULES[reward_mode]:  # the original's order of summation
    total = parts[name].copy() if total is None else total + parts[name]
  return total
