"""`train_eval`: tune a Note RNN with Q, Ψ, G, RL-only, PPO or GRPO into a run directory.

The on-policy algorithms (ppo, grpo) have their own tuner (`pg_trainer`) with the same
interface (`run_round`, `checkpoint`, `env_steps`, ...), and share everything else here:
run dir, lock, resume, NaN stop, summaries, exports and the final evaluation.

One round of the loop collects `num_parallel_envs` whole episodes with
`collect.EpisodeCollector` (one compiled graph), scores them with the
vectorised music-theory rules, adds them to the episode replay buffer, then
runs the gradient steps owed so far: U(n) = n // train_every_n after n
environment steps (once `min_replay_transitions` are stored), each on
ceil(batch_size / num_notes) whole episodes. So the replay ratio is Magenta's
(batch_size transitions per train_every_n steps) whatever the batching.

Faults (issue 8): `.lock` is a live `flock`; a rerun resumes from the newest
readable checkpoint (networks, optimizer, replay, step counters, RNG state) and
stops at the same step count; `overwrite` starts fresh; a NaN/Inf loss or reward
stops the run naming the step and the term, keeping the last good checkpoint.
"""

from pipelines.errors import FlagError
import os
import sys
import time
from typing import Any, Callable, Dict, Optional

import numpy as np
import tensorflow as tf
from tf_agents.specs import tensor_spec
from tf_agents.trajectories import time_step as ts

from note_rnn import run_common
from pipelines import files
from rl_tuner.rl import agents
from rl_tuner.rl import collect
from rl_tuner import config as config_lib
from rl_tuner.policy import priming as priming_lib
from rl_tuner.rl import model_networks
from rl_tuner.policy import encodings
from rl_tuner.policy import layout
from rl_tuner.policy import saved_policy
from rl_tuner.policy import step_models
from rl_tuner.policy import run_dir as run_dir_lib

# Settings that may change between a run and its resume; any other difference is an error.
RESUMABLE_CHANGES = ('overwrite', 'num_steps', 'final_eval_compositions',
                     'num_midi_compositions', 'output_every_nth', 'checkpoint_every_n',
                     'num_checkpoints_to_keep', 'xla')
UPDATE_CHUNK = 64  # gradient steps per compiled call




def _versions() -> Dict[str, str]:
  import tf_agents  # pylint: disable=g-import-not-at-top
  out = {'python': sys.version.split()[0], 'tensorflow': tf.__version__,
         'tf_agents': tf_agents.__version__, 'numpy': np.__version__}
  try:
    import note_seq  # pylint: disable=g-import-not-at-top
    out['note_seq'] = getattr(note_seq, '__version__', 'unknown')
  except ImportError:
    pass
  return out


