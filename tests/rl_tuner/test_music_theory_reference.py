"""The vectorised rules against a literal note-by-note reading of the specs.

`reference_rewards` walks each composition note by note exactly as rl_tuner/README.md
(legacy and corrected, with issue 13's corrected rows: struck-pitch autocorrelation, motif
bonus up to 4 pitches, a phrase's first repeat, no reward for holds of a note sounding 4
steps) describes the rules, with plain
Python loops and the carried leap state, for any key. It shares no code with
rl_tuner.music.features. Random compositions in several styles and keys must
give the same rewards and interval codes in both semantics.
"""

import numpy as np
import pytest

from rl_tuner.music import keys
from rl_tuner.music import features as mf
from rl_tuner.music import statistics
from rl_tuner.music import rules as mt

INTERVAL_REWARD = {-1: 0.05, -1.5: 0.075, -2: 0.15, -2.5: 0.3, 11: -0.3, -5: 0.1, -3: 0.15,
                   4: 0.09, 2: 0.08, 5: 0.07, 9: 0.05, 7: 0.02}


def _autocorrelate(signal, lag):
  n = len(signal)
  x = np.asarray(signal) - np.mean(signal)
  with np.errstate(invalid='ignore', divide='ignore'):
    return (x[lag:] * x[:n - lag]).sum() / float(n) / np.var(signal)


def _classify(history, a, key, semantics):
  pitches = [c for c in history if c >= 2]
  if not pitches:
    return 0, None
  prev = pitches[-1]
  tonic_or_fifth = prev in set(key.tonic_indices) | set(key.fifth_indices)
  tonic_or_third = prev in set(key.tonic_indices) | set(key.third_indices)
  hold, rest = (1, 0) if semantics == 'legacy' else (0, 1)
  if a == hold:
    return (-2.5 if tonic_or_fifth else -1.5), prev
  if a == rest:
    return (-2 if tonic_or_fifth else -1), prev
  d = abs(a - prev)
  if semantics == 'legacy':
    if d == 7 and tonic_or_fifth:
      return -5, prev
    if d == key.third_semitones and tonic_or_third:
      return -3, prev
  else:
    if d == 7 and tonic_or_fifth and key.in_key[a]:
      return -5, prev
    if d in (3, 4) and tonic_or_third and key.in_key[a]:
      return -3, prev
  return d, prev


def _repeated(history, a, semantics):
  if semantics == 'corrected' and a == 0:
    return False
  if semantics == 'corrected' and a == 1:
    n = 0
    for c in reversed(history):
      if c == 1:
        n += 1
      elif c != 0:
        break
    return n > 1
  n, flag = 0, False
  for c in reversed(history):
    if c == a:
      n += 1
    elif c in (0, 1):
      flag = True
    else:
      break
  if semantics == 'legacy' and a == 0 and n > 1:
    return True
  return n > (6 if flag else 4)


def _steps_sounded(history):
  """Steps the note a hold would continue has sounded (0: a rest, or no note)."""
  holds = 0
  for c in reversed(history):
    if c == 0:
      holds += 1
    else:
      return holds + 1 if c >= 2 else 0
  return 0


