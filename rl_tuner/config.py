"""The RL Tuner's one configuration: a dataclass with one field per flag.

`bin/train_rl_tuner` turns its absl flags into an `RLTunerConfig`;
`rl_tuner.rl.trainer.train_eval` takes one; the run's `config.json` stores one.
Defaults are Magenta's `RLTuner` constructor defaults (see rl_tuner/README.md), so
the original's script values (γ 0.5, λ 0.1, Boltzmann) live in
`configs/q_paper.cfg` instead (fixes bug 6: one config, saved with the run).

`check` raises `FlagError` naming the first bad value so that every entry point prints a
one-line error naming the flag before anything is written.
"""

import dataclasses
import math
import os
import typing
from typing import Dict, List, Optional, Sequence, Tuple

from pipelines.errors import FlagError
from rl_tuner.policy import layout
from rl_tuner.policy import priming as priming_lib

ALGORITHMS = ('q', 'psi', 'g', 'pure_rl', 'ppo', 'grpo')
ALGORITHM_ALIASES = {'default': 'q', 'rl_only': 'pure_rl', 'kl_pg': 'ppo'}
# On-policy algorithms: rl_tuner.rl.pg_trainer (KL to the prior in the reward).
POLICY_GRADIENT_ALGORITHMS = ('ppo', 'grpo')
EXPLORATION_MODES = ('egreedy', 'boltzmann')
PRIMING_MODES = priming_lib.PRIMING_MODES
SEMANTICS = priming_lib.SEMANTICS
# Reward modes that add log p(a|s) (rl_tuner.music.rules.MODES_WITH_LOG_P; a test keeps them
# equal).
MODES_WITH_LOG_P = ('music_theory_all', 'music_theory_basic', 'music_theory_basic_plus_variety')
# Algorithms whose reward is λ·R_MT only: log p lives in their target (g), in the KL
# penalty (ppo, grpo) or nowhere.
ALGORITHMS_WITHOUT_LOG_P = ('g', 'pure_rl', 'ppo', 'grpo')
NOTE_RNN_SHIPPED = layout.SHIPPED
# Mirrors rl_tuner.music.REWARD_MODE_NAMES (a test keeps them equal) so that reading a
# config does not import the rules.
REWARD_MODE_NAMES = ('music_theory_all', 'music_theory_basic', 'music_theory_basic_plus_variety',
                     'music_theory_only', 'music_theory_random', 'key_and_tonic', 'scale', 'key',
                     'non_repeating', 'preferred_intervals')


def setting(default, help_text: str, choices: Sequence[str] = ()):
  """A config field with its flag's help (and valid values): the one source of both."""
  return dataclasses.field(default=default, metadata={'help': help_text, 'choices': tuple(choices)})


