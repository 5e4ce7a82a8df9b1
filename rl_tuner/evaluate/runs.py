"""``bin/evaluate_rl_tuner``'s library side: resolve models, evaluate, write the files.

Who decides what (rl_tuner/README.md, "Evaluation"): a tuned run's key, ``num_notes``, priming
and prior Note RNN come from its ``config.json``; an explicit flag that disagrees
is an error naming the flag and the run. ``semantics``, ``policy``,
``num_compositions`` and ``seed`` are the evaluator's own. The ``note_rnn`` entry
(the untuned model, always evaluated) takes the explicit flags, else the tuned
runs' common settings, else the defaults, so it is measured exactly as the tuned
models are.
"""

from pipelines.errors import FlagError
import dataclasses
import os
import time
from typing import Any, Callable, Dict, List, Optional, Sequence

import numpy as np

from pipelines import encoding
from pipelines import files
from rl_tuner.evaluate import scoring
from rl_tuner.music import diversity
from rl_tuner.evaluate import sampling
from rl_tuner.policy import encodings
from rl_tuner.policy import layout
from rl_tuner.policy import priming as priming_lib

# The run settings a tuned run's config.json decides (see rl_tuner/README.md).
RUN_SETTINGS = ('key', 'num_notes', 'priming_mode', 'midi_primer', 'training_file_list',
                'primer_melody', 'note_rnn_checkpoint', 'chord_progression')
DEFAULT_SETTINGS = dict(key='C', num_notes=32, priming_mode='random_note', midi_primer=None,
                        training_file_list=None, primer_melody=None,
                        note_rnn_checkpoint=None, chord_progression=None)


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
  # A basic_rnn melody SequenceExample TFRecord: the realism figures also against it.
  reference_melodies: Optional[str] = None
  # Imported (the user's code) so that runs' own rules can be re-loaded by name.
  reward_rule_module: Optional[str] = None


@dataclasses.dataclass
class ModelSpec:
  """One model to evaluate: its metrics.json name, settings and where it lives."""
  name: str
  settings: Dict[str, Any]
  run_dir: Optional[str] = None  # None: the untuned Note RNN
  algorithm: Optional[str] = None
  reward_rules: Dict[str, float] = dataclasses.field(default_factory=dict)
  reward_rule_module: Optional[str] = None  # as the run's config.json names it




def _canonical_checkpoint(value: Optional[str]) -> Optional[str]:
  """None / 'shipped' -> None (the shipped model); a path -> its real path."""
  if value in (None, '', layout.SHIPPED):
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
  if settings['note_rnn_checkpoint'] == layout.SHIPPED:
    settings['note_rnn_checkpoint'] = None
  return settings


def resolve_models(config: EvaluationConfig) -> List[ModelSpec]:
  """The Note RNN entry and one entry per tuned run, with their settings.

  Raises:
    FlagError: an explicit flag disagrees with a run's config.json, two runs
      disagree (so no single Note RNN column fits both), or two runs share a name.
  """
  runs = []
  names = {scoring.NOTE_RNN_NAME: None}
  for run_dir in config.run_dirs:
    run_config = layout.read_run_config(run_dir)
    settings = _run_settings(run_dir, run_config)
    for flag, value in config.explicit.items():
      if not _same_setting(flag, value, settings[flag]):
        raise FlagError(flag, '--%s=%s disagrees with run %s, whose config.json has %s=%s '
                            '(a tuned run\'s settings come from its config.json)'
                            % (flag, _show(value), run_dir, flag, _show(settings[flag])))
    _check_run_settings(run_dir, settings)
    name = os.path.basename(os.path.normpath(run_dir))
    if name in names:
      raise FlagError('run_dir', 'two models would both be named %r (%s and %s); '
                          'rename one run directory' % (name, names[name] or 'the Note RNN',
                                                        run_dir))
    names[name] = run_dir
    runs.append(ModelSpec(name=name, settings=settings, run_dir=run_dir,
                          algorithm=run_config.get('algorithm'),
                          reward_rules=_run_reward_rules(run_dir, run_config),
                          reward_rule_module=run_config.get('reward_rule_module')))
  base = dict(DEFAULT_SETTINGS)
  if runs:
    first = runs[0]
    for other in runs[1:]:
      for setting in RUN_SETTINGS:
        if not _same_setting(setting, first.settings[setting], other.settings[setting]):
          raise FlagError('run_dir', 'runs %s and %s differ in %s (%s vs %s), so one Note '
                              'RNN column cannot fit both; evaluate them separately'
                              % (first.run_dir, other.run_dir, setting,
                                 _show(first.settings[setting]),
                                 _show(other.settings[setting])))
    base.update(first.settings)
  base.update(config.explicit)
  return [ModelSpec(name=scoring.NOTE_RNN_NAME, settings=base)] + runs