class Tuner(collect.RunSettings):
  """The networks, agent, collector, replay buffer and checkpoint of one run."""

  LOSS_NAME = 'TD loss'

  def __init__(self, config: config_lib.RLTunerConfig, prior_model,
               primers: Optional[np.ndarray]):
    super().__init__(config, prior_model, primers)
    c = config
    obs_spec, self.q_network, self.prior_network = model_networks.make_networks(
        prior_model, primers)
    action_spec = tensor_spec.BoundedTensorSpec(
        (), tf.int32, 0, self.num_classes - 1, 'action')
    self.env_steps = tf.Variable(0, dtype=tf.int64, name='env_steps')
    self.train_step = tf.Variable(0, dtype=tf.int64, name='train_step')
    boltzmann = c.exploration_mode == 'boltzmann'
    self.agent = agents.make_agent(
        self.algorithm, ts.time_step_spec(obs_spec), action_spec, self.q_network,
        discount_rate=c.discount_rate, learning_rate=c.learning_rate,
        adam_epsilon=c.adam_epsilon, gradient_clipping=c.gradient_clipping,
        target_update_tau=c.target_network_update_rate,
        epsilon_greedy=lambda: self.collector.epsilon(
            tf.cast(self.env_steps, tf.float32)),
        boltzmann_temperature=1.0 if boltzmann else None, train_step_counter=self.train_step)
    self.collector = collect.EpisodeCollector(
        self.q_network, self.prior_network, num_envs=c.num_parallel_envs,
        num_notes=c.num_notes, semantics=c.semantics,
        add_prior_to_scores=self.algorithm == 'g', exploration_mode=c.exploration_mode,
        exploration_period=c.exploration_period, initial_epsilon=c.initial_epsilon,
        final_epsilon=c.random_action_probability,
        num_primers=0 if primers is None else len(primers), seed=c.seed)
    self.replay = collect.make_replay_buffer(
        self.agent.collect_data_spec, num_notes=c.num_notes, num_envs=c.num_parallel_envs,
        capacity_transitions=c.replay_capacity)
    self.episodes_per_batch = c.episodes_per_batch
    self.checkpoint = tf.train.Checkpoint(
        q_network=self.q_network, target_q_network=self.agent._target_q_network,  # pylint: disable=protected-access
        optimizer=self.agent._optimizer, train_step=self.train_step,  # pylint: disable=protected-access
        env_steps=self.env_steps, replay=self.replay, rng=self.collector.generator)
    self._train_chunk = tf.function(self._train_chunk_graph, jit_compile=bool(c.xla),
                                    autograph=False)
    # The run's sampling policy on the live (training) variables.
    self.live_policy = step_models.acting_model(self.algorithm, self.q_network,
                                                self.prior_network)
    self._sample = tf.function(self._sample_graph, autograph=False)

  def _sample_graph(self, num_updates: int):
    experience, _ = self.replay.get_next(
        sample_batch_size=num_updates * self.episodes_per_batch)
    return tf.nest.map_structure(
        lambda x: tf.reshape(x, [num_updates, self.episodes_per_batch] + x.shape[1:].as_list()),
        experience)

  def _train_chunk_graph(self, experience):
    """Gradient steps over experience [K, E, T+1, ...]: returns the K losses."""
    num = tf.shape(experience.reward)[0]

    # DqnAgent sums the TD loss over an episode's steps; weighting each episode by
    # 1/T makes it the original's MSE, a mean over transitions.
    weight = tf.constant(1.0 / self.config.num_notes, tf.float32)

    def body(i, losses):
      loss = self.agent.train(tf.nest.map_structure(lambda x: x[i], experience),
                              weights=weight).loss
      return i + 1, losses.write(i, loss)

    _, losses = tf.while_loop(
        lambda i, _: i < num, body, (tf.constant(0), tf.TensorArray(tf.float32, size=num)),
        maximum_iterations=experience.reward.shape[0])
    return losses.stack()

  def train(self, num_updates: int) -> np.ndarray:
    """Runs `num_updates` gradient steps; returns their losses (float32 [num_updates])."""
    losses = []
    done = 0
    while done < num_updates:
      chunk = UPDATE_CHUNK if num_updates - done >= UPDATE_CHUNK else 1
      losses.append(self._train_chunk(self._sample(chunk)).numpy())
      done += chunk
    return np.concatenate(losses) if losses else np.zeros(0, np.float32)

  def updates_owed(self) -> int:
    c = self.config
    steps = int(self.env_steps.numpy())
    if steps < max(c.min_replay_transitions, c.batch_size):
      return 0
    return steps // c.train_every_n - int(self.train_step.numpy())

  def collect_round(self) -> Dict[str, np.ndarray]:
    """One batch of episodes into the replay buffer; returns its reward arrays [B, T]."""
    c = self.config
    env_steps = int(self.env_steps.numpy())
    episodes = self.collector.collect_episodes(env_steps)
    notes, log_probs, rows = episodes.notes, episodes.log_probs, episodes.rows
    rewards = self.episode_rewards(episodes, env_steps, add_log_p=c.reward_adds_log_p)
    self.replay.add_batch(collect.episodes_to_trajectory(
        notes, log_probs, rewards['total'], rows if self.primers is not None else None,
        num_classes=self.num_classes))
    self.env_steps.assign_add(notes.shape[0] * c.num_notes)
    rewards['notes'] = notes
    # log p_prior of the played notes, also for g and pure_rl, whose reward omits it.
    rewards['prior_log_p'] = collect.action_log_probs(notes, log_probs)
    return rewards

  def run_round(self):
    """Collects one round and runs the gradient steps owed: (rewards, losses, scalars)."""
    rewards = self.collect_round()
    try:
      losses = self.train(self.updates_owed())
    except tf.errors.InvalidArgumentError as e:
      if 'nan' not in str(e).lower() and 'inf' not in str(e).lower():
        raise
      losses = np.array([np.nan], np.float32)
    c = self.config
    eps = (float(self.collector.epsilon(int(self.env_steps.numpy())))
           if c.exploration_mode == 'egreedy' else 0.0)
    return rewards, losses, {'train/epsilon': eps}

  def policy_weights(self):
    return self.q_network.get_note_rnn_weights()

  def prior_weights(self):
    return self.prior_network.get_note_rnn_weights()


