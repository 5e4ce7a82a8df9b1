"""Issue 13's "stay music" goal, the one home of its thresholds.

A tuned model meets the goal when, on compositions sampled from its policy and scored
with `corrected` statistics against the untuned Note RNN's drawn the same way:

* the acceptance figures hold (`RULE_FIGURES`): notes excessively repeated <= 1 %, in
  motif >= 70 %, compositions starting with the tonic >= 20 %, not in key <= 2 %, and
  in repeated motif <= 2 %;
* it stays diverse and realistic (`DIVERSITY_REALISM`): the most common composition
  <= 0.2 % of them, distinct 8-event windows >= 0.5x the Note RNN's, Jensen–Shannon
  distances to the Note RNN <= 0.47 (note lengths) and <= 0.25 (intervals) — no
  further than the corpus's own motif-rich melodies are;
* its mean log p under the Note RNN is at most `MAX_LOG_P_DROP_NATS` below the Note
  RNN's own samples';
* for a run with a KL target (ppo, grpo), `kl_to_note_rnn_per_note` is within
  `KL_TARGET_TOLERANCE` of that target.

Two readers share these numbers: the evaluation's collapse warnings (`collapse_warnings`:
the diversity and realism floors and the repeated-motif ceiling, worded for the printed
table and the report) and `bench/time_to_quality.py --goal=stay_music`
(`failed_criteria`: every criterion, as keys).
"""

import math
from typing import List, Mapping, Optional, Tuple

# (metrics.json key, bound, is a ceiling, how it is shown): fractions, as metrics.json stores them.
RULE_FIGURES = (
    ('notes_excessively_repeated', 0.01, True, 'percent'),
    ('notes_in_motif', 0.70, False, 'percent'),
    ('starts_with_tonic', 0.20, False, 'percent'),
    ('notes_not_in_key', 0.02, True, 'percent'),
    ('notes_in_repeated_motif', 0.02, True, 'percent'),
)
DIVERSITY_REALISM = (
    ('top_composition_share', 0.002, True, 'percent'),
    ('distinct_8grams_ratio', 0.5, False, 'plain'),
    ('js_note_lengths', 0.47, True, 'plain'),
    ('js_intervals', 0.25, True, 'plain'),
)
# What a collapse warning names: a model that loops or drops the Note RNN's rhythm.
COLLAPSE = DIVERSITY_REALISM + tuple(c for c in RULE_FIGURES
                                     if c[0] == 'notes_in_repeated_motif')

# mean_log_p may fall at most this many nats per note below the Note RNN's own samples'.
MAX_LOG_P_DROP_NATS = 1.5
# A KL-targeted run's kl_to_note_rnn_per_note must lie within target x (1 +- this).
KL_TARGET_TOLERANCE = 0.2

MEAN_LOG_P = 'mean_log_p'
KL_TO_NOTE_RNN = 'kl_to_note_rnn_per_note'


def _undefined(value) -> bool:
  return value is None or not math.isfinite(float(value))


def _misses(value, bound: float, is_ceiling: bool) -> bool:
  return (value > bound) if is_ceiling else (value < bound)


def _shown(value: float, kind: str) -> str:
  return '%.3g %%' % (100 * value) if kind == 'percent' else '%.3g' % value


def collapse_warnings(entry: Mapping[str, float], *, is_note_rnn: bool) -> List[str]:
  """The goal's diversity and realism floors (and the repeated-motif ceiling) missed.

  Args:
    entry: one model's figures (metrics.json keys); a missing figure is not judged,
      an undefined one (None or NaN) is a miss.
    is_note_rnn: the untuned Note RNN is the reference and is never flagged.

  Returns:
    One line per figure missed, e.g. 'top_composition_share 1.7 % > 0.2 %'.
  """
  if is_note_rnn:
    return []
  out = []
  for name, bound, is_ceiling, kind in COLLAPSE:
    if name not in entry:
      continue
    value = entry[name]
    if _undefined(value):
      out.append('%s undefined' % name)
    elif _misses(value, bound, is_ceiling):
      out.append('%s %s %s %s' % (name, _shown(value, kind), '>' if is_ceiling else '<',
                                  _shown(bound, kind)))
  return out


def kl_target_range(target_kl_per_note: float) -> Tuple[float, float]:
  """The kl_to_note_rnn_per_note interval that holds a KL target."""
  return (target_kl_per_note * (1 - KL_TARGET_TOLERANCE),
          target_kl_per_note * (1 + KL_TARGET_TOLERANCE))


def criteria(target_kl_per_note: Optional[float] = None) -> Tuple[str, ...]:
  """The keys `failed_criteria` judges, in its order."""
  keys = tuple(c[0] for c in RULE_FIGURES + DIVERSITY_REALISM) + (MEAN_LOG_P,)
  return keys + ((KL_TO_NOTE_RNN,) if target_kl_per_note is not None else ())


def failed_criteria(entry: Mapping[str, float], *, note_rnn_mean_log_p: float,
                    target_kl_per_note: Optional[float] = None) -> List[str]:
  """The keys of the goal's criteria that a tuned model's figures miss.

  Args:
    entry: the model's metrics.json figures: the statistics, `mean_log_p`, and the
      figures against the Note RNN (`scoring.add_figures_vs_note_rnn`). A missing
      or undefined figure fails (e.g. no compositions to compare).
    note_rnn_mean_log_p: the untuned Note RNN's own `mean_log_p` on compositions
      drawn the same way.
    target_kl_per_note: the run's KL target (ppo, grpo), or None for no KL criterion.

  Returns:
    The failed keys in `criteria()` order; empty when the goal is met.
  """
  failed = []
  for name, bound, is_ceiling, _ in RULE_FIGURES + DIVERSITY_REALISM:
    value = entry.get(name)
    if _undefined(value) or _misses(value, bound, is_ceiling):
      failed.append(name)
  value = entry.get(MEAN_LOG_P)
  if _undefined(value) or value < note_rnn_mean_log_p - MAX_LOG_P_DROP_NATS:
    failed.append(MEAN_LOG_P)
  if target_kl_per_note is not None:
    low, high = kl_target_range(target_kl_per_note)
    value = entry.get(KL_TO_NOTE_RNN)
    if _undefined(value) or not low <= value <= high:
      failed.append(KL_TO_NOTE_RNN)
  return failed
