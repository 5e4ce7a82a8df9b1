"""One model's evaluation entry (metrics.json, see rl_tuner/README.md) and the side-by-side table.

``evaluate_model`` generates compositions with a step model (a Note RNN or a tuned
policy), scores every note under the model's own prior Note RNN, and adds the
music-theory statistics of ``rl_tuner.music.statistics.composition_stats``. It is what
``bin/evaluate_rl_tuner`` runs per model and what the end of training calls.

``markdown_table`` lays several entries out next to the paper's Table 1.
"""

import math
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from rl_tuner.evaluate import sampling
from rl_tuner.policy import encodings
from rl_tuner.music import statistics
from rl_tuner.music import rules

# The statistics of the paper's Table 1, in its order, then the log-likelihood.
TABLE_ROWS = (
    ('notes_excessively_repeated', 'notes excessively repeated', 'percent'),
    ('notes_not_in_key', 'notes not in key', 'percent'),
    ('autocorrelation_lag1', 'mean autocorrelation, lag 1', 'signed'),
    ('autocorrelation_lag2', 'mean autocorrelation, lag 2', 'signed'),
    ('autocorrelation_lag3', 'mean autocorrelation, lag 3', 'signed'),
    ('leaps_resolved', 'leaps resolved', 'percent'),
    ('starts_with_tonic', 'compositions starting with tonic', 'percent'),
    ('unique_max_note', 'unique max note', 'percent'),
    ('unique_min_note', 'unique min note', 'percent'),
    ('notes_in_motif', 'notes in motif', 'percent'),
    ('notes_in_repeated_motif', 'notes in repeated motif', 'percent'),
    ('mean_log_p', 'mean log p(note) under the Note RNN (nats)', 'signed'),
)

# The paper's Table 1 (Magenta blog, 2016-11-09; 100,000 compositions per model,
# legacy semantics, sampled policy). Fractions, as metrics.json stores them.
PAPER_TABLE1 = {
    'Note RNN': dict(notes_excessively_repeated=0.633, notes_not_in_key=0.001,
                     autocorrelation_lag1=-0.16, autocorrelation_lag2=0.14,
                     autocorrelation_lag3=-0.13, leaps_resolved=0.772,
                     starts_with_tonic=0.009, unique_max_note=0.647,
                     unique_min_note=0.494, notes_in_motif=0.059,
                     notes_in_repeated_motif=0.00007),
    'Q': dict(notes_excessively_repeated=0.0, notes_not_in_key=0.010,
              autocorrelation_lag1=-0.11, autocorrelation_lag2=0.03,
              autocorrelation_lag3=0.03, leaps_resolved=0.911, starts_with_tonic=0.288,
              unique_max_note=0.564, unique_min_note=0.519, notes_in_motif=0.757,
              notes_in_repeated_motif=0.0011),
    'Ψ': dict(notes_excessively_repeated=0.0002, notes_not_in_key=0.006,
              autocorrelation_lag1=-0.10, autocorrelation_lag2=-0.01,
              autocorrelation_lag3=0.01, leaps_resolved=0.900, starts_with_tonic=0.287,
              unique_max_note=0.594, unique_min_note=0.583, notes_in_motif=0.738,
              notes_in_repeated_motif=0.0009),
    'G': dict(notes_excessively_repeated=0.0003, notes_not_in_key=0.287,
              autocorrelation_lag1=0.55, autocorrelation_lag2=0.31,
              autocorrelation_lag3=0.17, leaps_resolved=0.522, starts_with_tonic=0.0,
              unique_max_note=0.371, unique_min_note=0.565, notes_in_motif=0.693,
              notes_in_repeated_motif=0.0001),
}

NOTE_RNN_NAME = 'note_rnn'
RUN_KEY = '_run'


