"""A sweep's trade-off: the table (markdown + JSON rows) and the plot, Pareto front marked.

Each row is one run: its algorithm, λ, target KL (ppo/grpo), the rule score (mean
unscaled corrected music-theory reward per note) and the evaluation's statistics and
diversity figures. The plot puts the rule score against `kl_to_note_rnn_per_note` (lower
is better) and against `distinct_8grams_ratio` (higher is better); a run is on the front
when no other run is at least as good on both axes and better on one.
"""

import json
import os
from typing import List, Mapping, Optional, Sequence

import numpy as np

from rl_tuner.report import markup
from rl_tuner.report import plots

SWEEP_JSON, SWEEP_MD, SWEEP_PNG = 'sweep.json', 'sweep.md', 'sweep.png'

COLUMNS = (
    ('name', 'run', 'text'), ('algorithm', 'algorithm', 'text'),
    ('reward_scaler', 'λ', 'plain'), ('target_kl_per_note', 'target KL', 'plain'),
    ('rule_score', 'rule score', 'signed'),
    ('kl_to_note_rnn_per_note', 'KL to Note RNN / note', 'plain'),
    ('distinct_8grams_ratio', 'distinct 8-grams ratio', 'plain'),
    ('js_note_lengths', 'JS note lengths', 'plain'),
    ('js_intervals', 'JS intervals', 'plain'),
    ('top_composition_share', 'top composition', 'percent'),
    ('notes_excessively_repeated', 'repeated', 'percent'),
    ('notes_in_motif', 'motif', 'percent'),
    ('starts_with_tonic', 'tonic start', 'percent'),
    ('notes_not_in_key', 'not in key', 'percent'),
    ('notes_in_repeated_motif', 'repeated motif', 'percent'),
    ('mean_log_p', 'mean log p', 'signed'),
    ('train_seconds', 'train s', 'int'),
)


def pareto_front(score: Sequence[float], other: Sequence[float], *,
                 other_higher_is_better: bool) -> np.ndarray:
  """bool [N]: rows no other row dominates (higher score; other per its direction).

  Rows with a missing (NaN) coordinate are never on the front.
  """
  s = np.asarray(score, np.float64)
  o = np.asarray(other, np.float64)
  if not other_higher_is_better:
    o = -o
  valid = np.isfinite(s) & np.isfinite(o)
  front = np.zeros(len(s), bool)
  for i in np.flatnonzero(valid):
    better_eq = valid & (s >= s[i]) & (o >= o[i])
    strictly = (s > s[i]) | (o > o[i])
    front[i] = not np.any(better_eq & strictly)
  return front


def _cell(value, kind: str) -> str:
  if value is None or (isinstance(value, float) and not np.isfinite(value)):
    return '–'
  if kind == 'text':
    return str(value).replace('|', '\\|')
  if kind == 'percent':
    return '%.2f%%' % (100.0 * value)
  if kind == 'signed':
    return '%+.3f' % value
  if kind == 'int':
    return '%d' % round(value)
  return '%.3g' % value


def markdown_table(rows: Sequence[Mapping], *, title: Optional[str] = None) -> str:
  """The rows as a markdown table; runs on the KL front are marked `*`, on the 8-gram `†`."""
  lines = [title, ''] if title else []
  lines.append('| ' + ' | '.join(label for _, label, _ in COLUMNS) + ' | front |')
  lines.append('|' + '|'.join('---' if kind == 'text' else '---:' for _, _, kind in COLUMNS)
               + '|---|')
  for row in rows:
    marks = ('*' if row.get('front_kl') else '') + ('†' if row.get('front_8grams') else '')
    lines.append('| ' + ' | '.join(_cell(row.get(k), kind) for k, _, kind in COLUMNS)
                 + ' | %s |' % marks)
  lines += ['', '`*` on the Pareto front of rule score vs KL to the Note RNN; `†` of rule '
            'score vs distinct 8-grams ratio.', '']
  return '\n'.join(lines)


def mark_fronts(rows: List[dict]) -> None:
  """Adds `front_kl` and `front_8grams` (bool) to each row."""
  score = [r.get('rule_score', np.nan) for r in rows]
  kl = [r.get('kl_to_note_rnn_per_note', np.nan) for r in rows]
  grams = [r.get('distinct_8grams_ratio', np.nan) for r in rows]
  for row, a, b in zip(rows, pareto_front(score, kl, other_higher_is_better=False),
                       pareto_front(score, grams, other_higher_is_better=True)):
    row['front_kl'], row['front_8grams'] = bool(a), bool(b)


