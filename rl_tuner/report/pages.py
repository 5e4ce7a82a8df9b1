"""``bin/make_report``'s library side: report.html and the blind A/B page ab.html.

Inputs are tuned run dirs (config.json, TensorBoard events, policy/, their own
compositions/*.mid) and evaluation dirs of ``bin/evaluate_rl_tuner`` (metrics.json,
compositions.npz). Everything goes under ``output_dir``: the two pages, the PNGs, a
MIDI and a WAV per sample. Both pages are self-contained: the images, audio and
MIDI files are embedded as data URIs (the files beside them are the same bytes),
and there is no external script or style sheet.

Every string that comes from an input file (run names, file names, MIDI track
names, config values, metric names) is HTML-escaped where it is written.
"""

from pipelines.errors import FlagError
import dataclasses
import glob
import json
import os
import re
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from pipelines import encoding
from rl_tuner.evaluate import runs as runs_lib
from rl_tuner.evaluate import scoring
from rl_tuner.evaluate import sampling
from rl_tuner.evaluate import midi as midi_lib
from rl_tuner.report import ab_page
from rl_tuner.report import markup
from rl_tuner.report import plots
from rl_tuner.report import tables
from rl_tuner.report import tradeoff
from rl_tuner.policy import encodings
from rl_tuner.policy import layout
from rl_tuner.policy import priming as priming_lib

REPORT_HTML = 'report.html'
AB_HTML = 'ab.html'
CONFIG_ROWS = ('algorithm', 'num_steps', 'reward_mode', 'reward_scaler', 'semantics', 'key',
               'num_notes', 'priming_mode', 'exploration_mode', 'discount_rate',
               'note_rnn_checkpoint', 'seed', 'effective_reward_rules', 'reward_adds_log_p',
               'reward_rule_module', 'chord_progression')
SHIPPED_NOTE_RNN = 'shipped (rl_tuner_default)'


@dataclasses.dataclass
class ReportConfig:
  """Every setting of one ``bin/make_report`` call."""
  output_dir: str
  run_dirs: Sequence[str] = ()
  eval_dirs: Sequence[str] = ()
  note_rnn_checkpoint: Optional[str] = None  # None: the runs' prior, else the shipped model
  num_samples: int = 3
  num_ab_pairs: int = 8
  seed: int = 0
  render_audio: bool = True
  # Add the runs' (or evaluations') --chord_progression under each sample's melody.
  render_chords: bool = False
  # bin/sweep_rl_tuner output dirs whose trade-off table and plot the report shows.
  sweep_dirs: Sequence[str] = ()
  # The live page written beside the report (its file name), which the header links to.
  live_page: Optional[str] = None


@dataclasses.dataclass
class _Evaluation:
  path: str
  metrics: Dict[str, Any]
  compositions: Dict[str, np.ndarray]

  @property
  def semantics(self) -> str:
    return str(self.metrics.get(scoring.RUN_KEY, {}).get('semantics', 'unknown'))


@dataclasses.dataclass
class _Run:
  path: str
  name: str
  config: Dict[str, Any]


def _safe_file_part(name: str) -> str:
  return re.sub(r'[^A-Za-z0-9_.-]', '_', name)[:60] or 'model'


# ----------------------------------------------------------------------------- inputs

EVENTS_SUFFIX = '_events'


