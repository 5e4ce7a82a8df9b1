"""One model's evaluation entry (metrics.json, see rl_tuner/README.md) and the side-by-side table.

``evaluate_model`` generates compositions with a step model (a Note RNN or a tuned
policy), scores every note under the model's own prior Note RNN, and adds the
music-theory statistics of ``rl_tuner.music.statistics.composition_stats``. It is what
``bin/evaluate_rl_tuner`` runs per model and what the end of training calls.

``markdown_table`` lays several entries out next to the paper's Table 1.
"""

import math
from typing import Any, Dict, FrozenSet, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from pipelines import encoding
from rl_tuner.evaluate import sampling
from rl_tuner.music import chords as chords_lib
from rl_tuner.music import diversity
from rl_tuner.music import goal
from rl_tuner.music import rule_api
from rl_tuner.policy import encodings
from rl_tuner.music import rules
from rl_tuner.music import statistics

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
    # What the rules do not measure (issue 13; rl_tuner/README.md).
    ('top_composition_share', 'most common composition', 'percent'),
    ('distinct_compositions', 'distinct compositions', 'percent'),
    ('distinct_4grams', 'distinct 4-event windows (first 5,000)', 'count'),
    ('distinct_8grams', 'distinct 8-event windows (first 5,000)', 'count'),
    ('distinct_8grams_ratio', 'distinct 8-event windows / the Note RNN\'s', 'signed'),
    ('js_note_lengths', 'JS distance to the Note RNN: note lengths', 'signed'),
    ('js_intervals', 'JS distance to the Note RNN: intervals', 'signed'),
    ('js_pitch_classes', 'JS distance to the Note RNN: pitch classes', 'signed'),
    ('entropy_per_note', 'entropy of the policy per note (nats)', 'signed'),
    ('kl_to_note_rnn_per_note', 'KL(policy ‖ Note RNN) per note (nats)', 'signed'),
)
COLLAPSE_WARNINGS = 'collapse_warnings'


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
    reward_rules: Optional[Mapping[str, float]] = None,
    chords: Optional[Sequence[FrozenSet[int]]] = None,
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
    reward_rules: {rule: weight} whose per-rule statistics go under ``rules``.
    chords: one pitch-class set per step (``--chord_progression``), or None.

  Returns:
    The metrics.json entry: the settings, then ``key``, ``num_notes``,
    ``priming_mode``, the statistics of ``statistics.composition_stats``, ``mean_log_p``,
    the figures of ``own_diversity_figures``, ``entropy_per_note``,
    ``kl_to_note_rnn_per_note`` and ``num_compositions`` (the figures relative to the
    Note RNN come from ``add_figures_vs_note_rnn``). With ``return_compositions``, (entry,
    priming [N] or [N, P], notes [N, T]), in the step model's classes.
  """
  key_obj = rules.parse_key(key) if isinstance(key, str) else key
  # The prior is stepped in the generation loop itself (one pass, same values as
  # sampling.score_log_p); the two per-step distributions are reduced batch by batch.
  sums = np.zeros(2)

  def accumulate(start, stop, policy_log_probs, prior_log_probs):
    del start, stop
    sums[0] += diversity.entropy_per_step(policy_log_probs).sum()
    sums[1] += diversity.kl_per_step(policy_log_probs, prior_log_probs).sum()

  priming, notes, log_p = sampling.generate_compositions(
      step_model, num_compositions, num_notes=num_notes, priming_mode=priming_mode,
      policy=policy, seed=seed, batch_size=batch_size, semantics=semantics,
      primers=primers, return_log_p=True, prior=prior, on_distributions=accumulate)
  # Other configs than basic_rnn: the statistics read the decoded events' 38 indices.
  rule_notes = rule_layout_notes(step_model, priming, notes)
  stats = statistics.composition_stats(rule_notes, key=key_obj, semantics=semantics)
  entry = dict(settings or {})
  entry.update(key=key_obj.name, num_notes=int(num_notes), priming_mode=priming_mode)
  entry.update(_jsonable(stats))
  entry['mean_log_p'] = float(np.mean(log_p, dtype=np.float64))
  entry.update(own_diversity_figures(rule_notes))
  entry['entropy_per_note'] = float(sums[0] / notes.size)
  entry['kl_to_note_rnn_per_note'] = float(sums[1] / notes.size)
  entry['num_compositions'] = int(num_compositions)
  # The rules' context sees the priming event only in the rules' own 38 classes.
  rule_priming = priming if encodings.is_rule_layout(step_model) else None
  entry.update(rule_entries(rule_notes, rule_priming, reward_rules, key=key_obj, semantics=semantics,
                            num_notes=num_notes, chords=chords))
  if return_compositions:
    return entry, priming, notes
  return entry


def rule_entries(notes: np.ndarray, priming: Optional[np.ndarray],
                 reward_rules: Optional[Mapping[str, float]], *, key, semantics: str,
                 num_notes: int, chords=None) -> Dict[str, Any]:
  """``rules`` {name: {mean_reward, nonzero_share}} and, with chords,
  ``chord_tones_on_strong_beats`` (struck notes on steps 0 and 8 that are chord tones)."""
  out = {}
  events = rule_api.events_from_indices(notes)
  if reward_rules:
    first = None
    if priming is not None:
      first = np.asarray(priming)
      first = first[:, -1] if first.ndim == 2 else first  # primer rows: o_0 is the last event
      first = rule_api.events_from_indices(first)
    context = rule_api.make_context(key=key, num_notes=num_notes, semantics=semantics,
                                    priming=first, chords=chords)
    out['rules'] = _jsonable(rule_api.rule_statistics(events, reward_rules, context))
  if chords is not None:
    out['chord_tones_on_strong_beats'] = chords_lib.strong_beat_chord_tone_share(events, chords)
  return out


def rule_table_rows(metrics_json: Mapping[str, Any]) -> List[Tuple[str, str, str]]:
  """(path, label, kind) rows of the per-rule statistics found in any entry."""
  names = []
  chords = False
  for entry in metrics_json.values():
    if not isinstance(entry, Mapping):
      continue
    chords = chords or 'chord_tones_on_strong_beats' in entry
    for name in entry.get('rules') or {}:
      if name not in names:
        names.append(name)
  rows = []
  if chords:
    rows.append(('chord_tones_on_strong_beats',
                 'struck notes on steps 0 and 8 that are chord tones', 'percent'))
  for name in names:
    rows.append(('rules/%s/mean_reward' % name, 'rule %s: mean reward per note' % name,
                 'signed'))
    rows.append(('rules/%s/nonzero_share' % name, 'rule %s: notes with non-zero reward'
                 % name, 'percent'))
  return rows


def entry_value(entry: Mapping[str, Any], path: str):
  """entry['a']['b'] for path 'a/b' (None when absent)."""
  value = entry
  for part in path.split('/'):
    if not isinstance(value, Mapping) or part not in value:
      return None
    value = value[part]
  return value


def all_table_rows(metrics_json: Mapping[str, Any]) -> List[Tuple[str, str, str]]:
  """Table 1's rows, then the harmony and per-rule rows of this metrics.json."""
  return list(TABLE_ROWS) + rule_table_rows(metrics_json)