def make_tuner(config: config_lib.RLTunerConfig, prior_model, primers: Optional[np.ndarray]):
  """The run's tuner: `Tuner` (q, psi, g, pure_rl) or `pg_trainer.PolicyGradientTuner`."""
  if config.canonical_algorithm in config_lib.POLICY_GRADIENT_ALGORITHMS:
    from rl_tuner.rl import pg_trainer  # pylint: disable=g-import-not-at-top
    return pg_trainer.PolicyGradientTuner(config, prior_model, primers)
  return Tuner(config, prior_model, primers)


def _check_resume(run_dir: str, config: config_lib.RLTunerConfig, log) -> None:
  old = run_dir_lib.read_config(run_dir)
  if old is None:
    return
  new = config.to_dict()
  new['algorithm'] = config.canonical_algorithm
  for name, value in new.items():
    if name in RESUMABLE_CHANGES or name == 'output_dir' or name not in old:
      continue
    if old[name] != value:
      raise FlagError(name, '--%s=%s differs from the run in %s (%s=%s); resume '
                                    'with the same value or pass --overwrite to start fresh'
                                    % (name, value, run_dir, name, old[name]))
  log('resuming the run in %s' % run_dir)


def _write_config(run_dir: str, config: config_lib.RLTunerConfig, prior_model) -> dict:
  values = config.to_dict()
  values['algorithm'] = config.canonical_algorithm
  values['algorithm_flag'] = config.algorithm
  values['effective_reward_mode'] = config.effective_reward_mode
  # The rules and weights actually used (re-loaded by name; a module is imported only
  # when bin/evaluate_rl_tuner is given --reward_rule_module itself).
  values['effective_reward_rules'] = config.effective_reward_rules
  values['reward_adds_log_p'] = config.reward_adds_log_p
  # 'shipped' is resolved at load time; the digest says which weights this run tuned.
  values['note_rnn'] = {'checkpoint': config.note_rnn_checkpoint or layout.SHIPPED,
                        'layer_sizes': list(prior_model.layer_sizes),
                        'weights_sha256': layout.weights_digest(prior_model.get_weights())}
  values['versions'] = _versions()
  values['git_sha'] = run_dir_lib.git_sha()
  values['format'] = 'rl_tuner.policy.run_dir/1'
  files.write_json_atomic(os.path.join(run_dir, layout.CONFIG_FILE), values)
  return values


def _summaries(writer, step: int, rewards, losses, scalars, rate: float) -> None:
  with writer.as_default(step=step):
    tf.summary.scalar('reward/total', float(np.mean(rewards['total'])))
    tf.summary.scalar('reward/music_theory', float(np.mean(rewards['music_theory'])))
    tf.summary.scalar('reward/log_p', float(np.mean(rewards['prior_log_p'])))
    if losses.size:
      tf.summary.scalar('train/loss', float(np.mean(losses)))
    for name, value in scalars.items():
      tf.summary.scalar(name, value)
    tf.summary.scalar('train/env_steps_per_sec', rate)