def read_evaluation(eval_dir: str) -> _Evaluation:
  """metrics.json (required) and compositions.npz (optional) of one evaluation dir."""
  path = os.path.join(eval_dir, layout.METRICS_JSON)
  if not os.path.isfile(path):
    raise FlagError('eval_dir', '%s has no metrics.json (run bin/evaluate_rl_tuner '
                      '--output_dir=%s first)' % (eval_dir, eval_dir))
  try:
    with open(path) as f:
      metrics = json.load(f)
  except (OSError, ValueError) as e:
    raise FlagError('eval_dir', '%s: unreadable JSON (%s)' % (path, e)) from None
  if not isinstance(metrics, dict) or not all(
      isinstance(v, dict) for v in metrics.values()):
    raise FlagError('eval_dir', '%s: not a metrics.json' % path)
  compositions = {}
  npz = os.path.join(eval_dir, layout.COMPOSITIONS_NPZ)
  if os.path.isfile(npz):
    try:
      with np.load(npz, allow_pickle=False) as data:
        compositions = {k: np.asarray(data[k]) for k in data.files}
    except (OSError, ValueError) as e:
      raise FlagError('eval_dir', '%s: unreadable (%s)' % (npz, e)) from None
    # '<model>_events' arrays hold melody events (rl_tuner.evaluate.runs.composition_arrays);
    # the pages play and plot the 38-class ones.
    events = {k: v for k, v in compositions.items() if k.endswith(EVENTS_SUFFIX)}
    compositions = {k: v for k, v in compositions.items() if k not in events}
    for name, array in events.items():
      if (array.ndim != 2 or not np.issubdtype(array.dtype, np.integer)
          or (array.size and (array.min() < -2 or array.max() > 127))):
        raise FlagError('eval_dir', '%s: array %r is not int [N, T] of melody events -2-127'
                        % (npz, name))
    for name, notes in compositions.items():
      if (notes.ndim != 2 or not np.issubdtype(notes.dtype, np.integer)
          or (notes.size and (notes.min() < 0 or notes.max() >= encoding.NUM_CLASSES))):
        raise FlagError('eval_dir', '%s: array %r is not int [N, T] of class indices 0-%d'
                          % (npz, name, encoding.NUM_CLASSES - 1))
  return _Evaluation(eval_dir, metrics, compositions)


def read_run(run_dir: str) -> _Run:
  config = layout.read_run_config(run_dir)
  return _Run(run_dir, os.path.basename(os.path.normpath(run_dir)), config)


def read_reward_curves(run_dir: str) -> Dict[str, Tuple[np.ndarray, np.ndarray]]:
  """The reward scalars (the `reward/*` tags) of a run's TensorBoard events."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  wanted = {tag for tag, _ in plots.REWARD_TAGS}
  points = {tag: {} for tag in wanted}
  files = sorted(glob.glob(os.path.join(run_dir, layout.TB_DIR, '**', 'events.out.tfevents*'),
                           recursive=True))
  for path in files:
    try:
      for record in tf.data.TFRecordDataset(path):
        event = tf.compat.v1.Event.FromString(record.numpy())
        for value in event.summary.value:
          if value.tag in wanted:
            if value.HasField('simple_value'):
              number = value.simple_value
            else:
              number = float(tf.make_ndarray(value.tensor))
            points[value.tag][int(event.step)] = number
    except Exception:  # pylint: disable=broad-except
      continue  # a damaged or half-written event file: keep what was read
  return {tag: (np.array(sorted(p)), np.array([p[s] for s in sorted(p)]))
          for tag, p in points.items() if p}


def _run_midi_files(run_dir: str) -> List[Tuple[str, List[str]]]:
  """The run's own compositions/*.mid with their track names."""
  out = []
  for path in sorted(glob.glob(os.path.join(run_dir, layout.COMPOSITIONS_DIR, '*.mid')))[:20]:
    names = []
    try:
      import pretty_midi  # pylint: disable=g-import-not-at-top
      names = [i.name for i in pretty_midi.PrettyMIDI(path).instruments if i.name]
    except Exception:  # pylint: disable=broad-except
      names = ['(unreadable MIDI)']
    out.append((path, names))
  return out


# ----------------------------------------------------------------------------- models

