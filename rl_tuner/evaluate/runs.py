"""``bin/evaluate_rl_tuner``'s library side: resolve models, evaluate, write the files.

Who decides what (``interfaces.md`` §5): a tuned run's key, ``num_notes``, priming
and prior Note RNN come from its ``config.json``; an explicit flag that disagrees
is an error naming the flag and the run. ``semantics``, ``policy``,
``num_compositions`` and ``seed`` are the evaluator's own. The ``note_rnn`` entry
(the untuned model, always evaluated) takes the explicit flags, else the tuned
runs' common settings, else the defaults, so it is measured exactly as the tuned
models are.
"""

import dataclasses
import json
import os
import time
from typing import Any, Callable, Dict, List, Optional, Sequence

import numpy as np

from pipelines import encoding
from rl_tuner.evaluate import scoring
from rl_tuner.evaluate import sampling

SHIPPED = 'shipped'
RANDOM_MIDI_PRIMER_STEPS = 16
PRIMING_MODES = ('random_note', 'single_midi', 'random_midi', 'primer_melody')
METRICS_JSON = 'metrics.json'
METRICS_MD = 'metrics.md'
COMPOSITIONS_NPZ = 'compositions.npz'
# The run settings a tuned run's config.json decides (interfaces.md §5).
RUN_SETTINGS = ('key', 'num_notes', 'priming_mode', 'midi_primer', 'training_file_list',
                'primer_melody', 'note_rnn_checkpoint')
DEFAULT_SETTINGS = dict(key='C', num_notes=32, priming_mode='random_note', midi_primer=None,
                        training_file_list=None, primer_melody=None,
                        note_rnn_checkpoint=None)


class SettingsError(ValueError):
  """A flag that disagrees with a run's config.json, or a bad run dir.

  Attributes:
    flag: the flag to name in the one-line error.
  """

  def __init__(self, flag: str, message: str):
    super().__init__(message)
    self.flag = flag


@dataclasses.dataclass
class EvaluationConfig:
  """Every setting of one ``bin/evaluate_rl_tuner`` call.

  ``explicit`` holds only the run settings (``RUN_SETTINGS``) the user gave; the
  others come from the runs or ``DEFAULT_SETTINGS``.
  """
  output_dir: str
  run_dirs: Sequence[str] = ()
  explicit: Dict[str, Any] = dataclasses.field(default_factory=dict)
  semantics: str = 'corrected'
  policy: str = 'sample'
  num_compositions: int = 100000
  seed: int = 1
  save_compositions: bool = False
  batch_size: int = sampling.DEFAULT_BATCH_SIZE


@dataclasses.dataclass
class ModelSpec:
  """One model to evaluate: its metrics.json name, settings and where it lives."""
  name: str
  settings: Dict[str, Any]
  run_dir: Optional[str] = None  # None: the untuned Note RNN
  algorithm: Optional[str] = None


def read_run_config(run_dir: str) -> Dict[str, Any]:
  """A tuned run's config.json as a dict (``SettingsError`` naming the run otherwise)."""
  path = os.path.join(run_dir, 'config.json')
  if not os.path.isdir(run_dir):
    raise SettingsError('run_dir', 'no such run directory: %s' % run_dir)
  if not os.path.isfile(path):
    raise SettingsError('run_dir', '%s has no config.json: not an RL Tuner run dir' % run_dir)
  try:
    with open(path) as f:
      config = json.load(f)
  except (OSError, ValueError) as e:
    raise SettingsError('run_dir', '%s: unreadable config.json (%s)' % (path, e)) from None
  if not isinstance(config, dict):
    raise SettingsError('run_dir', '%s: config.json is not a JSON object' % path)
  return config


def _canonical_checkpoint(value: Optional[str]) -> Optional[str]:
  """None / 'shipped' -> None (the shipped model); a path -> its real path."""
  if value in (None, '', SHIPPED):
    return None
  return os.path.realpath(os.path.expanduser(value))