def _panel(ax, rows, key: str, front_key: str, label: str) -> None:
  xs = np.array([r.get(key, np.nan) for r in rows], np.float64)
  ys = np.array([r.get('rule_score', np.nan) for r in rows], np.float64)
  algorithms = sorted({r['algorithm'] for r in rows})
  for algorithm in algorithms:
    pick = np.array([r['algorithm'] == algorithm for r in rows])
    ax.scatter(xs[pick], ys[pick], label=plots._text(algorithm), s=28)  # pylint: disable=protected-access
  for x, y, row in zip(xs, ys, rows):
    if np.isfinite(x) and np.isfinite(y):
      ax.annotate(plots._text(row['name']), (x, y), fontsize=6, xytext=(3, 3),  # pylint: disable=protected-access
                  textcoords='offset points')
  front = np.array([bool(r.get(front_key)) for r in rows])
  if front.any():
    order = np.argsort(xs[front])
    ax.plot(xs[front][order], ys[front][order], 'k--', lw=1, label='Pareto front')
    ax.scatter(xs[front], ys[front], s=90, facecolors='none', edgecolors='k')
  ax.set_xlabel(label)
  ax.set_ylabel('rule score (corrected R_MT per note)')
  ax.grid(alpha=0.3)


def plot_tradeoff(rows: Sequence[Mapping], path: str) -> str:
  """Two panels: rule score vs KL to the Note RNN, and vs the distinct 8-grams ratio."""
  plt = plots._pyplot()  # pylint: disable=protected-access
  fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
  _panel(axes[0], rows, 'kl_to_note_rnn_per_note', 'front_kl',
         'KL(π ‖ Note RNN) per note (nats, linear below 0.1, log above)')
  # RL-only runs sit at KL 2-3 nats; a linear axis would squeeze every tuned run into its
  # first tenth.
  axes[0].set_xscale('symlog', linthresh=0.1)
  _panel(axes[1], rows, 'distinct_8grams_ratio', 'front_8grams',
         'distinct 8-grams / Note RNN\'s')
  axes[0].legend(fontsize=7, loc='lower center')
  fig.tight_layout()
  fig.savefig(path, dpi=90)
  plt.close(fig)
  return path


def read_sweep(sweep_dir: str) -> dict:
  """``bin/sweep_rl_tuner``'s sweep.json: {'rows': [...], 'num_steps', ...}.

  Raises:
    ValueError: naming the file when it is missing, unreadable or has no rows.
  """
  path = os.path.join(sweep_dir, SWEEP_JSON)
  try:
    with open(path) as f:
      sweep = json.load(f)
  except (OSError, ValueError) as e:
    raise ValueError('%s: not a sweep of bin/sweep_rl_tuner (%s)' % (path, e)) from None
  if not isinstance(sweep, dict) or not isinstance(sweep.get('rows'), list) or not sweep['rows']:
    raise ValueError('%s: no rows' % path)
  return sweep


def html_section(sweep_dir: str, redraw_path: str) -> str:
  """The report's trade-off section: the sweep's plot and its table.

  A sweep dir without its plot gets it redrawn at ``redraw_path`` (in the report's own
  output dir: the report writes nothing beside its inputs).
  """
  sweep = read_sweep(sweep_dir)
  rows = sweep['rows']
  if not all('front_kl' in r for r in rows):
    mark_fronts(rows)
  png = os.path.join(sweep_dir, SWEEP_PNG)
  if not os.path.exists(png):
    png = plot_tradeoff(rows, redraw_path)
  head = ''.join('<th>%s</th>' % markup.esc(label) for _, label, _ in COLUMNS)
  body = ''.join(
      '<tr>%s<td>%s</td></tr>' % (
          ''.join('<td>%s</td>' % markup.esc(_cell(r.get(k), kind).replace('\\|', '|'))
                  for k, _, kind in COLUMNS),
          ('*' if r.get('front_kl') else '') + ('†' if r.get('front_8grams') else ''))
      for r in rows)
  return ('<h2>Trade-off sweep</h2><p>%s: %s env steps per run, %s compositions per '
          'evaluation. Rule score (mean unscaled corrected music-theory reward per note) '
          'against KL to the Note RNN and against the distinct 8-grams ratio; '
          '<code>*</code> / <code>†</code>: on the Pareto front of each.</p>'
          '<p><img src="%s" alt="trade-off plot"></p>'
          '<div style="overflow-x:auto"><table class="metrics"><tr>%s<th>front</th></tr>%s'
          '</table></div>'
          % (markup.esc(sweep_dir), markup.esc(sweep.get('num_steps', '?')),
             markup.esc(sweep.get('num_compositions', '?')),
             markup.data_uri(png, 'image/png'), head, body))