@dataclasses.dataclass
class RLTunerConfig:
  """Every setting of one RL Tuner run (one field per `bin/train_rl_tuner` flag).

  Transition counts follow Magenta: `batch_size` transitions per gradient step,
  one step per `train_every_n` environment steps. Training samples whole
  episodes, so a minibatch is ceil(batch_size / num_notes) episodes.
  """
  output_dir: str = setting('', 'Run directory (created; resumed when it holds a run).')
  overwrite: bool = setting(False, 'Delete the run in --output_dir and start fresh.')
  # What is tuned, and how.
  algorithm: str = setting('q', 'The learning algorithm (aliases: default = q, rl_only = '
                           'pure_rl, kl_pg = ppo).', ALGORITHMS + tuple(sorted(ALGORITHM_ALIASES)))
  note_rnn_checkpoint: Optional[str] = setting(
      None, 'The Note RNN to tune: a run dir, a Magenta checkpoint prefix, the research '
      'checkpoint or a .mag bundle. Default: the shipped model.')
  semantics: str = setting('corrected', 'Reward and statistics definitions: the corrected '
                           'ones, or legacy (exactly the original\'s; rl_tuner/README.md).',
                           SEMANTICS)
  key: str = setting('C', 'Key of the rewards: C, C#/Db, ... B, or e.g. A_minor.')
  # Reward.
  reward_mode: Optional[str] = setting(
      None, 'Which music-theory rules make R_MT and whether log p is added. Default: '
      'music_theory_all for q/psi, music_theory_only for g/pure_rl/ppo/grpo.',
      REWARD_MODE_NAMES)
  reward_scaler: float = setting(1.0, 'λ = 1/c, the weight of the music-theory reward.')
  reward_rules: Optional[str] = setting(
      None, 'The rules of R_MT and their weights, name:weight,... (e.g. key:1,tonic:1,'
      'repetition:1); replaces the rule set of --reward_mode. log p is added for q and psi, '
      'not for g and pure_rl. Default: the rules of --reward_mode, each weighing 1.')
  reward_rule_module: Optional[str] = setting(
      None, 'A .py file or dotted module whose import registers your own rules with '
      '@rl_tuner.reward_rule (this runs its code).')
  chord_progression: Optional[str] = setting(
      None, 'Chords, one per 16-step bar, repeated, e.g. "C G Am F" (note-seq chord '
      'symbols); adds the chord_tone rule (weight 1) unless --reward_rules names it.')
  # Episodes.
  num_notes: int = setting(32, 'Notes per composition (one episode).')
  priming_mode: str = setting('random_note', 'How each composition starts.', PRIMING_MODES)
  midi_primer: Optional[str] = setting(None, 'MIDI primer for --priming_mode=single_midi.')
  training_file_list: Optional[str] = setting(
      None, 'SequenceExample TFRecord for --priming_mode=random_midi.')
  primer_melody: Optional[List[int]] = setting(
      None, 'Melody events for --priming_mode=primer_melody, e.g. "[60, -2, 62]" (pitches '
      '48-83, -2 hold, -1 note-off).')
  num_parallel_envs: int = setting(256, 'Compositions collected together per round.')
  # DQN hyperparameters (Magenta's default_dqn_hparams and constructor).
  num_steps: int = setting(10000, 'Environment steps to train (whole rounds of '
                           'num_parallel_envs x num_notes; the run stops at the first round '
                           '>= this).')
  exploration_mode: str = setting('egreedy', 'Exploration while collecting.', EXPLORATION_MODES)
  exploration_period: int = setting(5000, 'Env steps over which ε anneals linearly.')
  initial_epsilon: float = setting(1.0, 'ε at step 0.')
  random_action_probability: float = setting(0.1, 'Final ε.')
  discount_rate: float = setting(0.95, 'γ.')
  learning_rate: float = setting(1e-3, 'Adam learning rate.')
  adam_epsilon: float = setting(1e-8, 'Adam ε (TF1 default; Keras uses 1e-7).')
  gradient_clipping: float = setting(5.0, 'Per-tensor gradient L2-norm clip.')
  target_network_update_rate: float = setting(0.01, 'τ of the soft target update.')
  batch_size: int = setting(32, 'Transitions per gradient step (whole episodes: '
                            'ceil(batch_size / num_notes) of them).')
  train_every_n: int = setting(5, 'One gradient step per this many env steps.')
  replay_capacity: int = setting(100000, 'Replay buffer size in transitions.')
  min_replay_transitions: int = setting(32, 'No training before this many env steps.')
  # Policy-gradient hyperparameters (ppo, grpo; rl_tuner/rl/policy_gradient.py).
  kl_coef: float = setting(0.1, 'ppo/grpo: β of the per-note KL penalty β·(log π(a|s) − log '
                           'p_prior(a|s)) in the reward (the initial β when '
                           '--target_kl_per_note is set).')
  target_kl_per_note: Optional[float] = setting(
      None, 'ppo/grpo: adapt β to hold this sampled KL(π ‖ p_prior) per note (nats), with '
      'Ziegler et al.\'s proportional controller; unset keeps β fixed.')
  kl_horizon: int = setting(10000, 'ppo/grpo: the controller\'s horizon in env steps: β ← '
                            'β·(1 + clip(KL/target − 1, ±0.2)·n/horizon) after a round of n '
                            'env steps.')
  kl_hold_until_target: bool = setting(
      True, 'ppo/grpo: keep β at --kl_coef until the sampled KL first reaches the target, so '
      'β does not wind down while the policy is still the prior (then the controller runs).')
  ppo_epochs: int = setting(4, 'ppo/grpo: passes over each round\'s episodes.')
  ppo_minibatches: int = setting(4, 'ppo/grpo: gradient steps per pass (the round\'s '
                                 'episodes split evenly).')
  clip_ratio: float = setting(0.2, 'ppo/grpo: ε of the clipped objective '
                              'min(ρA, clip(ρ, 1 ± ε)A).')
  gae_lambda: float = setting(0.95, 'ppo: λ of generalised advantage estimation.')
  value_coef: float = setting(0.5, 'ppo: weight of the value loss.')
  group_size: int = setting(8, 'grpo: compositions per primer (a group); num_parallel_envs '
                            'must be a multiple.')
  xla: bool = setting(True, 'Compile the gradient steps with XLA (faster per step, costs a '
                      'few seconds of compilation).')
  # Outputs.
  output_every_nth: int = setting(1000, 'Env steps between progress lines/summaries.')
  checkpoint_every_n: int = setting(20000, 'Env steps between checkpoints.')
  num_checkpoints_to_keep: int = setting(3, 'Checkpoints kept (>= 2).')
  final_eval_compositions: int = setting(1000, 'Compositions of the final evaluation '
                                         '(metrics.json); 0 skips it.')
  num_midi_compositions: int = setting(5, 'Sample compositions written as MIDI.')
  seed: int = setting(1, 'Seeds everything random (same seed and flags: same metrics).')

  @property
  def canonical_algorithm(self) -> str:
    return ALGORITHM_ALIASES.get(self.algorithm, self.algorithm)

  @property
  def effective_reward_mode(self) -> str:
    if self.reward_mode:
      return self.reward_mode
    if self.canonical_algorithm in ALGORITHMS_WITHOUT_LOG_P:
      return 'music_theory_only'
    return 'music_theory_all'

  @property
  def effective_reward_rules(self) -> Dict[str, float]:
    """{rule: weight} of R_MT: --reward_rules, else --reward_mode's rules (+ chord_tone)."""
    from rl_tuner.music import rule_api  # pylint: disable=g-import-not-at-top
    if self.reward_rules:
      weights = rule_api.parse_rule_weights(self.reward_rules)
    else:
      weights = rule_api.mode_rule_weights(self.effective_reward_mode)
    if self.chord_progression and 'chord_tone' not in weights:
      weights['chord_tone'] = 1.0
    return weights

  @property
  def reward_adds_log_p(self) -> bool:
    """Whether r = λ·R_MT + log p: by the algorithm with --reward_rules, else by the mode."""
    if self.reward_rules:
      return self.canonical_algorithm not in ALGORITHMS_WITHOUT_LOG_P
    return self.effective_reward_mode in MODES_WITH_LOG_P

  @property
  def episodes_per_batch(self) -> int:
    return max(1, math.ceil(self.batch_size / self.num_notes))

  def to_dict(self) -> dict:
    return dataclasses.asdict(self)

  @classmethod
  def from_dict(cls, values: dict) -> 'RLTunerConfig':
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - names)
    if unknown:
      raise ValueError('unknown config keys %s' % unknown)
    return cls(**values)


