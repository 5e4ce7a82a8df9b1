"""The time-to-quality bar (issue 7), shared by both sides of the bench.

Pure Python with no imports beyond the standard library, because the baseline
driver runs it inside `.venv-baseline`, which does not have this project
installed.

The bar is judged on 2,000 compositions of 32 notes in C major, scored with
`legacy` statistics and sampled from the policy (softmax of its logits). It
*holds* when two consecutive checks pass: one check has about +-1 point of noise
on the tonic figure, so a single pass is luck.

Besides the rule figures, a check must stay diverse: its most common composition
may occur at most `MAX_TOP_COMPOSITION_COUNT` times, and its distinct windows of 8
consecutive events must be at least `MIN_DISTINCT_8GRAMS_RATIO` times the untuned
Note RNN's on as many compositions drawn the same way (a model that plays one loop
can meet every rule figure).
"""

from typing import Mapping, Optional, Sequence

# (metric key, comparison, threshold): fractions, as `metrics.json` stores them.
BAR = (
    ('notes_not_in_key', '<=', 0.015),
    ('notes_excessively_repeated', '<=', 0.005),
    ('leaps_resolved', '>=', 0.86),
    ('notes_in_motif', '>=', 0.70),
    ('starts_with_tonic', '>=', 0.20),
)
BAR_KEYS = tuple(key for key, _, _ in BAR)

# Ours only: the policy's mean log p(a|s) under the Note RNN may fall at most
# this many nats per note below the Note RNN's own samples' mean log p.
MAX_LOG_P_DROP_NATS = 1.5

CONSECUTIVE_PASSES = 2
DEFAULT_NUM_COMPOSITIONS = 2000
MAX_TOP_COMPOSITION_COUNT = 5
MIN_DISTINCT_8GRAMS_RATIO = 0.5
NGRAM = 8
DIVERSITY_KEYS = ('top_composition_count', 'distinct_8grams')


def diversity_figures(compositions: Sequence[Sequence[int]]) -> dict:
  """`top_composition_count` and `distinct_8grams` of compositions (rows of event codes).

  Plain Python, so the original's driver computes them exactly as ours does. Any
  encoding works as long as both sides of a comparison use the same one.
  """
  counts = {}
  grams = set()
  for row in compositions:
    row = tuple(int(x) for x in row)
    counts[row] = counts.get(row, 0) + 1
    for i in range(len(row) - NGRAM + 1):
      grams.add(row[i:i + NGRAM])
  return {'top_composition_count': max(counts.values()) if counts else 0,
          'distinct_8grams': len(grams)}


def failed_criteria(figures: Mapping[str, Optional[float]],
                    note_rnn_log_p: Optional[float] = None,
                    note_rnn_distinct_8grams: Optional[int] = None) -> list:
  """Names the bar's criteria that `figures` misses.

  Args:
    figures: metric key -> fraction (the five `BAR_KEYS`), plus `mean_log_p`
      when `note_rnn_log_p` is given. A missing or None value fails (e.g.
      `leaps_resolved` with no leaps at all).
    note_rnn_log_p: the Note RNN's own mean log p per note; None skips the
      log-p criterion (the original does not report log p).
    note_rnn_distinct_8grams: the untuned Note RNN's `distinct_8grams` on as many
      compositions; with it, `figures` must hold `diversity_figures`' keys.

  Returns:
    The failed criteria's keys, in `BAR` order; empty when the check passes.
  """
  failed = []
  for key, op, threshold in BAR:
    value = figures.get(key)
    ok = value is not None and (value <= threshold if op == '<=' else value >= threshold)
    if not ok:
      failed.append(key)
  if note_rnn_log_p is not None:
    value = figures.get('mean_log_p')
    if value is None or value < note_rnn_log_p - MAX_LOG_P_DROP_NATS:
      failed.append('mean_log_p')
  if note_rnn_distinct_8grams is not None:
    top = figures.get('top_composition_count')
    if top is None or top > MAX_TOP_COMPOSITION_COUNT:
      failed.append('top_composition_count')
    grams = figures.get('distinct_8grams')
    if grams is None or grams < MIN_DISTINCT_8GRAMS_RATIO * note_rnn_distinct_8grams:
      failed.append('distinct_8grams')
  return failed


def time_to_quality(checks: Sequence[Mapping]) -> Optional[int]:
  """Index of the first check of `CONSECUTIVE_PASSES` consecutive passing ones.

  Args:
    checks: check records in order, each with a bool `passed`.

  Returns:
    The index into `checks`, or None when the bar never held.
  """
  run = 0
  for i, check in enumerate(checks):
    run = run + 1 if check['passed'] else 0
    if run == CONSECUTIVE_PASSES:
      return i - CONSECUTIVE_PASSES + 1
  return None


def closest_check(checks: Sequence[Mapping]) -> Optional[int]:
  """Index of the check that missed the fewest criteria (the latest on ties)."""
  if not checks:
    return None
  return min(range(len(checks)), key=lambda i: (len(checks[i]['failed']), -i))