def rounded_budget(config: config_lib.RLTunerConfig) -> int:
  """The env steps a run takes: --num_steps rounded up to whole collection rounds."""
  per_round = config.num_parallel_envs * config.num_notes
  return -(-config.num_steps // per_round) * per_round


def _train_loop(tuner: Tuner, manager, writer, log, on_check=None,
                check_every: Optional[int] = None) -> Dict[str, float]:
  c = tuner.config
  start_steps = int(tuner.env_steps.numpy())
  budget = rounded_budget(c)
  if budget != c.num_steps and start_steps < c.num_steps:
    per_round = c.num_parallel_envs * c.num_notes
    log(f'--num_steps={c.num_steps} → {budget:,} steps: whole rounds of {per_round:,}')
  start_time = time.perf_counter()
  last_log_steps, last_ckpt = start_steps, start_steps // c.checkpoint_every_n
  last_losses = np.zeros(0, np.float32)
  last_check = start_steps // check_every if check_every else 0
  stop = bool(on_check is not None and on_check(start_steps, tuner.live_policy))
  while not stop and int(tuner.env_steps.numpy()) < c.num_steps:
    rewards, losses, scalars = tuner.run_round()
    steps = int(tuner.env_steps.numpy())
    if losses.size and not np.all(np.isfinite(losses)):
      raise run_common.TrainingDivergedError(
          'gradient step %d (env step %d): the %s is NaN/Inf; stopping, the last good '
          'checkpoint is kept in %s' % (int(tuner.train_step.numpy()), steps, tuner.LOSS_NAME,
                                          manager.directory))
    if losses.size:
      last_losses = losses
    if steps // c.checkpoint_every_n > last_ckpt:
      manager.save(checkpoint_number=steps)
      last_ckpt = steps // c.checkpoint_every_n
    if steps - last_log_steps >= c.output_every_nth or steps >= c.num_steps:
      elapsed = time.perf_counter() - start_time
      rate = (steps - start_steps) / max(elapsed, 1e-9)
      _summaries(writer, steps, rewards, last_losses, scalars, rate)
      log('step %d/%d  %.0f env-steps/s  %d gradient steps  loss %.4g  reward/note %.3f '
          '(music theory %.3f; log p_prior of the notes %.3f)  %s' % (
              steps, budget, rate, int(tuner.train_step.numpy()),
              float(np.mean(last_losses)) if last_losses.size else float('nan'),
              float(np.mean(rewards['total'])), float(np.mean(rewards['music_theory'])),
              float(np.mean(rewards['prior_log_p'])),
              '  '.join('%s %.4g' % (k.split('/')[-1], v) for k, v in scalars.items())))
      last_log_steps = steps
    if on_check is not None and check_every and steps // check_every > last_check:
      last_check = steps // check_every
      stop = bool(on_check(steps, tuner.live_policy))
  elapsed = time.perf_counter() - start_time
  return {'train_seconds': elapsed,
          'final_loss': float(np.mean(last_losses)) if last_losses.size else None}


def _export_note_rnn(tuner: Tuner, run_dir: str, log) -> Optional[str]:
  path = os.path.join(run_dir, layout.NOTE_RNN_EXPORT_DIR)
  if tuner.algorithm == 'g':
    log('note_rnn_export/ is not written for g: a G-learning policy samples softmax(G + log '
        'p_prior), so it needs the prior beside the network and is not a Note RNN; use '
        'policy/ instead')
    return None
  model = encodings.build_like(tuner.prior_model, tuner.policy_weights())
  model.save(path, source='rl_tuner', algorithm=tuner.algorithm,
             tuned_run_dir=os.path.abspath(run_dir))
  return path


def _write_compositions(run_dir: str, config: config_lib.RLTunerConfig,
                        primers: Optional[np.ndarray], prior_model) -> None:
  from rl_tuner.evaluate import sampling  # pylint: disable=g-import-not-at-top
  from rl_tuner.evaluate import midi as midi_lib  # pylint: disable=g-import-not-at-top
  if config.num_midi_compositions <= 0:
    return
  policy = step_models.load_policy(run_dir, prior=prior_model)
  priming, notes = sampling.generate_compositions(
      policy, config.num_midi_compositions, num_notes=config.num_notes,
      priming_mode=config.priming_mode, policy='sample', seed=config.seed,
      batch_size=config.num_midi_compositions, semantics=config.semantics, primers=primers)
  events = encodings.composition_events(policy, priming, notes)
  out_dir = os.path.join(run_dir, layout.COMPOSITIONS_DIR)
  os.makedirs(out_dir, exist_ok=True)
  for i, row in enumerate(notes):
    midi_lib.write_midi(row, os.path.join(out_dir, '%s_%d.mid' % (
        config.canonical_algorithm, i)), qpm=midi_lib.RL_TUNER_QPM,
                        chord_progression=config.chord_progression, events=events[i])


def _final_metrics(run_dir: str, config: config_lib.RLTunerConfig, writer, step: int,
                   log) -> Optional[dict]:
  from rl_tuner.evaluate import runs as runs_lib  # pylint: disable=g-import-not-at-top
  if config.final_eval_compositions <= 0:
    return None
  result = runs_lib.run_evaluation(
      runs_lib.EvaluationConfig(
          output_dir=run_dir, run_dirs=[run_dir], semantics=config.semantics, policy='sample',
          num_compositions=config.final_eval_compositions, seed=config.seed,
          reward_rule_module=config.reward_rule_module),
      log=log)
  entry = result[os.path.basename(os.path.normpath(run_dir))]
  with writer.as_default(step=step):
    for name, value in entry.items():
      if isinstance(value, (int, float)) and not isinstance(value, bool):
        tf.summary.scalar('eval/%s' % name, float(value))
  return result


def train_eval(config: config_lib.RLTunerConfig,
               log: Callable[[str], None] = print, *,
               on_check: Optional[Callable[[int, Any], Optional[bool]]] = None,
               check_every: Optional[int] = None) -> dict:
  """Trains (or resumes) a run into `config.output_dir` and evaluates it.

  `on_check(env_steps, live_policy)` (for benchmarks such as
  bench/time_to_quality.py) is called once before the first environment step,
  after every build and restore, and then whenever the env-step count passes a
  multiple of `check_every`; `live_policy` is a step model on the training
  variables. Returning True stops training there (the usual end-of-run work
  still runs). The time spent inside it is the caller's to account for.

  Returns:
    {'run_dir', 'env_steps', 'gradient_steps', 'train_seconds', 'final_loss',
     'metrics' (the metrics.json dict, or None without a final evaluation)}.

  Raises:
    FlagError: an invalid setting (names the flag).
    FlagError: the directory is locked by a live run, or a resume's
      settings differ from the run's.
    run_common.TrainingDivergedError: NaN/Inf loss or reward.
  """
  config_lib.check(config)
  run_dir = config.output_dir
  primers = priming_lib.primer_rows(config.to_dict())
  prior_model = run_dir_lib.load_run_prior(config.to_dict())
  os.makedirs(run_dir, exist_ok=True)
  with run_dir_lib.RunLock(run_dir):
    if config.overwrite:
      run_dir_lib.clear_outputs(run_dir)
    _check_resume(run_dir, config, log)
    tf.random.set_seed(config.seed)
    tuner = make_tuner(config, prior_model, primers)
    manager = tf.train.CheckpointManager(
        tuner.checkpoint, os.path.join(run_dir, layout.CHECKPOINTS_DIR),
        max_to_keep=config.num_checkpoints_to_keep)
    restored = run_dir_lib.restore_latest_good(tuner.checkpoint, manager, log)
    if restored:
      log('restored %s at env step %d' % (restored, int(tuner.env_steps.numpy())))
    if run_dir_lib.read_config(run_dir) is None:
      _write_config(run_dir, config, prior_model)
    writer = tf.summary.create_file_writer(os.path.join(run_dir, layout.TB_DIR))
    stats = _train_loop(tuner, manager, writer, log, on_check=on_check,
                        check_every=check_every)
    steps = int(tuner.env_steps.numpy())
    if not manager.latest_checkpoint or not manager.latest_checkpoint.endswith('-%d' % steps):
      manager.save(checkpoint_number=steps)
    saved_policy.save_policy(run_dir, tuner.policy_weights(),
                             tuner.prior_weights() if tuner.algorithm == 'g' else None,
                             like=prior_model)
    _export_note_rnn(tuner, run_dir, log)
    _write_compositions(run_dir, config, primers, prior_model)
    metrics = _final_metrics(run_dir, config, writer, steps, log)
    writer.flush()
    return {'run_dir': run_dir, 'env_steps': steps,
            'gradient_steps': int(tuner.train_step.numpy()),
            'metrics': metrics, **stats}