class FlagfileError(ValueError):
  """A flagfile line that is not a valid flag of bin/train_rl_tuner (names file and line)."""


def _flag_value(text: str, annotation, where: str):
  """A flagfile value -> the RLTunerConfig field's type."""
  if typing.get_origin(annotation) is typing.Union:  # Optional[X]
    inner = [a for a in typing.get_args(annotation) if a is not type(None)][0]
    return None if text in ('', 'None') else _flag_value(text, inner, where)
  if typing.get_origin(annotation) in (list, List):
    try:
      return [int(x) for x in text.strip('[]').replace(' ', '').split(',') if x]
    except ValueError:
      raise FlagfileError('%s: %r is not a list of integers' % (where, text)) from None
  if annotation is bool:
    if text.lower() not in ('1', 'true', 'yes', '0', 'false', 'no'):
      raise FlagfileError('%s: %r is not a bool' % (where, text))
    return text.lower() in ('1', 'true', 'yes')
  if annotation in (int, float):
    try:
      return annotation(text)
    except ValueError:
      raise FlagfileError('%s: %r is not %s' % (where, text, annotation.__name__)) from None
  return text


def _flagfile_values(path: str, hints: dict) -> dict:
  """`--name=value` lines -> {name: typed value}; `--flagfile=` lines are followed
  relative to the file's folder; `#` and `//` lines are comments."""
  values = {}
  with open(path) as f:
    for number, line in enumerate(f, 1):
      line = line.strip()
      if not line or line.startswith(('#', '//')):
        continue
      where = '%s:%d' % (path, number)
      if not line.startswith('--'):
        raise FlagfileError('%s: expected --name=value, got %r' % (where, line))
      name, sep, text = line[2:].partition('=')
      if name == 'flagfile':
        values.update(_flagfile_values(os.path.join(os.path.dirname(path), text), hints))
        continue
      if not sep and name.startswith('no') and hints.get(name[2:]) is bool:
        name, text = name[2:], 'false'
      elif not sep and hints.get(name) is bool:
        text = 'true'
      if name not in hints:
        raise FlagfileError('%s: --%s is not a flag of bin/train_rl_tuner' % (where, name))
      values[name] = _flag_value(text, hints[name], where)
  return values