def _same_setting(name: str, a: Any, b: Any) -> bool:
  if name == 'note_rnn_checkpoint':
    return _canonical_checkpoint(a) == _canonical_checkpoint(b)
  if name in ('midi_primer', 'training_file_list'):
    return (a is None and b is None) or (
        a is not None and b is not None and os.path.realpath(a) == os.path.realpath(b))
  if name == 'primer_melody':
    return list(a or []) == list(b or [])
  return a == b


def _run_settings(run_dir: str, config: Dict[str, Any]) -> Dict[str, Any]:
  settings = dict(DEFAULT_SETTINGS)
  for name in RUN_SETTINGS:
    if name in config:
      settings[name] = config[name]
  if settings['note_rnn_checkpoint'] == SHIPPED:
    settings['note_rnn_checkpoint'] = None
  return settings


def resolve_models(config: EvaluationConfig) -> List[ModelSpec]:
  """The Note RNN entry and one entry per tuned run, with their settings.

  Raises:
    SettingsError: an explicit flag disagrees with a run's config.json, two runs
      disagree (so no single Note RNN column fits both), or two runs share a name.
  """
  runs = []
  names = {scoring.NOTE_RNN_NAME: None}
  for run_dir in config.run_dirs:
    run_config = read_run_config(run_dir)
    settings = _run_settings(run_dir, run_config)
    for flag, value in config.explicit.items():
      if not _same_setting(flag, value, settings[flag]):
        raise SettingsError(flag, '--%s=%s disagrees with run %s, whose config.json has %s=%s '
                            '(a tuned run\'s settings come from its config.json)'
                            % (flag, _show(value), run_dir, flag, _show(settings[flag])))
    _check_run_settings(run_dir, settings)
    name = os.path.basename(os.path.normpath(run_dir))
    if name in names:
      raise SettingsError('run_dir', 'two models would both be named %r (%s and %s); '
                          'rename one run directory' % (name, names[name] or 'the Note RNN',
                                                        run_dir))
    names[name] = run_dir
    runs.append(ModelSpec(name=name, settings=settings, run_dir=run_dir,
                          algorithm=run_config.get('algorithm')))
  base = dict(DEFAULT_SETTINGS)
  if runs:
    first = runs[0]
    for other in runs[1:]:
      for setting in RUN_SETTINGS:
        if not _same_setting(setting, first.settings[setting], other.settings[setting]):
          raise SettingsError('run_dir', 'runs %s and %s differ in %s (%s vs %s), so one Note '
                              'RNN column cannot fit both; evaluate them separately'
                              % (first.run_dir, other.run_dir, setting,
                                 _show(first.settings[setting]),
                                 _show(other.settings[setting])))
    base.update(first.settings)
  base.update(config.explicit)
  return [ModelSpec(name=scoring.NOTE_RNN_NAME, settings=base)] + runs


def _check_run_settings(run_dir: str, settings: Dict[str, Any]) -> None:
  """A run's config.json values that evaluation uses, checked (a hand-edited file)."""
  from rl_tuner.music import rules  # pylint: disable=g-import-not-at-top
  where = os.path.join(run_dir, 'config.json')
  num_notes = settings['num_notes']
  if isinstance(num_notes, bool) or not isinstance(num_notes, int) or not 1 <= num_notes <= 512:
    raise SettingsError('run_dir', '%s: num_notes must be an int in [1, 512], got %r'
                        % (where, num_notes))
  try:
    rules.parse_key(str(settings['key']))
  except ValueError as e:
    raise SettingsError('run_dir', '%s: %s' % (where, e)) from None
  if settings['priming_mode'] not in PRIMING_MODES:
    raise SettingsError('run_dir', '%s: priming_mode must be one of %s, got %r'
                        % (where, ', '.join(PRIMING_MODES), settings['priming_mode']))


def _show(value: Any) -> str:
  return SHIPPED if value is None else str(value)