def rule_layout_notes(step_model, priming, notes):
  """The compositions in the 38 classes the rules and statistics read (decoded events of
  another config, folded into MIDI 48-83 by octaves; basic_rnn's notes as they are)."""
  if encodings.is_rule_layout(step_model):
    return notes
  return encodings.events_to_rule_classes(encodings.composition_events(step_model, priming, notes))


def own_diversity_figures(notes: np.ndarray) -> Dict[str, float]:
  """The diversity figures of one model's compositions alone (issue 13)."""
  return dict(distinct_compositions=float(diversity.distinct_compositions(notes)),
              top_composition_share=float(diversity.top_composition_share(notes)),
              distinct_4grams=int(diversity.distinct_4grams(notes)),
              distinct_8grams=int(diversity.distinct_8grams(notes)))


def add_figures_vs_note_rnn(entry: Dict[str, Any], notes: np.ndarray,
                            note_rnn_entry: Mapping[str, Any], note_rnn_notes: np.ndarray,
                            *, is_note_rnn: bool) -> None:
  """Adds the figures against the untuned Note RNN and the collapse warnings to entry.

  ``distinct_8grams_ratio`` and the JS distances compare with the Note RNN's
  compositions of the same evaluation; ``collapse_warnings`` lists the goal's floors
  a tuned model misses (``goal.collapse_warnings``; never the Note RNN's).
  """
  events = encoding.index_to_event(notes)
  reference = encoding.index_to_event(note_rnn_notes)
  entry['distinct_8grams_ratio'] = _jsonable(diversity.distinct_8grams_ratio(
      entry['distinct_8grams'], note_rnn_entry['distinct_8grams']))
  entry['js_note_lengths'] = _jsonable(diversity.js_note_lengths(events, reference))
  entry['js_intervals'] = _jsonable(diversity.js_intervals(events, reference))
  entry['js_pitch_classes'] = _jsonable(diversity.js_pitch_classes(events, reference))
  entry[COLLAPSE_WARNINGS] = goal.collapse_warnings(entry, is_note_rnn=is_note_rnn)


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
  if kind == 'count':
    return '{:,}'.format(int(value))
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
  for name in names:
    warnings = metrics_json[name].get(COLLAPSE_WARNINGS)
    if warnings:
      lines.append('')
      lines.append('**Collapse warning, %s**: %s.' % (_markdown_cell(name), '; '.join(warnings)))
  lines += ['', '| ' + ' | '.join(header) + ' |',
            '|' + '|'.join(['---'] + ['---:'] * (len(header) - 1)) + '|']
  for key, label, kind in all_table_rows(metrics_json):
    cells = [label] + [format_value(entry_value(metrics_json[n], key), kind) for n in names]
    if with_paper:
      cells += [format_value(PAPER_TABLE1[p].get(key), kind) for p in PAPER_TABLE1]
    lines.append('| ' + ' | '.join(cells) + ' |')
  return '\n'.join(lines) + '\n'