def from_flagfile(path: str, **overrides) -> RLTunerConfig:
  """Reads a `bin/train_rl_tuner` flagfile into an RLTunerConfig, then applies overrides.

  For tools that build a run from a flagfile without absl (the demo, the benches).

  Raises:
    FlagfileError: a line that is not a flag of RLTunerConfig, or a bad value.
  """
  values = _flagfile_values(path, typing.get_type_hints(RLTunerConfig))
  values.update(overrides)
  return RLTunerConfig(**values)


# Upper bounds that keep a typo from exhausting memory (the replay buffer is
# allocated up front) or from never finishing.
MAX_BATCH_SIZE = 65536
MAX_REPLAY_CAPACITY = 10_000_000
MAX_EVAL_COMPOSITIONS = 10_000_000
MAX_SEED = 2 ** 31 - 1


def _range_checks(c: RLTunerConfig) -> List[Tuple[str, bool, str]]:
  return [
      ('num_notes', 1 <= c.num_notes <= 512, 'must be in [1, 512]'),
      ('num_parallel_envs', 1 <= c.num_parallel_envs <= 65536, 'must be in [1, 65536]'),
      ('num_steps', c.num_steps >= 0, 'must be >= 0'),
      ('exploration_period', c.exploration_period >= 0, 'must be >= 0'),
      ('initial_epsilon', 0.0 <= c.initial_epsilon <= 1.0, 'must be in [0, 1]'),
      ('random_action_probability', 0.0 <= c.random_action_probability <= 1.0,
       'must be in [0, 1]'),
      ('discount_rate', 0.0 <= c.discount_rate <= 1.0, 'must be in [0, 1]'),
      ('learning_rate', 0.0 < c.learning_rate <= 10.0, 'must be in (0, 10]'),
      ('adam_epsilon', math.isfinite(c.adam_epsilon) and c.adam_epsilon > 0.0,
       'must be a finite number > 0'),
      ('gradient_clipping', math.isfinite(c.gradient_clipping) and c.gradient_clipping > 0.0,
       'must be a finite number > 0'),
      ('target_network_update_rate', 0.0 < c.target_network_update_rate <= 1.0,
       'must be in (0, 1]'),
      ('reward_scaler', math.isfinite(c.reward_scaler) and c.reward_scaler >= 0.0,
       'must be a finite number >= 0'),
      ('batch_size', 1 <= c.batch_size <= MAX_BATCH_SIZE, 'must be in [1, %d]' % MAX_BATCH_SIZE),
      ('train_every_n', c.train_every_n >= 1, 'must be >= 1'),
      ('replay_capacity', c.num_notes <= c.replay_capacity <= MAX_REPLAY_CAPACITY,
       'must be in [num_notes (one episode), %d] (the buffer is allocated up front)'
       % MAX_REPLAY_CAPACITY),
      ('min_replay_transitions', c.min_replay_transitions >= 1, 'must be >= 1'),
      ('output_every_nth', c.output_every_nth >= 1, 'must be >= 1'),
      ('checkpoint_every_n', c.checkpoint_every_n >= 1, 'must be >= 1'),
      ('num_checkpoints_to_keep', c.num_checkpoints_to_keep >= 2,
       'must be >= 2 (a corrupt latest checkpoint falls back to the previous one)'),
      ('final_eval_compositions', 0 <= c.final_eval_compositions <= MAX_EVAL_COMPOSITIONS,
       'must be in [0, %d]' % MAX_EVAL_COMPOSITIONS),
      ('kl_coef', math.isfinite(c.kl_coef) and c.kl_coef >= 0.0,
       'must be a finite number >= 0'),
      ('target_kl_per_note', c.target_kl_per_note is None or (
          math.isfinite(c.target_kl_per_note) and c.target_kl_per_note > 0.0),
       'must be a finite number > 0 (or unset for a fixed β)'),
      ('kl_horizon', c.kl_horizon >= 1, 'must be >= 1'),
      ('ppo_epochs', 1 <= c.ppo_epochs <= 100, 'must be in [1, 100]'),
      ('ppo_minibatches', 1 <= c.ppo_minibatches <= (
          c.num_parallel_envs if c.canonical_algorithm in POLICY_GRADIENT_ALGORITHMS
          else MAX_BATCH_SIZE), 'must be in [1, num_parallel_envs] (ppo/grpo)'),
      ('clip_ratio', 0.0 < c.clip_ratio < 1.0, 'must be in (0, 1)'),
      ('gae_lambda', 0.0 <= c.gae_lambda <= 1.0, 'must be in [0, 1]'),
      ('value_coef', math.isfinite(c.value_coef) and c.value_coef >= 0.0,
       'must be a finite number >= 0'),
      ('group_size', c.group_size >= 2 and (c.canonical_algorithm != 'grpo' or
                                            c.num_parallel_envs % c.group_size == 0),
       'must be >= 2 and divide num_parallel_envs (grpo)'),
      ('seed', 0 <= c.seed <= MAX_SEED, 'must be in [0, %d]' % MAX_SEED),
      ('num_midi_compositions', 0 <= c.num_midi_compositions <= 1000, 'must be in [0, 1000]'),
  ]


