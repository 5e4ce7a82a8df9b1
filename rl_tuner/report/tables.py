"""The report's metric tables as HTML: one evaluation, legacy beside corrected, the event mix.

Cells format values as the printed table does (`rl_tuner.evaluate.scoring.format_value`);
every string from an input file is escaped.
"""

from typing import Any, Mapping, Sequence

import numpy as np

from pipelines import encoding
from rl_tuner.evaluate import scoring
from rl_tuner.report import markup

# Which way each statistic of the table is better (the music-theory rules' aims; log p: the
# Note RNN finds the notes likely, i.e. they stay close to the training data).
BETTER = {
    'notes_excessively_repeated': 'lower', 'notes_not_in_key': 'lower',
    'autocorrelation_lag1': 'nearer 0', 'autocorrelation_lag2': 'nearer 0',
    'autocorrelation_lag3': 'nearer 0', 'leaps_resolved': 'higher',
    'starts_with_tonic': 'higher', 'unique_max_note': 'higher', 'unique_min_note': 'higher',
    'notes_in_motif': 'higher', 'notes_in_repeated_motif': 'higher', 'mean_log_p': 'higher',
}


def _thousands(value) -> str:
  return '{:,}'.format(value) if isinstance(value, int) else str(value)


def _cell(value, kind) -> str:
  return markup.esc(scoring.format_value(value, kind))


def _better_cell(key: str) -> str:
  return '<td class="better">%s</td>' % markup.esc(BETTER.get(key, ''))


def _run_caption(metrics: Mapping[str, Any]) -> str:
  run = metrics.get(scoring.RUN_KEY, {})
  return 'policy: <b>%s</b>, %s compositions per model, seed %s' % (
      markup.esc(run.get('policy', 'unknown')),
      markup.esc(_thousands(run.get('num_compositions', '?'))), markup.esc(run.get('seed', '?')))


def metrics_table_html(metrics: Mapping[str, Any], *, with_paper: bool = True) -> str:
  """One evaluation's table: its models, then the paper's columns."""
  run = metrics.get(scoring.RUN_KEY, {})
  names = list(scoring.model_names(metrics))
  head = '<th>better</th>' + ''.join('<th>%s</th>' % markup.esc(n) for n in names)
  if with_paper:
    head += ''.join('<th class="paper">paper %s</th>' % markup.esc(p)
                    for p in scoring.PAPER_TABLE1)
  rows = []
  for key, label, kind in scoring.all_table_rows(metrics):
    cells = _better_cell(key) + ''.join(
        '<td>%s</td>' % _cell(scoring.entry_value(metrics[n], key), kind) for n in names)
    if with_paper:
      cells += ''.join('<td class="paper">%s</td>' % _cell(p.get(key), kind)
                       for p in scoring.PAPER_TABLE1.values())
    rows.append('<tr><td>%s</td>%s</tr>' % (markup.esc(label), cells))
  caption = 'Semantics: <b>%s</b>, %s.' % (markup.esc(run.get('semantics', 'unknown')),
                                             _run_caption(metrics))
  return ('<p>%s</p><table class="metrics"><tr><th>statistic</th>%s</tr>%s</table>'
          % (caption, head, ''.join(rows)))


def semantics_side_by_side_html(evaluations: Sequence[Any]) -> str:
  """Each model under each semantics, next to the paper (which used legacy)."""
  columns = []
  for ev in evaluations:
    for name in scoring.model_names(ev.metrics):
      columns.append(('%s (%s)' % (name, ev.semantics), ev.metrics[name]))
  head = '<th>better</th>' + ''.join('<th>%s</th>' % markup.esc(c) for c, _ in columns)
  head += ''.join('<th class="paper">paper %s (legacy)</th>' % markup.esc(p)
                  for p in scoring.PAPER_TABLE1)
  rows = []
  for key, label, kind in scoring.TABLE_ROWS:
    cells = _better_cell(key) + ''.join('<td>%s</td>' % _cell(entry.get(key), kind)
                                        for _, entry in columns)
    cells += ''.join('<td class="paper">%s</td>' % _cell(p.get(key), kind)
                     for p in scoring.PAPER_TABLE1.values())
    rows.append('<tr><td>%s</td>%s</tr>' % (markup.esc(label), cells))
  return ('<table class="metrics side-by-side"><tr><th>statistic</th>%s</tr>%s</table>'
          % (head, ''.join(rows)))


def tables_section(evaluations) -> str:
  if not evaluations:
    return ('<h2>Metrics</h2><p class="note">No evaluation given (--eval_dir); run '
            '<code>bin/evaluate_rl_tuner</code> for the paper\'s table.</p>')
  parts = ['<h2>Metrics</h2>',
           '<p class="note">The paper\'s columns are its Table 1: 100,000 compositions per '
           'model, legacy semantics, sampled policy. <code>corrected</code> statistics follow '
           'the fixed definitions (rl_tuner/README.md), so compare them with the paper only '
           'in spirit. The <i>better</i> column says which way each statistic improves.</p>']
  if len({ev.semantics for ev in evaluations}) > 1:
    # One table holds every semantics; each on its own as well would repeat it.
    parts.append('<h3>Legacy next to corrected</h3>')
    parts.append('<p class="note">%s.</p>' % '; '.join(
        '%s semantics: <code>%s</code>, %s' % (markup.esc(ev.semantics), markup.esc(ev.path),
                                              _run_caption(ev.metrics))
        for ev in evaluations))
    parts.append(semantics_side_by_side_html(evaluations))
  else:
    for ev in evaluations:
      parts.append('<h3>%s semantics <span class="note">(%s)</span></h3>'
                   % (markup.esc(ev.semantics), markup.esc(ev.path)))
      parts.append(metrics_table_html(ev.metrics))
  saved = next((ev.compositions for ev in evaluations if ev.compositions), None)
  if saved:
    parts.append('<h3>What the compositions are made of</h3>')
    parts.append(event_mix_table_html(saved))
  return '\n'.join(parts)


def event_mix_table_html(compositions: Mapping[str, np.ndarray]) -> str:
  """Holds, note-offs and struck pitches per model (a policy that only holds shows here)."""
  rows = []
  for name, notes in compositions.items():
    notes = np.asarray(notes)
    if not notes.size:
      continue
    rows.append('<tr><td>%s</td><td>%.1f%%</td><td>%.1f%%</td><td>%.2f</td><td>%s</td></tr>' % (
        markup.esc(name), 100.0 * np.mean(notes == encoding.NO_EVENT_INDEX),
        100.0 * np.mean(notes == encoding.NOTE_OFF_INDEX),
        np.mean(np.sum(notes >= encoding.FIRST_PITCH_INDEX, axis=1)),
        markup.esc('{:,}'.format(len(notes)))))
  return ('<table class="mix"><tr><th>model</th><th>holds</th><th>note-offs</th>'
          '<th>pitches struck per composition</th><th>compositions</th></tr>%s</table>'
          % ''.join(rows))