class _Models:
  """Loads the Note RNN and tuned policies lazily (only when samples or plots need them)."""

  def __init__(self, config: ReportConfig, runs: Sequence[_Run]):
    self._config, self._runs = config, {r.name: r for r in runs}
    self._cache = {}

  def note_rnn_checkpoint(self) -> Optional[str]:
    if self._config.note_rnn_checkpoint:
      return self._config.note_rnn_checkpoint
    for run in self._runs.values():
      value = run.config.get('note_rnn_checkpoint')
      if not layout.is_shipped(value):
        return value
    return None

  def note_rnn(self):
    if 'note_rnn' not in self._cache:
      import note_rnn  # pylint: disable=g-import-not-at-top
      self._cache['note_rnn'] = note_rnn.load(self.note_rnn_checkpoint())
    return self._cache['note_rnn']

  def step_model(self, name: str):
    if name == scoring.NOTE_RNN_NAME:
      return self.note_rnn()
    if name not in self._cache:
      from rl_tuner.policy import step_models  # pylint: disable=g-import-not-at-top
      self._cache[name] = step_models.load_policy(self._runs[name].path)
    return self._cache[name]

  def generation_kwargs(self, name: str) -> Dict[str, Any]:
    """A model's num_notes, priming and semantics (the Note RNN takes the first run's)."""
    run = self._runs.get(name) or next(iter(self._runs.values()), None)
    config = run.config if run else {}
    settings = dict(runs_lib.DEFAULT_SETTINGS)
    settings.update({k: config[k] for k in runs_lib.RUN_SETTINGS if k in config})
    return dict(num_notes=int(settings['num_notes']), priming_mode=settings['priming_mode'],
                primers=priming_lib.load_primers(settings),
                semantics=config.get('semantics', 'corrected'))


# ----------------------------------------------------------------------------- build

def build_report(config: ReportConfig, log: Callable[[str], None] = print) -> Dict[str, str]:
  """Writes report.html, ab.html and their files; returns {'report': path, 'ab': path}."""
  if not config.run_dirs and not config.eval_dirs:
    raise FlagError('run_dir', 'give at least one --run_dir or --eval_dir')
  evaluations = [read_evaluation(d) for d in config.eval_dirs]
  runs = [read_run(d) for d in config.run_dirs]
  os.makedirs(config.output_dir, exist_ok=True)
  models = _Models(config, runs)
  model_names = [scoring.NOTE_RNN_NAME] + [r.name for r in runs]
  for ev in evaluations:
    for name in scoring.model_names(ev.metrics):
      if name not in model_names:
        model_names.append(name)

  notes_by_model = _collect_compositions(config, evaluations, models, model_names, log)
  audio_problem = midi_lib.audio_available() if config.render_audio else 'audio disabled'
  if audio_problem:
    log('report: no audio: %s' % audio_problem)
  progression = _chord_progression(runs, evaluations) if config.render_chords else None
  samples = _write_samples(config, notes_by_model, audio_problem is None, log, progression)

  sections = [_header(config, evaluations, runs)]
  sections.append(tables.tables_section(evaluations))
  sections.append(_plots_section(config, evaluations, runs, models, notes_by_model, log))
  sections.append(_samples_section(samples, audio_problem, config.num_samples))
  sections.extend(
      tradeoff.html_section(d, os.path.join(config.output_dir, 'sweep_%d.png' % i))
      for i, d in enumerate(config.sweep_dirs))
  sections.append(_runs_section(runs))
  report_path = os.path.join(config.output_dir, REPORT_HTML)
  markup.write_page(report_path, 'RL Tuner report', ''.join(sections))
  ab_path = os.path.join(config.output_dir, AB_HTML)
  markup.write_page(ab_path, 'RL Tuner: blind A/B listening',
              ab_page.ab_body(samples, seed=config.seed, num_pairs=config.num_ab_pairs,
                                audio_problem=audio_problem), script=ab_page.AB_SCRIPT)
  log('report: wrote %s and %s' % (report_path, ab_path))
  return {'report': report_path, 'ab': ab_path}


def _collect_compositions(config, evaluations, models, model_names, log):
  """Sample compositions per model: the evaluation's own when saved, else freshly generated."""
  wanted = max(config.num_samples, config.num_ab_pairs)
  out = {}
  for name in model_names:
    for ev in evaluations:
      if name in ev.compositions and len(ev.compositions[name]):
        out[name] = ev.compositions[name][:wanted].astype(np.int32)
        break
    else:
      try:
        step_model = models.step_model(name)
        priming, notes = sampling.generate_compositions(
            step_model, wanted, seed=config.seed, **models.generation_kwargs(name))
        # The pages play and plot the 38-class arrays, as compositions.npz stores them
        # (the model's own classes decoded; none when a pitch leaves MIDI 48-83).
        arrays = runs_lib.composition_arrays(name, step_model, priming, notes)
        if name not in arrays:
          raise ValueError('pitches outside MIDI 48-83')
        out[name] = arrays[name]
      except Exception as e:  # pylint: disable=broad-except
        log('report: no samples of %s (%s: %s)' % (name, type(e).__name__, e))
  return out