def evaluate_model(
    step_model, prior, *, num_compositions: int, key: Union[str, 'rules.Key'] = 'C',
    semantics: str = 'corrected', policy: str = 'sample', seed: int = 0,
    num_notes: int = 32, priming_mode: str = 'random_note',
    primers: Optional[np.ndarray] = None,
    batch_size: int = sampling.DEFAULT_BATCH_SIZE,
    settings: Optional[Mapping[str, Any]] = None,
    return_compositions: bool = False,
) -> Union[Dict[str, Any], Tuple[Dict[str, Any], np.ndarray, np.ndarray]]:
  """Generates, scores and measures one model's compositions.

  Args:
    step_model: a NoteRnn or a loaded tuned policy.
    prior: the Note RNN that ``mean_log_p`` is measured under (the model's own
      prior; for an untuned Note RNN, the model itself).
    num_compositions: N.
    key: a key name ('C', 'A_minor', ...) or a ``rules.Key``.
    semantics: 'corrected' or 'legacy' (statistics and the random priming note).
    policy: 'sample' (softmax at temperature 1, as the original evaluates) or 'greedy'.
    seed: seeds priming and sampling.
    num_notes: T.
    priming_mode: see ``sampling.generate_compositions``.
    primers: encoded primer events for the primer-based priming modes.
    batch_size: compositions per graph call.
    settings: the model's settings (``note_rnn_checkpoint``, ``algorithm``, ...) put
      first in the entry.
    return_compositions: also return (priming, notes).

  Returns:
    The metrics.json entry: the settings, then ``key``, ``num_notes``,
    ``priming_mode``, the statistics of ``statistics.composition_stats``, ``mean_log_p``
    and ``num_compositions``. With ``return_compositions``, (entry, priming [N] or
    [N, P], notes [N, T]), in the step model's classes.
  """
  key_obj = rules.parse_key(key) if isinstance(key, str) else key
  # The prior is stepped in the generation loop itself (one pass, same values as
  # sampling.score_log_p).
  priming, notes, log_p = sampling.generate_compositions(
      step_model, num_compositions, num_notes=num_notes, priming_mode=priming_mode,
      policy=policy, seed=seed, batch_size=batch_size, semantics=semantics,
      primers=primers, return_log_p=True, prior=prior)
  # Other configs than basic_rnn: the statistics read the decoded events' 38 indices.
  rule_notes = (notes if encodings.is_rule_layout(step_model) else
                encodings.events_to_rule_classes(
                    encodings.composition_events(step_model, priming, notes)))
  stats = statistics.composition_stats(rule_notes, key=key_obj, semantics=semantics)
  entry = dict(settings or {})
  entry.update(key=key_obj.name, num_notes=int(num_notes), priming_mode=priming_mode)
  entry.update(_jsonable(stats))
  entry['mean_log_p'] = float(np.mean(log_p, dtype=np.float64))
  entry['num_compositions'] = int(num_compositions)
  if return_compositions:
    return entry, priming, notes
  return entry


def _jsonable(value):
  """numpy scalars/arrays and NaN -> plain JSON values (NaN -> None)."""
  if isinstance(value, Mapping):
    return {str(k): _jsonable(v) for k, v in value.items()}
  if isinstance(value, (list, tuple)):
    return [_jsonable(v) for v in value]
  if isinstance(value, np.ndarray):
    return _jsonable(value.tolist())
  if isinstance(value, (np.integer,)):
    return int(value)
  if isinstance(value, (float, np.floating)):
    value = float(value)
    return None if math.isnan(value) else value
  return value


def format_value(value: Optional[float], kind: str) -> str:
  """One table cell: percentages for fractions, 3 decimals otherwise, '–' for null."""
  if value is None or (isinstance(value, float) and math.isnan(value)):
    return '–'
  if isinstance(value, bool) or not isinstance(value, (int, float)):
    return str(value)  # not a number (a hand-edited file): shown as it is
  if kind == 'percent':
    percent = 100.0 * value
    if percent != 0 and abs(percent) < 1:
      return '%.2g%%' % percent  # keep two significant digits of rare events
    return '%.1f%%' % percent
  return '%.3f' % value


def model_names(metrics_json: Mapping[str, Any]) -> Sequence[str]:
  """The model entries of a metrics.json dict, the Note RNN first."""
  names = [k for k in metrics_json if not k.startswith('_')]
  return sorted(names, key=lambda k: (k != NOTE_RNN_NAME, names.index(k)))


def _markdown_cell(text: str) -> str:
  """A run name as one Markdown cell (a '|' would split it)."""
  return str(text).replace('|', '\\|').replace('\n', ' ')


def markdown_table(metrics_json: Mapping[str, Any], *, with_paper: bool = True) -> str:
  """The side-by-side table: each model of one metrics.json, then the paper's numbers.

  Args:
    metrics_json: the dict written to metrics.json (``_run`` plus one entry per model).
    with_paper: append the paper's Note RNN, Q, Ψ and G columns.

  Returns:
    A Markdown table, preceded by a line naming the semantics and policy.
  """
  run = metrics_json.get(RUN_KEY, {})
  names = list(model_names(metrics_json))
  header = ['statistic'] + [_markdown_cell(n) for n in names]
  if with_paper:
    header += ['paper %s' % name for name in PAPER_TABLE1]
  lines = [
      'Semantics: **%s**, policy: **%s**, %s compositions per model, seed %s.'
      % (run.get('semantics', '?'), run.get('policy', '?'),
         '{:,}'.format(run['num_compositions']) if 'num_compositions' in run else '?',
         run.get('seed', '?')),
  ]
  if with_paper:
    lines.append('The paper\'s columns: 100,000 compositions, legacy semantics, sampled.')
  lines += ['', '| ' + ' | '.join(header) + ' |',
            '|' + '|'.join(['---'] + ['---:'] * (len(header) - 1)) + '|']
  for key, label, kind in TABLE_ROWS:
    cells = [label] + [format_value(metrics_json[n].get(key), kind) for n in names]
    if with_paper:
      cells += [format_value(PAPER_TABLE1[p].get(key), kind) for p in PAPER_TABLE1]
    lines.append('| ' + ' | '.join(cells) + ' |')
  return '\n'.join(lines) + '\n'