def load_primers(settings: Dict[str, Any]) -> Optional[np.ndarray]:
  """Encoded primer events for the primer-based priming modes (None for random_note).

  Returns:
    int32 [P] (single_midi, primer_melody) or [M, 16] (random_midi: the first
    16 steps of each training melody long enough).
  """
  mode = settings['priming_mode']
  if mode == 'random_note':
    return None
  if mode == 'primer_melody':
    events = settings.get('primer_melody')
    if not events:
      raise SettingsError('primer_melody', 'is required with --priming_mode=primer_melody')
    try:
      return encoding.event_to_index(np.asarray(events)).astype(np.int32)
    except ValueError as e:
      raise SettingsError('primer_melody', str(e)) from None
  if mode == 'single_midi':
    return _midi_primer(settings.get('midi_primer'))
  if mode == 'random_midi':
    return _training_primers(settings.get('training_file_list'))
  raise SettingsError('priming_mode', 'unknown priming mode %r' % mode)


def _midi_primer(path: Optional[str]) -> np.ndarray:
  """The first melody of a MIDI file, unsquashed (its pitches must lie in 48-83)."""
  import note_seq  # pylint: disable=g-import-not-at-top
  from pipelines import limits  # pylint: disable=g-import-not-at-top
  from pipelines import melody_extraction  # pylint: disable=g-import-not-at-top
  if not path or not os.path.isfile(path):
    raise SettingsError('midi_primer', 'no such file: %s' % path)
  try:
    limits.check_file_size(path, limits.DEFAULT_MAX_FILE_BYTES)
    with open(path, 'rb') as f:
      data = f.read()
    limits.check_midi_ticks(data, path)
    sequence = note_seq.midi_to_note_sequence(data)
    quantized = note_seq.quantize_note_sequence(sequence, encoding.STEPS_PER_QUARTER)
    melodies, _ = melody_extraction.extract_melodies(
        quantized, min_bars=0, min_unique_pitches=1, gap_bars=float('inf'),
        ignore_polyphonic_notes=True)
  except Exception as e:  # pylint: disable=broad-except
    raise SettingsError('midi_primer', '%s: not a usable MIDI primer (%s)' % (
        path, str(e).splitlines()[0] if str(e) else type(e).__name__)) from None
  if not melodies:
    raise SettingsError('midi_primer', '%s: no melody found' % path)
  events = np.asarray(list(melodies[0]), np.int64)
  bad = events[(events >= 0) & ((events < encoding.MIN_MIDI_PITCH)
                                | (events >= encoding.MAX_MIDI_PITCH))]
  if bad.size:
    raise SettingsError('midi_primer', '%s: pitch %d is outside %d-%d' % (
        path, bad[0], encoding.MIN_MIDI_PITCH, encoding.MAX_MIDI_PITCH - 1))
  return encoding.event_to_index(events).astype(np.int32)