def _run_reward_rules(run_dir: str, run_config: Dict[str, Any]) -> Dict[str, float]:
  """The {rule: weight} a run used (older runs: their reward mode's rules)."""
  from rl_tuner.music import rule_api  # pylint: disable=g-import-not-at-top
  from rl_tuner.music import rules  # pylint: disable=g-import-not-at-top
  weights = run_config.get('effective_reward_rules')
  if isinstance(weights, dict) and all(isinstance(w, (int, float)) for w in weights.values()):
    return {str(n): float(w) for n, w in weights.items()}
  mode = run_config.get('effective_reward_mode') or run_config.get('reward_mode')
  if mode is None:  # the default of every algorithm: the nine rules of R_MT
    mode = 'music_theory_all'
  if mode in rules.REWARD_MODE_RULES:
    return rule_api.mode_rule_weights(mode)
  raise FlagError('run_dir', '%s: neither effective_reward_rules nor a known reward mode'
                  % os.path.join(run_dir, 'config.json'))


def active_rules(config: EvaluationConfig, models: Sequence[ModelSpec]) -> Dict[str, float]:
  """The rules every model is measured by: the union of the runs' rules (first weight
  wins), else R_MT's nine; chord_tone is added with a chord progression.

  Imports --reward_rule_module (never a module a run dir names) and checks each run's
  rules are registered.

  Raises:
    FlagError: a run's rule is not registered (one line naming rule and module).
  """
  from rl_tuner.music import rule_api  # pylint: disable=g-import-not-at-top
  if config.reward_rule_module:
    rule_api.load_rule_module(config.reward_rule_module)
  registered = rule_api.registered_rules()
  weights = {}
  for spec in models:
    for name, weight in spec.reward_rules.items():
      if name not in registered:
        module = spec.reward_rule_module
        raise FlagError('reward_rule_module', (
            'run %s uses reward rule %r from %s, which is not loaded; pass '
            '--reward_rule_module=%s (a module named in a run dir is never imported '
            'without the flag: it is code)') % (
                spec.run_dir, name, 'module %s' % module if module else 'a rule module',
                module or 'path/to/rules.py'))
      weights.setdefault(name, weight)
  if not weights:
    weights = rule_api.mode_rule_weights('music_theory_all')
  if models and models[0].settings.get('chord_progression') and 'chord_tone' not in weights:
    weights['chord_tone'] = 1.0
  return weights


def _check_run_settings(run_dir: str, settings: Dict[str, Any]) -> None:
  """A run's config.json values that evaluation uses, checked (a hand-edited file)."""
  from rl_tuner.music import rules  # pylint: disable=g-import-not-at-top
  where = os.path.join(run_dir, 'config.json')
  num_notes = settings['num_notes']
  if isinstance(num_notes, bool) or not isinstance(num_notes, int) or not 1 <= num_notes <= 512:
    raise FlagError('run_dir', '%s: num_notes must be an int in [1, 512], got %r'
                        % (where, num_notes))
  try:
    rules.parse_key(str(settings['key']))
  except ValueError as e:
    raise FlagError('run_dir', '%s: %s' % (where, e)) from None
  if settings['chord_progression']:
    from rl_tuner.music import chords as chords_lib  # pylint: disable=g-import-not-at-top
    try:
      chords_lib.parse_progression(settings['chord_progression'])
    except FlagError as e:
      raise FlagError('run_dir', '%s: %s' % (where, e.message)) from None
  if settings['priming_mode'] not in priming_lib.PRIMING_MODES:
    raise FlagError('run_dir', '%s: priming_mode must be one of %s, got %r'
                        % (where, ', '.join(priming_lib.PRIMING_MODES), settings['priming_mode']))


def _show(value: Any) -> str:
  return layout.SHIPPED if value is None else str(value)



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
        raise FlagError('note_rnn_checkpoint', 'cannot load the Note RNN (%s): %s'
                            % (_show(key), e)) from None
    return self._note_rnns[key]

  def policy(self, run_dir: str, prior):
    from rl_tuner.policy import step_models  # pylint: disable=g-import-not-at-top
    try:
      return step_models.load_policy(run_dir, prior=prior)
    except (OSError, ValueError) as e:
      if isinstance(e, FlagError):
        raise
      raise FlagError('run_dir', 'cannot load the policy of run %s: %s'
                      % (run_dir, e)) from None


