"""The `RLTuner` class (see the package docstring)."""

import logging
import os
from typing import Any, Dict, List, Optional

import numpy as np

from pipelines import encoding
from rl_tuner.facade.hparams import DqnHParams
from rl_tuner.facade.hparams import default_dqn_hparams  # noqa: F401  (Magenta's API)
from rl_tuner.facade import model_checks
from rl_tuner.facade import probabilities
from rl_tuner.facade import saved_runs
from rl_tuner.policy import encodings
from rl_tuner.policy import layout

# Magenta's rl_tuner_ops.C_MAJOR_TONIC (an encoding index: MIDI 60).
C_MAJOR_TONIC = encoding.C_MAJOR_TONIC_INDEX


class RLTuner:
  """Magenta's RLTuner interface over the tf-agents implementation.

  Attributes mirror Magenta's where they exist (`output_dir`, `algorithm`,
  `reward_mode`, `reward_scaler`, `dqn_hparams`, `num_notes_in_melody`,
  `num_actions`, `composition`, ...). `config` is the `RLTunerConfig` that
  training receives. `input_size` and `num_actions` are the loaded Note RNN's (any
  melody_rnn config); `composition` holds the last melody in its classes and
  `composition_events` the same melody as events (-2 hold, -1 note-off, MIDI pitch).
  """

  def __init__(self, output_dir: str,
               # Hyperparameters.
               dqn_hparams: Optional[DqnHParams] = None,
               reward_mode: str = 'music_theory_all',
               reward_scaler: float = 1.0,
               exploration_mode: str = 'egreedy',
               priming_mode: str = 'random_note',
               stochastic_observations: bool = False,
               algorithm: str = 'q',
               # Trained Note RNN to load and tune.
               note_rnn_checkpoint_dir: Optional[str] = None,
               note_rnn_checkpoint_file: Optional[str] = None,
               note_rnn_type: str = 'default',
               note_rnn_hparams: Any = None,
               # Other music related settings.
               num_notes_in_melody: int = 32,
               input_size: Optional[int] = None,
               num_actions: Optional[int] = None,
               midi_primer: Optional[str] = None,
               # Logistics.
               save_name: str = 'rl_tuner.ckpt',
               output_every_nth: int = 1000,
               training_file_list: Any = None,
               summary_writer: Any = None,
               initialize_immediately: bool = True,
               # Ours.
               semantics: str = 'corrected',
               key: str = 'C',
               num_parallel_envs: Optional[int] = None,
               reward_rules: Optional[Dict[str, float]] = None,
               reward_rule_module: Optional[str] = None,
               chord_progression: Optional[str] = None,
               kl_coef: float = 0.1,
               target_kl_per_note: Optional[float] = None):
    """Checks the arguments and builds the run's config (see Magenta's docstring).

    `input_size` and `num_actions` default to the loaded Note RNN's (38 and 38 for a
    basic_rnn, as Magenta's constants were; 121 / 40 lookback_rnn, 74 / 40 attention_rnn,
    130 / 130 mono_rnn); a value given must match the model.

    Raises:
      ValueError: naming the keyword, for a value this implementation cannot honour
        (input_size / num_actions of no melody_rnn config or not the loaded model's,
        store_every_nth other than 1, a Note RNN whose config or layer sizes differ from
        `note_rnn_type` / `note_rnn_hparams`) or any setting `RLTunerConfig` rejects.
    """
    from rl_tuner import config as config_lib  # pylint: disable=g-import-not-at-top
    model_checks.check_size('input_size', input_size, 'input_size')
    model_checks.check_size('num_actions', num_actions, 'num_classes')
    if note_rnn_type not in ('default',) + encoding.CONFIG_NAMES:
      raise ValueError("note_rnn_type=%r: use 'default' or a melody_rnn config name (the "
                       'config and layer sizes are read from the checkpoint, which a config name must match)'
                       % (note_rnn_type,))
    self.dqn_hparams = dqn_hparams if dqn_hparams is not None else default_dqn_hparams()
    if int(self.dqn_hparams.store_every_nth) != 1:
      raise ValueError('dqn_hparams.store_every_nth=%r: every transition is stored '
                       '(Magenta only ever used 1)' % (self.dqn_hparams.store_every_nth,))
    if summary_writer is not None:
      logging.info('RLTuner: summary_writer is not written to; TensorBoard events go to %s',
                   os.path.join(output_dir, layout.TB_DIR))

    self.output_dir = output_dir
    self.save_path = os.path.join(output_dir, save_name)
    self.save_name = save_name
    self.algorithm = config_lib.ALGORITHM_ALIASES.get(algorithm, algorithm)
    self.reward_scaler = reward_scaler
    self.exploration_mode = exploration_mode
    self.stochastic_observations = stochastic_observations
    self.priming_mode = priming_mode
    self.midi_primer = midi_primer
    self.training_file_list = training_file_list
    self.note_rnn_checkpoint_dir = note_rnn_checkpoint_dir
    self.note_rnn_checkpoint_file = note_rnn_checkpoint_file
    self.note_rnn_type = note_rnn_type
    self.note_rnn_hparams = note_rnn_hparams
    self.num_notes_in_melody = num_notes_in_melody
    self.input_size = input_size
    self.num_actions = num_actions
    self.output_every_nth = output_every_nth
    self.summary_writer = summary_writer
    self.semantics = semantics
    self.key = key
    self.num_parallel_envs = num_parallel_envs
    # {rule: weight} replacing reward_mode's rules (rl_tuner.music.rule_api); the module's
    # import registers user rules (it runs that code).
    self.reward_rules = dict(reward_rules) if reward_rules else None
    self.reward_rule_module = reward_rule_module
    self.chord_progression = chord_progression
    # ppo / grpo only: β of the KL penalty and the KL per note it is adapted to hold.
    self.kl_coef = kl_coef
    self.target_kl_per_note = target_kl_per_note
    # Magenta silently replaces the reward mode of g and pure_rl (their reward is
    # λ·R_MT only); keep that, but only for the modes that would add log p.
    self.reward_mode = reward_mode
    from rl_tuner.music import rules  # pylint: disable=g-import-not-at-top
    if (self.algorithm in config_lib.ALGORITHMS_WITHOUT_LOG_P
        and reward_mode in rules.MODES_WITH_LOG_P):
      self.reward_mode = 'music_theory_only'
    # Magenta's per-composition state (generate_music_sequence fills it).
    self.beat = 0
    self.composition: List[int] = []
    self.composition_events: List[int] = []
    self.env_steps = 0
    self.config = self._make_config(num_steps=0, exploration_period=5000,
                                    enable_random=True)
    config_lib.check(self.config)
    os.makedirs(output_dir, exist_ok=True)
    self._prior = None
    self._policy = None
    if initialize_immediately:
      self.initialize_internal_models_graph_session()

  # ------------------------------------------------------------------ settings

  def _note_rnn_path(self) -> Optional[str]:
    """Magenta's lookup: the newest checkpoint of the dir, else the file; None = shipped."""
    if self.note_rnn_checkpoint_dir:
      import tensorflow as tf  # pylint: disable=g-import-not-at-top
      directory = self.note_rnn_checkpoint_dir
      if os.path.exists(os.path.join(directory, layout.CONFIG_FILE)):
        return directory  # a Note RNN run dir of ours
      latest = tf.train.latest_checkpoint(directory)
      if latest:
        return latest
      if not self.note_rnn_checkpoint_file:
        return directory  # let note_rnn.load explain what it found there
    return self.note_rnn_checkpoint_file or None

  def _make_config(self, *, num_steps: int, exploration_period: int, enable_random: bool):
    from rl_tuner import config as config_lib  # pylint: disable=g-import-not-at-top
    h = self.dqn_hparams
    exploration_mode = self.exploration_mode
    if self.stochastic_observations:
      exploration_mode = 'boltzmann'
    training_file = self.training_file_list
    if isinstance(training_file, (list, tuple)):
      if len(training_file) != 1:
        raise ValueError('training_file_list: one SequenceExample file is supported, got %d'
                         % len(training_file))
      training_file = training_file[0]
    return config_lib.RLTunerConfig(
        output_dir=self.output_dir, algorithm=self.algorithm,
        note_rnn_checkpoint=self._note_rnn_path(), semantics=self.semantics, key=self.key,
        reward_mode=self.reward_mode, reward_scaler=float(self.reward_scaler),
        num_notes=int(self.num_notes_in_melody), priming_mode=self.priming_mode,
        midi_primer=self.midi_primer, training_file_list=training_file,
        num_steps=int(num_steps), exploration_mode=exploration_mode,
        exploration_period=int(exploration_period),
        initial_epsilon=1.0 if enable_random else 0.0,
        random_action_probability=(float(h.random_action_probability)
                                   if enable_random else 0.0),
        discount_rate=float(h.discount_rate),
        target_network_update_rate=float(h.target_network_update_rate),
        batch_size=int(h.minibatch_size), train_every_n=int(h.train_every_nth),
        replay_capacity=int(h.max_experience), output_every_nth=int(self.output_every_nth),
        final_eval_compositions=0, num_midi_compositions=0,
        reward_rules=self._reward_rules_flag(), reward_rule_module=self.reward_rule_module,
        chord_progression=self.chord_progression,
        kl_coef=float(self.kl_coef), target_kl_per_note=self.target_kl_per_note,
        **({'num_parallel_envs': int(self.num_parallel_envs)}
           if self.num_parallel_envs else {}))

  def _reward_rules_flag(self) -> Optional[str]:
    """reward_rules {name: weight} -> the --reward_rules text (None without)."""
    if not self.reward_rules:
      return None
    from rl_tuner.music import rule_api  # pylint: disable=g-import-not-at-top
    for name, weight in self.reward_rules.items():
      if not isinstance(name, str) or isinstance(weight, bool) or not isinstance(
          weight, (int, float)):
        raise ValueError('reward_rules: want {rule name: weight}, got %r: %r' % (name, weight))
    return rule_api.format_rule_weights(self.reward_rules)

  # ------------------------------------------------------------------- models

  def initialize_internal_models_graph_session(self, restore_from_checkpoint: bool = True):
    """Loads the Note RNN (the prior, and the untrained policy until `train`).

    Any melody_rnn config: `input_size` and `num_actions` become the model's sizes.
    """
    import note_rnn  # pylint: disable=g-import-not-at-top
    prior = note_rnn.load(self._note_rnn_path())
    model_checks.check_against(prior, note_rnn_type=self.note_rnn_type,
                               note_rnn_hparams=self.note_rnn_hparams,
                               input_size=self.input_size, num_actions=self.num_actions)
    if not restore_from_checkpoint:
      prior = note_rnn.build(prior.layer_sizes, config=prior.config_name,
                             attn_length=getattr(prior, 'attn_length', None))
    self._prior = prior
    self.input_size = int(getattr(prior, 'input_size', encoding.NUM_CLASSES))
    self.num_actions = encodings.num_classes(prior)
    if self._policy is None:
      # Untrained: the Note RNN's logits (q, psi, pure_rl), or for g G = the Note RNN's
      # logits plus its log p.
      from rl_tuner.policy import step_models  # pylint: disable=g-import-not-at-top
      self._policy = step_models.TunedPolicy({'algorithm': self.algorithm}, prior, prior)

  def _ensure_models(self):
    if self._prior is None:
      self.initialize_internal_models_graph_session()

  # ----------------------------------------------------------------- training

  def train(self, num_steps: int = 10000, exploration_period: int = 5000,
            enable_random: bool = True) -> None:
    """Trains `num_steps` more environment steps (resuming the run in output_dir).

    Args:
      num_steps: environment steps (notes) to add to the run.
      exploration_period: steps over which ε anneals from 1.0 to
        `dqn_hparams.random_action_probability` (counted from the run's start).
      enable_random: False turns ε-greedy exploration off.
    """
    from rl_tuner.rl import trainer as train_lib  # pylint: disable=g-import-not-at-top
    if num_steps < 0:
      raise ValueError('num_steps must be >= 0, got %r' % (num_steps,))
    self._ensure_models()
    self.config = self._make_config(num_steps=self.env_steps + int(num_steps),
                                    exploration_period=exploration_period,
                                    enable_random=enable_random)
    result = train_lib.train_eval(self.config)
    self.env_steps = int(result['env_steps'])
    self._load_policy(self.output_dir)

  def _load_policy(self, run_dir: str) -> None:
    from rl_tuner.policy import step_models  # pylint: disable=g-import-not-at-top
    self._policy = step_models.load_policy(run_dir, prior=self._prior)

  # --------------------------------------------------------------- generation

  def prime_internal_models(self) -> np.ndarray:
    """A `random_note` priming observation, as Magenta returns it: the one-hot [38] of a
    pitch of MIDI 48-83 for basic_rnn; for another config the one-hot [num_actions] of
    that pitch's class in the model's own layout."""
    from rl_tuner.policy import priming as priming_lib  # pylint: disable=g-import-not-at-top
    self._ensure_models()
    note = priming_lib.random_priming_notes(1, semantics=self.semantics,
                                           seed=int(np.random.randint(2**31)))
    model_class = int(encodings.model_classes(self._prior, note)[0])
    return np.eye(self.num_actions, dtype=np.float32)[model_class]

  def generate_music_sequence(self, title: str = 'rltuner_sample',
                              visualize_probs: bool = False,
                              prob_image_name: Optional[str] = None,
                              length: Optional[int] = None,
                              most_probable: bool = False) -> List[int]:
    """Composes one melody, writes `<output_dir>/<title>.mid` (then title1, ...).

    Returns:
      The composition's notes in the model's classes (the 38-class indices for basic_rnn;
      Magenta returns nothing). They are also left in `self.composition`, and their
      melody events (-2 hold, -1 note-off, MIDI pitch; repeat labels resolved) in
      `self.composition_events`.
    """
    from rl_tuner.evaluate import sampling  # pylint: disable=g-import-not-at-top
    from rl_tuner.evaluate import midi as midi_lib  # pylint: disable=g-import-not-at-top
    self._ensure_models()
    length = int(length or self.num_notes_in_melody)
    seed = int(np.random.randint(2**31))
    priming, notes = sampling.generate_compositions(
        self._policy, 1, num_notes=length, priming_mode='random_note',
        policy='greedy' if most_probable else 'sample', seed=seed, semantics=self.semantics,
        batch_size=1)
    self.composition = [int(n) for n in notes[0]]
    self.beat = length
    path = saved_runs.next_file_name(self.output_dir, title, 'mid')
    events = encodings.composition_events(self._policy, priming, notes)[0]
    self.composition_events = [int(e) for e in events]
    midi_lib.write_midi(self.composition, path, events=events)
    logging.info('Wrote a melody to %s', path)
    if visualize_probs:
      image = None if prob_image_name is None else os.path.join(self.output_dir,
                                                                 prob_image_name)
      probabilities.plot(self._policy, int(priming[0]), self.composition, image)
    return self.composition

  # --------------------------------------------------------------- evaluation

  def evaluate_music_theory_metrics(self, num_compositions: int = 10000, key=None,
                                    tonic_note: int = C_MAJOR_TONIC) -> Dict[str, Any]:
    """Composes `num_compositions` melodies and counts rule adherence.

    Sampling follows Magenta (softmax of the policy's scores, no exploration);
    the statistics follow `semantics` and the run's key. For another config than
    basic_rnn they count the compositions' melody events (repeat labels resolved), with
    pitches outside MIDI 48-83 (mono_rnn) folded into it by octaves.

    Args:
      num_compositions: how many compositions to generate.
      key: must be None (the run's `key` decides; Magenta's key-set argument
        crashed for anything but C major, bug 13).
      tonic_note: must be the run key's tonic index (14 for C major).

    Returns:
      Magenta's stat dict: counts under Magenta's keys (`num_starting_tonic`,
      `num_repeated_notes`, `notes_not_in_key`, `notes_in_motif`,
      `notes_in_repeated_motif`, `num_resolved_leaps`, `num_leap_twice`,
      `num_high_unique`, `num_low_unique`, the interval counters `num_*`),
      `autocorrelation1..3` (one value per composition), `num_compositions`,
      `total_notes`.
    """
    from rl_tuner.evaluate import sampling  # pylint: disable=g-import-not-at-top
    from rl_tuner.music import rules  # pylint: disable=g-import-not-at-top
    if key is not None:
      raise ValueError('key: pass the key to the constructor (key=%r now)' % (self.key,))
    run_key = rules.parse_key(self.key)
    if tonic_note != run_key.tonic_index:
      raise ValueError('tonic_note=%r: the run key %s has tonic index %d'
                       % (tonic_note, self.key, run_key.tonic_index))
    if num_compositions < 1:
      raise ValueError('num_compositions must be >= 1, got %r' % (num_compositions,))
    self._ensure_models()
    priming, notes = sampling.generate_compositions(
        self._policy, num_compositions, num_notes=self.num_notes_in_melody,
        priming_mode='random_note', policy='sample', seed=int(np.random.randint(2**31)),
        semantics=self.semantics)
    from rl_tuner.evaluate import scoring  # pylint: disable=g-import-not-at-top
    from rl_tuner.music import statistics  # pylint: disable=g-import-not-at-top
    # Another config's classes: the statistics read its decoded events in the 38 classes.
    notes = scoring.rule_layout_notes(self._policy, priming, notes)
    return statistics.magenta_stat_dict(notes, key=run_key, semantics=self.semantics)

  # ------------------------------------------------------------- checkpoints

  def save_model(self, name: str, directory: Optional[str] = None) -> str:
    """Saves the tuned model as the run dir `<directory>/<name>-<env steps>`.

    It holds `config.json`, `policy/` and `checkpoints/` (what
    `restore_from_directory` and `bin/evaluate_rl_tuner` read).

    Returns:
      The saved run dir.
    """
    directory = directory or self.output_dir
    if not saved_runs.is_run_dir(self.output_dir):
      raise ValueError('save_model: nothing trained yet in %s (call train first)'
                       % self.output_dir)
    target = os.path.join(directory, '%s-%d' % (name, self.env_steps))
    if os.path.abspath(target) == os.path.abspath(self.output_dir):
      raise ValueError('save_model: %s is the run dir itself' % target)
    saved_runs.copy_run(self.output_dir, target)
    return target

  def restore_from_directory(self, directory: Optional[str] = None,
                             checkpoint_name: Optional[str] = None,
                             reward_file_name: Optional[str] = None) -> str:
    """Restores a model saved by `save_model` (the newest one by default).

    Args:
      directory: a run dir, or a folder of `save_model` outputs; default output_dir.
      checkpoint_name: a `save_model` output's name (`<name>-<steps>`) in `directory`.
      reward_file_name: accepted for Magenta compatibility; rewards live in the
        run's TensorBoard events.

    Returns:
      The run dir restored from.
    """
    del reward_file_name
    directory = directory or self.output_dir
    run_dir = (os.path.join(directory, checkpoint_name) if checkpoint_name
               else saved_runs.latest_saved_run(directory))
    if run_dir is None or not saved_runs.is_run_dir(run_dir):
      raise FileNotFoundError('restore_from_directory: no saved model (a dir with config.json and checkpoints/) '
                              'in %s' % (run_dir or directory))
    saved = layout.read_run_config(run_dir)
    saved_config = saved.get('config', saved)
    if saved_config.get('algorithm') and saved_config['algorithm'] != self.algorithm:
      raise ValueError('restore_from_directory: %s was trained with algorithm=%s, this '
                       'RLTuner has algorithm=%s' % (run_dir, saved_config['algorithm'],
                                                     self.algorithm))
    self._ensure_models()
    self._load_policy(run_dir)
    match = saved_runs.SAVED_MODEL_PATTERN.match(os.path.basename(os.path.normpath(run_dir)))
    self.env_steps = int(match.group('step')) if match else self.env_steps
    # Training continues from the restored model: its checkpoints become the run's.
    if os.path.abspath(run_dir) != os.path.abspath(self.output_dir):
      saved_runs.adopt_run(run_dir, self.output_dir)
    return run_dir