def _training_primers(path: Optional[str]) -> np.ndarray:
  """The first 16 steps of each melody of a SequenceExample TFRecord."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  if not path or not os.path.isfile(path):
    raise SettingsError('training_file_list', 'no such file: %s' % path)
  rows = []
  try:
    for record in tf.data.TFRecordDataset(path).take(100000):
      example = tf.train.SequenceExample.FromString(record.numpy())
      inputs = example.feature_lists.feature_list['inputs'].feature
      if len(inputs) < RANDOM_MIDI_PRIMER_STEPS:
        continue
      rows.append([int(np.argmax(f.float_list.value))
                   for f in inputs[:RANDOM_MIDI_PRIMER_STEPS]])
  except Exception as e:  # pylint: disable=broad-except
    raise SettingsError('training_file_list', '%s: not a SequenceExample TFRecord (%s)'
                        % (path, str(e).splitlines()[0])) from None
  if not rows:
    raise SettingsError('training_file_list', '%s: no melody of %d steps or more'
                        % (path, RANDOM_MIDI_PRIMER_STEPS))
  return np.asarray(rows, np.int32)


class _ModelCache:
  """Loads each Note RNN once, so a run's prior and the Note RNN column share it."""

  def __init__(self):
    self._note_rnns = {}

  def note_rnn(self, checkpoint: Optional[str]):
    import note_rnn  # pylint: disable=g-import-not-at-top
    key = _canonical_checkpoint(checkpoint)
    if key not in self._note_rnns:
      try:
        self._note_rnns[key] = note_rnn.load(key)
      except (OSError, ValueError) as e:
        raise SettingsError('note_rnn_checkpoint', 'cannot load the Note RNN (%s): %s'
                            % (_show(key), e)) from None
    return self._note_rnns[key]

  def policy(self, run_dir: str):
    from rl_tuner.policy import saved_policy  # pylint: disable=g-import-not-at-top
    try:
      return saved_policy.load_policy(run_dir)
    except (OSError, ValueError) as e:
      raise SettingsError('run_dir', 'cannot load the policy of run %s: %s'
                          % (run_dir, e)) from None


def run_evaluation(config: EvaluationConfig,
                   log: Callable[[str], None] = print) -> Dict[str, Any]:
  """Evaluates every model and writes metrics.json, metrics.md (and compositions.npz).

  Returns:
    The metrics.json dict.
  """
  models = resolve_models(config)
  primers = {m.name: load_primers(m.settings) for m in models}
  cache = _ModelCache()
  result = {scoring.RUN_KEY: dict(semantics=config.semantics, policy=config.policy,
                                     num_compositions=config.num_compositions,
                                     seed=config.seed)}
  compositions = {}
  for spec in models:
    start = time.perf_counter()
    prior = cache.note_rnn(spec.settings['note_rnn_checkpoint'])
    if spec.run_dir is None:
      step_model = prior
    else:
      step_model = cache.policy(spec.run_dir)
    model_settings = dict(note_rnn_checkpoint=_show(spec.settings['note_rnn_checkpoint']),
                          algorithm=spec.algorithm)
    if spec.run_dir is not None:
      model_settings['run_dir'] = spec.run_dir
    entry, _, notes = scoring.evaluate_model(
        step_model, prior, num_compositions=config.num_compositions,
        key=spec.settings['key'], semantics=config.semantics, policy=config.policy,
        seed=config.seed, num_notes=int(spec.settings['num_notes']),
        priming_mode=spec.settings['priming_mode'], primers=primers[spec.name],
        batch_size=config.batch_size, settings=model_settings, return_compositions=True)
    result[spec.name] = entry
    if config.save_compositions:
      compositions[spec.name] = notes
    log('%s: %d compositions in %.1f s' % (spec.name, config.num_compositions,
                                           time.perf_counter() - start))
  write_outputs(config.output_dir, result, compositions if config.save_compositions else None)
  return result


def write_outputs(output_dir: str, result: Dict[str, Any],
                  compositions: Optional[Dict[str, np.ndarray]]) -> None:
  """metrics.json, metrics.md and (optionally) compositions.npz, each written atomically."""
  os.makedirs(output_dir, exist_ok=True)
  _write_atomic(os.path.join(output_dir, METRICS_JSON),
                json.dumps(result, indent=2, sort_keys=False) + '\n')
  _write_atomic(os.path.join(output_dir, METRICS_MD), scoring.markdown_table(result))
  if compositions is not None:
    path = os.path.join(output_dir, COMPOSITIONS_NPZ)
    tmp = path + '.tmp.npz'
    np.savez_compressed(tmp, **{k: np.asarray(v, np.int32) for k, v in compositions.items()})
    os.replace(tmp, path)


def _write_atomic(path: str, text: str) -> None:
  tmp = path + '.tmp'
  with open(tmp, 'w') as f:
    f.write(text)
  os.replace(tmp, path)