def run_evaluation(config: EvaluationConfig,
                   log: Callable[[str], None] = print) -> Dict[str, Any]:
  """Evaluates every model and writes metrics.json, metrics.md (and compositions.npz).

  Returns:
    The metrics.json dict.
  """
  from rl_tuner.music import chords as chords_lib  # pylint: disable=g-import-not-at-top
  models = resolve_models(config)
  reward_rules = active_rules(config, models)
  primers = {m.name: priming_lib.load_primers(m.settings) for m in models}
  cache = _ModelCache()
  result = {scoring.RUN_KEY: dict(semantics=config.semantics, policy=config.policy,
                                     num_compositions=config.num_compositions,
                                     seed=config.seed, reward_rules=reward_rules)}
  if models[0].settings['chord_progression']:
    result[scoring.RUN_KEY]['chord_progression'] = models[0].settings['chord_progression']
  compositions = {}
  rule_compositions = {}
  for spec in models:
    start = time.perf_counter()
    prior = cache.note_rnn(spec.settings['note_rnn_checkpoint'])
    if spec.run_dir is None:
      step_model = prior
    else:
      step_model = cache.policy(spec.run_dir, prior)
    model_settings = dict(note_rnn_checkpoint=_show(spec.settings['note_rnn_checkpoint']),
                          algorithm=spec.algorithm)
    if spec.run_dir is not None:
      model_settings['run_dir'] = spec.run_dir
    progression = spec.settings['chord_progression']
    chords = (chords_lib.chords_per_step(progression, int(spec.settings['num_notes']))
              if progression else None)
    entry, priming, notes = scoring.evaluate_model(
        step_model, prior, num_compositions=config.num_compositions,
        key=spec.settings['key'], semantics=config.semantics, policy=config.policy,
        seed=config.seed, num_notes=int(spec.settings['num_notes']),
        priming_mode=spec.settings['priming_mode'], primers=primers[spec.name],
        batch_size=config.batch_size, settings=model_settings, return_compositions=True,
        reward_rules=reward_rules, chords=chords)
    result[spec.name] = entry
    arrays = composition_arrays(spec.name, step_model, priming, notes)
    if config.save_compositions:
      compositions.update(arrays)
    # The figures against the Note RNN compare the compositions in the rules' 38 classes.
    rule_compositions[spec.name] = scoring.rule_layout_notes(step_model, priming, notes)
    log('%s: %d compositions in %.1f s' % (spec.name, config.num_compositions,
                                           time.perf_counter() - start))
  note_rnn = scoring.NOTE_RNN_NAME  # always evaluated, first
  for spec in models:
    scoring.add_figures_vs_note_rnn(result[spec.name], rule_compositions[spec.name],
                                    result[note_rnn], rule_compositions[note_rnn],
                                    is_note_rnn=spec.run_dir is None)
  if config.reference_melodies:
    reference = diversity.melody_histograms(read_reference_melodies(config.reference_melodies))
    for spec in models:
      result[spec.name].update(scoring._jsonable(diversity.js_vs_reference(
          encoding.index_to_event(rule_compositions[spec.name]), reference)))
  write_outputs(config.output_dir, result, compositions if config.save_compositions else None)
  return result


def read_reference_melodies(path: str) -> List[np.ndarray]:
  """The melodies (Magenta events) of a basic_rnn SequenceExample TFRecord, e.g. a corpus's
  eval_melodies.tfrecord: each record's one-hot inputs, then its last label."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  if not os.path.isfile(path):
    raise FlagError('reference_melodies', 'no such file: %s' % path)
  melodies = []
  try:
    for record in tf.data.TFRecordDataset(path):
      example = tf.train.SequenceExample.FromString(record.numpy())
      inputs = example.feature_lists.feature_list['inputs'].feature
      labels = example.feature_lists.feature_list['labels'].feature
      if not inputs:
        continue
      if len(inputs[0].float_list.value) != encoding.NUM_CLASSES:
        raise ValueError('inputs of %d values: not a basic_rnn (38-class) dataset'
                         % len(inputs[0].float_list.value))
      classes = [int(np.argmax(f.float_list.value)) for f in inputs]
      classes.append(int(labels[-1].int64_list.value[0]))
      melodies.append(encoding.index_to_event(np.asarray(classes)))
  except Exception as e:  # pylint: disable=broad-except
    raise FlagError('reference_melodies', '%s: %s' % (
        path, str(e).splitlines()[0] if str(e) else type(e).__name__)) from None
  if not melodies:
    raise FlagError('reference_melodies', '%s holds no melody' % path)
  return melodies


def composition_arrays(name: str, step_model, priming, notes) -> Dict[str, np.ndarray]:
  """compositions.npz's arrays of one model: ``<name>`` the 38-class indices (when every
  pitch fits MIDI 48-83; for basic_rnn the notes themselves) and ``<name>_events`` the
  Magenta melody events (-2 hold, -1 note-off, 0-127 pitch) of every model."""
  events = encodings.composition_events(step_model, priming, notes)
  out = {name + '_events': events}
  if encodings.is_rule_layout(step_model):
    out[name] = notes
  elif encodings.fits_rule_range(events):
    out[name] = encodings.events_to_rule_classes(events)
  return out


def write_outputs(output_dir: str, result: Dict[str, Any],
                  compositions: Optional[Dict[str, np.ndarray]]) -> None:
  """metrics.json, metrics.md and (optionally) compositions.npz, each written atomically."""
  os.makedirs(output_dir, exist_ok=True)
  files.write_json_atomic(os.path.join(output_dir, layout.METRICS_JSON), result,
                          sort_keys=False)
  files.write_text_atomic(os.path.join(output_dir, layout.METRICS_MD),
                          scoring.markdown_table(result))
  if compositions is not None:
    arrays = {k: np.asarray(v, np.int32) for k, v in compositions.items()}
    files.write_atomic(os.path.join(output_dir, layout.COMPOSITIONS_NPZ),
                       lambda tmp: np.savez_compressed(tmp, **arrays))