def _chord_progression(runs, evaluations) -> str:
  """The progression of the first run (else evaluation) that has one.

  Raises:
    FlagError: none has one (--render_chords has nothing to render).
  """
  for run in runs:
    if run.config.get('chord_progression'):
      return run.config['chord_progression']
  for ev in evaluations:
    progression = ev.metrics.get(scoring.RUN_KEY, {}).get('chord_progression')
    if progression:
      return progression
  raise FlagError('render_chords', 'no --run_dir or --eval_dir has a chord progression '
                  '(train with --chord_progression)')


def _write_samples(config, notes_by_model, with_audio, log,
                   chord_progression: Optional[str] = None) -> Dict[str, List[markup.Sample]]:
  samples = {}
  for index_model, (name, notes) in enumerate(notes_by_model.items()):
    part = '%02d_%s' % (index_model, _safe_file_part(name))
    samples[name] = []
    for i, row in enumerate(notes):
      stem = os.path.join(config.output_dir, 'sample_%s_%02d' % (part, i))
      midi_lib.write_midi(row, stem + '.mid', chord_progression=chord_progression)
      wav = None
      if with_audio:
        try:
          wav = midi_lib.render_wav(stem + '.mid', stem + '.wav', sample_rate=16000)
        except midi_lib.AudioUnavailable as e:
          log('report: %s' % e)
      samples[name].append(markup.Sample(name, i, row, stem + '.mid', wav))
  return samples


# ----------------------------------------------------------------------------- HTML

def _header(config, evaluations, runs) -> str:
  parts = ['<h1>RL Tuner report</h1>',
           '<p class="note">Runs: %s. Evaluations: %s. The blind listening test is in '
           '<a href="%s">%s</a>.</p>' % (
               ', '.join('<code>%s</code>' % markup.esc(r.path) for r in runs) or 'none',
               ', '.join('<code>%s</code> (%s semantics)' % (markup.esc(e.path), markup.esc(e.semantics))
                         for e in evaluations) or 'none', AB_HTML, AB_HTML)]
  if config.live_page:
    parts.append('<p class="note">Play the models live in your browser (magenta.js): '
                 '<a href="%s">%s</a>.</p>' % (markup.esc(config.live_page),
                                               markup.esc(config.live_page)))
  for ev in evaluations:  # issue 13: a tuned model that misses a diversity or realism floor
    for name in scoring.model_names(ev.metrics):
      warnings = ev.metrics[name].get(scoring.COLLAPSE_WARNINGS)
      if warnings:
        parts.append('<p class="warning"><strong>Collapse warning, %s (%s semantics):</strong> '
                     '%s.</p>' % (markup.esc(name), markup.esc(ev.semantics),
                                  markup.esc('; '.join(warnings))))
  return '\n'.join(parts)



def _img(path: Optional[str], alt: str) -> str:
  if not path:
    return ''
  return '<p><img src="%s" alt="%s"></p>' % (markup.data_uri(path, 'image/png'), markup.esc(alt))