def check(c: RLTunerConfig) -> None:
  """Raises `FlagError` naming the first invalid setting (before anything is written)."""
  problem = _first_problem(c)
  if problem:
    raise FlagError(*problem)


def _first_problem(c: RLTunerConfig) -> Optional[Tuple[str, str]]:
  """The first invalid setting as (flag name, message), or None when all are valid.

  Checks ranges, enumerations, files that must exist and combinations (a log-p
  reward mode for g or pure_rl; a priming mode without its input). Key and
  reward-mode names are checked against `rl_tuner.music.rules`.
  """
  from rl_tuner.music import keys  # pylint: disable=g-import-not-at-top

  if not c.output_dir:
    return 'output_dir', 'is required'
  if os.path.exists(c.output_dir) and not os.path.isdir(c.output_dir):
    return 'output_dir', 'exists and is not a directory: %s' % c.output_dir
  if c.algorithm not in ALGORITHMS and c.algorithm not in ALGORITHM_ALIASES:
    return 'algorithm', 'unknown algorithm %r; valid: %s (aliases %s)' % (
        c.algorithm, ', '.join(ALGORITHMS), ', '.join(sorted(ALGORITHM_ALIASES)))
  if c.semantics not in SEMANTICS:
    return 'semantics', 'must be one of %s, got %r' % (', '.join(SEMANTICS), c.semantics)
  try:
    keys.parse_key(c.key)
  except ValueError as e:
    return 'key', str(e)
  if c.reward_mode is not None and c.reward_mode not in REWARD_MODE_NAMES:
    return 'reward_mode', 'unknown reward mode %r; valid: %s' % (
        c.reward_mode, ', '.join(REWARD_MODE_NAMES))
  if (c.canonical_algorithm in ALGORITHMS_WITHOUT_LOG_P and c.reward_mode is not None
      and c.reward_mode in MODES_WITH_LOG_P):
    return 'reward_mode', (
        '--reward_mode=%s adds log p(a|s), but --algorithm=%s uses r = λ·R_MT only '
        '(its prior enters through the target or the KL penalty); use a mode without '
        'log p, e.g. '
        'music_theory_only' % (c.reward_mode, c.algorithm))
  problem = _reward_rule_problem(c)
  if problem:
    return problem
  if c.exploration_mode not in EXPLORATION_MODES:
    return 'exploration_mode', 'must be one of %s, got %r' % (
        ', '.join(EXPLORATION_MODES), c.exploration_mode)
  if c.priming_mode not in PRIMING_MODES:
    return 'priming_mode', 'must be one of %s, got %r' % (
        ', '.join(PRIMING_MODES), c.priming_mode)
  for name, ok, message in _range_checks(c):
    if not ok:
      return name, '%s, got %r' % (message, getattr(c, name))
  return _validate_inputs(c)