def reference_rewards(notes, key, semantics, num_notes=32):
  """{rule: [T] rewards} and [T] interval codes, one note at a time."""
  out = {name: [] for name in mt.MUSIC_THEORY_RULES}
  codes = []
  direction, leapt_from, steps = 0, None, 0
  last_repeat = -8
  corrected = semantics == 'corrected'
  final_bar = num_notes - 4
  for t, a in enumerate(notes):
    history = list(notes[:t])
    x = history + [a]
    out['key'].append(0.0 if key.in_key[a] else -1.0)
    if t in (0, final_bar):
      tonic = a == key.tonic_index
    elif t == final_bar + 1:
      tonic = a == (1 if semantics == 'legacy' else 0)
    else:
      tonic = t > final_bar + 1 and a in (0, 1)
    out['tonic'].append(3.0 if tonic else 0.0)
    out['repetition'].append(-100.0 if _repeated(history, a, semantics) else 0.0)
    penalty = 0.0
    signal = [c for c in x if c >= 2] if corrected else x
    for lag in (1, 2, 3):
      rho = _autocorrelate(signal, lag) if signal else np.nan
      if not np.isnan(rho) and abs(rho) > 0.15:
        penalty += abs(rho) * 3.0
    out['autocorrelation'].append(-penalty)
    motif = repeated = 0.0
    if len(x) >= 8:
      window = x[-8:]
      unique = len({c for c in window if c >= 2})
      if unique >= 3:
        motif = 3.0 + max((min(unique, 4 if corrected else 99) - 3) * 0.3, 0)
        before = x[:-8]
        copies = sum(before[i:i + 8] == window for i in range(len(before) - 7))
        if corrected:
          if copies == 1 and t - last_repeat >= 8:
            repeated = 4.0 + max(unique - 3, 0)
            last_repeat = t
        elif copies:
          repeated = 4.0 + max(unique - 3, 0)
    out['motif'].append(motif)
    out['repeated_motif'].append(repeated)
    code, prev = _classify(history, a, key, semantics)
    codes.append(code)
    if code > 12:
      interval = -1.0
    else:
      interval = INTERVAL_REWARD.get(code, 0.0)
    if corrected and a == 0 and _steps_sounded(history) >= 4:
      interval = 0.0
    out['intervals'].append(0.0 if code == 0 else interval * 5.0)
    leap = 0.0
    if history:
      if a in (0, 1):
        steps += 1
      elif code >= 7 or code == -5:
        sign = 1 if a > prev else -1
        if direction != 0 and direction != sign:
          if steps > 6:
            leap = 5.0
          direction, leapt_from = 0, None
        elif direction != 0:
          leap = -5.0
        else:
          direction, leapt_from = sign, prev
        steps = 0
      else:
        steps += 1
        if (direction == 1 and a <= leapt_from) or (direction == -1 and a >= leapt_from):
          leap = 5.0
          direction, leapt_from = 0, None
    out['leap_resolution'].append(leap)
    extrema = 0.0
    if len(x) == num_notes:
      if x.count(max(x)) == 1:
        extrema += 3.0
      pitches = [c for c in x if c >= 2]
      if pitches and x.count(min(pitches)) == 1:
        extrema += 3.0
    out['unique_extrema'].append(extrema)
  return out, codes


def _styles(seed, num, length):
  rng = np.random.default_rng(seed)
  noise = rng.integers(0, 38, (num, length))
  specials = rng.integers(0, 2, (num, length))
  walk = np.clip(20 + np.cumsum(rng.integers(-5, 6, (num, length)), axis=1), 2, 37)
  runs = np.repeat(rng.integers(0, 38, (num, length // 4 + 1)), 4, axis=1)[:, :length]
  pick = rng.random((num, length))
  x = np.where(pick < 0.15, noise, np.where(pick < 0.45, specials,
                                            np.where(pick < 0.7, runs, walk)))
  x[: num // 8, length // 2:] = x[: num // 8, : length - length // 2]
  return x


@pytest.mark.parametrize('semantics', ['corrected', 'legacy'])
@pytest.mark.parametrize('key_name, num_notes, seed', [
    ('C', 32, 1), ('G', 32, 2), ('A_minor', 32, 3), ('F#', 32, 4), ('Eb_minor', 24, 5),
])
def test_vectorised_rules_match_the_reference(semantics, key_name, num_notes, seed):
  key = keys.parse_key(key_name)
  x = _styles(seed, 60, num_notes)
  ours = mt.reward_components(x, key=key, semantics=semantics, num_notes=num_notes)
  our_codes = mf.interval_codes(x, key, semantics)
  for b, row in enumerate(x.tolist()):
    expected, codes = reference_rewards(row, key, semantics, num_notes)
    assert our_codes[b].tolist() == codes, (b, row)
    for name, values in expected.items():
      tolerance = 1e-12 if name == 'autocorrelation' else 0.0
      np.testing.assert_allclose(ours[name][b], values, rtol=0, atol=tolerance,
                                 err_msg='%s row %s' % (name, row))


@pytest.mark.parametrize('semantics', ['corrected', 'legacy'])
def test_interval_counters_match_the_reference(semantics):
  key = keys.parse_key('C')
  x = _styles(9, 80, 32)
  counts = dict.fromkeys((name for name, _ in statistics.interval_counters(semantics)), 0)
  for row in x.tolist():
    _, codes = reference_rewards(row, key, semantics)
    for code in codes:
      for name, test in statistics.interval_counters(semantics):
        if code != 0 and test(np.float64(code)):
          counts[name] += 1
          break
  assert statistics.composition_stats(x, key='C', semantics=semantics)['intervals'] == counts