def _plots_section(config, evaluations, runs, models, notes_by_model, log) -> str:
  out_dir = config.output_dir
  parts = ['<h2>Plots</h2>']
  curves = {r.name: read_reward_curves(r.path) for r in runs}
  if runs:
    path = plots.plot_reward_curves(curves, os.path.join(out_dir, 'reward_curves.png'))
    parts.append('<h3>Rewards during training</h3>')
    parts.append(_img(path, 'reward curves') if path else
                 '<p class="note">No reward events in the runs\' tb/ folders.</p>')
  for i, ev in enumerate(evaluations):
    entries = {n: ev.metrics[n] for n in scoring.model_names(ev.metrics)}
    path = plots.plot_metric_bars(entries, scoring.PAPER_TABLE1,
                                         os.path.join(out_dir, 'metrics_%d.png' % i))
    parts.append('<h3>Metrics, %s semantics</h3>%s' % (markup.esc(ev.semantics),
                                                      _img(path, 'metric bars')))
  if notes_by_model:
    shown = {n: v[:config.num_samples] for n, v in notes_by_model.items()}
    path = plots.plot_piano_rolls(shown, os.path.join(out_dir, 'piano_rolls.png'))
    parts.append('<h3>Piano rolls</h3><p class="note">One row per model, one sample per '
                 'column: x is the step (a 16th note), y the MIDI pitch (60 = middle C); the '
                 'grey vertical lines are bar lines (every 16 steps, 4/4).</p>%s'
                 % _img(path, 'piano rolls'))
  for i, run in enumerate(runs):
    try:
      parts.append(_heat_map(config, models, run, i))
    except Exception as e:  # pylint: disable=broad-except
      log('report: no probability heat map for %s (%s: %s)' % (run.name, type(e).__name__, e))
  return '\n'.join(parts)


def _heat_map(config, models, run, index) -> str:
  """One composition of the tuned model, and what each model wanted at every step."""
  tuned, prior = models.step_model(run.name), models.note_rnn()
  priming, notes = sampling.generate_compositions(
      tuned, 1, seed=config.seed + 1, **models.generation_kwargs(run.name))
  # Other configs than basic_rnn: classes and distributions shown as the 38 decoded events.
  history = np.concatenate([np.reshape(priming[0], -1), notes[0]])
  probabilities = {
      name: encodings.rule_distributions(
          model, history, sampling.next_event_probabilities(model, priming[0], notes[0]))
      for name, model in (('Note RNN', prior), ('tuned (%s)' % run.name, tuned))}
  played = encodings.rule_classes(tuned, history[None])[0, -len(notes[0]):]
  path = plots.plot_probability_heatmaps(
      played, probabilities, os.path.join(config.output_dir, 'probabilities_%d.png' % index),
      title='p(next event) along one composition of %s' % run.name)
  return ('<h3>What each model wants to play next: %s</h3><p class="note">One composition '
          'of the tuned model. Each column is a step; its colour is the probability each '
          'model gives every next event: the two bottom rows are <i>hold</i> (keep the '
          'note sounding) and <i>note off</i>, the rows above them the pitches. The blue '
          'dots are the events actually played.</p>%s' % (
              markup.esc(run.name), _img(path, 'probability heat map')))


def _samples_section(samples, audio_problem, num_samples) -> str:
  parts = ['<h2>Listen</h2>',
           '<p class="note">80 qpm, piano, MIDI pitch = index + 46 (the original wrote them '
           '2 semitones high).</p>']
  if audio_problem:
    parts.append('<p class="note">No audio: %s. The MIDI files are below.</p>'
                 % markup.esc(audio_problem))
  for name, items in samples.items():
    parts.append('<h3>%s</h3>' % markup.esc(name))
    for sample in items[:num_samples]:
      parts.append('<div class="sample">%s<br>%s</div>' % (
          markup.audio_tag(sample), markup.midi_link(sample.midi_file, os.path.basename(sample.midi_file))))
  return '\n'.join(parts)


def _config_value(key: str, value: Any) -> Any:
  if key == 'note_rnn_checkpoint' and layout.is_shipped(value):
    return SHIPPED_NOTE_RNN
  return value


def _runs_section(runs) -> str:
  parts = []
  for run in runs:
    parts.append('<h2>Run %s</h2>' % markup.esc(run.name))
    rows = ''.join('<tr><td>%s</td><td>%s</td></tr>' % (
        markup.esc(k), markup.esc(_config_value(k, run.config[k])))
                   for k in CONFIG_ROWS if k in run.config)
    parts.append('<table class="config">%s</table>' % rows)
    midis = _run_midi_files(run.path)
    if midis:
      parts.append('<p>Samples written by the run:</p><ul>')
      for path, names in midis:
        parts.append('<li>%s %s</li>' % (
            markup.midi_link(path, os.path.basename(path)),
            ('<span class="note">tracks: %s</span>' % markup.esc(', '.join(names))) if names else ''))
      parts.append('</ul>')
  return '\n'.join(parts)