def _reward_rule_problem(c: RLTunerConfig) -> Optional[Tuple[str, str]]:
  """Loads --reward_rule_module (the user's code) and checks the rules and chords."""
  from rl_tuner.music import chords  # pylint: disable=g-import-not-at-top
  from rl_tuner.music import rule_api  # pylint: disable=g-import-not-at-top
  try:
    if c.reward_rule_module:
      rule_api.load_rule_module(c.reward_rule_module)
    if c.chord_progression:
      chords.parse_progression(c.chord_progression)
    weights = c.effective_reward_rules
    rule_api.check_rules_known(weights, c.reward_rule_module)
  except FlagError as e:
    return e.flag, e.message
  if 'chord_tone' in weights and not c.chord_progression:
    return 'chord_progression', 'is required by the chord_tone rule (e.g. "C G Am F")'
  return None


def _validate_inputs(c: RLTunerConfig) -> Optional[Tuple[str, str]]:
  """Files and primer values the priming mode and the Note RNN need."""
  if c.note_rnn_checkpoint and c.note_rnn_checkpoint != NOTE_RNN_SHIPPED:
    path = c.note_rnn_checkpoint
    if not (os.path.exists(path) or os.path.exists(path + '.index')):
      return 'note_rnn_checkpoint', 'no such file, directory or checkpoint prefix: %s' % path
  if c.priming_mode == 'single_midi':
    if not c.midi_primer:
      return 'midi_primer', 'is required with --priming_mode=single_midi'
    if not os.path.isfile(c.midi_primer):
      return 'midi_primer', 'no such file: %s' % c.midi_primer
  if c.priming_mode == 'random_midi':
    if not c.training_file_list:
      return 'training_file_list', 'is required with --priming_mode=random_midi'
    if not os.path.isfile(c.training_file_list):
      return 'training_file_list', 'no such file: %s' % c.training_file_list
  if c.priming_mode == 'primer_melody':
    if not c.primer_melody:
      return 'primer_melody', 'is required with --priming_mode=primer_melody'
  try:
    priming_lib.check_primer_melody(c.primer_melody)
  except FlagError as e:
    return e.flag, e.message
  return None
