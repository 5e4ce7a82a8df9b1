"""The report's PNG plots (matplotlib, Agg). Only the report imports this module.

Training never depends on plotting (the original's plotting crashed its TF2 port,
magenta PR #1970), so matplotlib stays here.
"""

from typing import List, Mapping, Optional, Sequence, Tuple

import numpy as np

from pipelines import encoding

# Percent-valued rows of the table (autocorrelations are drawn apart).
FRACTION_ROWS = (
    ('notes_excessively_repeated', 'excessively\nrepeated'),
    ('notes_not_in_key', 'not in key'),
    ('leaps_resolved', 'leaps\nresolved'),
    ('starts_with_tonic', 'starts with\ntonic'),
    ('unique_max_note', 'unique\nmax note'),
    ('unique_min_note', 'unique\nmin note'),
    ('notes_in_motif', 'notes in\nmotif'),
    ('notes_in_repeated_motif', 'in repeated\nmotif'),
)
AUTOCORRELATION_ROWS = (('autocorrelation_lag1', 'lag 1'), ('autocorrelation_lag2', 'lag 2'),
                        ('autocorrelation_lag3', 'lag 3'))
STEPS_PER_BAR = 16  # 4/4 at 4 steps per quarter
# Pitch rows labelled on the heat map (MIDI pitches; 60 is middle C). The lowest pitch (48)
# is left unlabelled so that the note-off row's label beside it stays legible.
HEATMAP_PITCH_TICKS = (52, 60, 67, 72, 79)
REWARD_TAGS = (('reward/total', 'total'), ('reward/music_theory', 'music theory'),
               ('reward/log_p', 'log p (Note RNN)'))


def _text(label) -> str:
  """A run name as plain matplotlib text ('$' would start mathtext)."""
  return str(label).replace('$', r'\$')


def _pyplot():
  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use('Agg')
  import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
  return plt


def note_spans(notes: Sequence[int]) -> List[Tuple[int, int, int]]:
  """Encoded composition [T] -> [(start step, end step, MIDI pitch)] as Melody plays it.

  A pitch starts a note (ending the previous one), a hold (0) sustains it, a note-off
  (1) ends it.
  """
  spans, start, pitch = [], None, None
  for t, event in enumerate(np.asarray(notes).tolist()):
    if event == encoding.NO_EVENT_INDEX:
      continue
    if pitch is not None:
      spans.append((start, t, pitch))
      pitch = None
    if event != encoding.NOTE_OFF_INDEX:
      start, pitch = t, event + encoding.PITCH_INDEX_OFFSET
  if pitch is not None:
    spans.append((start, len(notes), pitch))
  return spans


def plot_reward_curves(curves: Mapping[str, Mapping[str, Tuple[np.ndarray, np.ndarray]]],
                       path: str) -> Optional[str]:
  """One panel per reward tag, a line per run. Returns the path, or None if no data."""
  tags = [(tag, label) for tag, label in REWARD_TAGS
          if any(tag in c and len(c[tag][0]) for c in curves.values())]
  if not tags:
    return None
  plt = _pyplot()
  fig, axes = plt.subplots(1, len(tags), figsize=(4.2 * len(tags), 3.2), squeeze=False)
  for ax, (tag, label) in zip(axes[0], tags):
    for run, series in curves.items():
      if tag in series and len(series[tag][0]):
        steps, values = series[tag]
        ax.plot(steps, values, label=_text(run), linewidth=1.2)
    ax.set_title(label)
    ax.set_xlabel('environment step')
    ax.grid(alpha=0.3)
  axes[0][0].set_ylabel('mean reward per note')
  axes[0][-1].legend(fontsize=8)
  fig.tight_layout()
  fig.savefig(path, dpi=90)
  plt.close(fig)
  return path


def plot_metric_bars(entries: Mapping[str, Mapping[str, float]],
                     paper: Mapping[str, Mapping[str, float]], path: str) -> str:
  """Grouped bars: each model of ours, then the paper's columns (hatched)."""
  plt = _pyplot()
  series = [(name, entry, False) for name, entry in entries.items()]
  series += [('paper ' + name, entry, True) for name, entry in paper.items()]
  fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 3.8),
                                 gridspec_kw=dict(width_ratios=[3, 1]))
  width = 0.8 / max(len(series), 1)
  for panel, rows, scale in ((ax1, FRACTION_ROWS, 100.0), (ax2, AUTOCORRELATION_ROWS, 1.0)):
    x = np.arange(len(rows))
    for i, (name, entry, is_paper) in enumerate(series):
      values = [entry.get(key) for key, _ in rows]
      heights = [scale * v if isinstance(v, (int, float)) and not isinstance(v, bool)
                 else np.nan for v in values]
      panel.bar(x + (i - (len(series) - 1) / 2) * width, heights, width, label=_text(name),
                hatch='//' if is_paper else None, alpha=0.55 if is_paper else 0.95)
    panel.set_xticks(x)
    panel.set_xticklabels([label for _, label in rows], fontsize=8)
    panel.grid(axis='y', alpha=0.3)
  ax1.set_ylabel('% of notes or compositions')
  ax2.set_ylabel('mean autocorrelation')
  ax2.axhline(0, color='black', linewidth=0.6)
  ax1.legend(fontsize=7, ncol=2)
  fig.tight_layout()
  fig.savefig(path, dpi=90)
  plt.close(fig)
  return path


def plot_piano_rolls(compositions: Mapping[str, np.ndarray], path: str) -> str:
  """A grid of piano rolls: one row per model, one column per sample composition.

  x is the step (a 16th note), y the MIDI pitch; the grey vertical lines are bar lines
  (every 16 steps, 4/4).
  """
  plt = _pyplot()
  names = list(compositions)
  cols = max(len(compositions[n]) for n in names)
  fig, axes = plt.subplots(len(names), cols, figsize=(2.9 * cols, 2.0 * len(names) + 0.4),
                           squeeze=False, sharey=True)
  for r, name in enumerate(names):
    for c in range(cols):
      ax = axes[r][c]
      if c < len(compositions[name]):
        row = compositions[name][c]
        for start, end, pitch in note_spans(row):
          ax.broken_barh([(start, end - start)], (pitch - 0.4, 0.8), facecolors='tab:blue')
        ax.set_xlim(0, len(row))
        for bar in range(0, len(row) + 1, STEPS_PER_BAR):
          ax.axvline(bar, color='grey', linewidth=0.6)
      ax.set_ylim(encoding.MIN_MIDI_PITCH - 1, encoding.MAX_MIDI_PITCH)
      ax.tick_params(labelsize=7)
      if r == 0:
        ax.set_title('sample %d' % (c + 1), fontsize=8)
      if c == 0:
        ax.set_ylabel('%s\nMIDI pitch' % _text(name), fontsize=8)
      if r == len(names) - 1:
        ax.set_xlabel('step (16th note)', fontsize=8)
  fig.suptitle('Piano rolls (grey lines: bar lines, every 16 steps)', fontsize=9)
  fig.tight_layout()
  fig.savefig(path, dpi=80)
  plt.close(fig)
  return path


def plot_probability_heatmaps(notes: np.ndarray, probabilities: Mapping[str, np.ndarray],
                              path: str, title: Optional[str] = None) -> str:
  """What each model wants to play next along one composition.

  Args:
    notes: int [T], the composition (the dots mark the note actually chosen).
    probabilities: model name -> float [T, 38], p(next | history) at every step.
    path: the PNG to write.
    title: the figure's title.
  """
  plt = _pyplot()
  names = list(probabilities)
  fig, axes = plt.subplots(1, len(names), figsize=(5.6 * len(names), 7.2), squeeze=False,
                           sharey=True)
  steps = np.arange(len(notes))
  image = None
  pitch_rows = [p - encoding.PITCH_INDEX_OFFSET for p in HEATMAP_PITCH_TICKS]
  for ax, name in zip(axes[0], names):
    image = ax.imshow(np.asarray(probabilities[name]).T, origin='lower', aspect='auto',
                      cmap='Reds', vmin=0.0, vmax=1.0, interpolation='nearest')
    ax.scatter(steps, notes, s=14, c='tab:blue', marker='o', edgecolors='white',
               linewidths=0.6, label='the event played at this step')
    ax.axhline(encoding.FIRST_PITCH_INDEX - 0.5, color='black', linewidth=0.6)
    ax.set_title(_text(name), fontsize=9)
    ax.set_xlabel('step (16th note)')
    ax.legend(loc='upper right', fontsize=7, framealpha=0.8)
  first = axes[0][0]
  first.set_yticks([encoding.NO_EVENT_INDEX, encoding.NOTE_OFF_INDEX] + pitch_rows)
  first.set_yticklabels(['hold', 'note off'] + ['pitch %d' % p for p in HEATMAP_PITCH_TICKS],
                        fontsize=8)
  first.set_ylabel('next event')
  if image is not None:
    fig.colorbar(image, ax=list(axes[0]), shrink=0.8, label='p(next event)')
  if title:
    fig.suptitle(_text(title), fontsize=10)
  fig.savefig(path, dpi=80)
  plt.close(fig)
  return path
