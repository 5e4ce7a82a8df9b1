"""The on-policy tuner (ppo, grpo): collect a round, update on it, adapt β.

`PolicyGradientTuner` has the interface `trainer.train_eval` drives (`run_round`,
`checkpoint`, `env_steps`, `train_step`, `live_policy`, `q_network`, weights), so run
dir, lock, resume after kill -9, NaN stop, TensorBoard, exports and evaluation are the
DQN family's. One round: `num_parallel_envs` whole episodes sampled from softmax(actor
logits) in one graph (`collect.EpisodeCollector` in Boltzmann mode; for grpo each
group of `group_size` episodes shares its primer), λ·R_MT from the vectorised rules,
then `ppo_epochs × ppo_minibatches` PPO-clip steps (`policy_gradient`), then, with
`target_kl_per_note`, β ← Ziegler et al.'s controller on the round's sampled KL (with
`kl_hold_until_target`, only from the first round whose KL reaches the target: a run
starts at KL 0, and letting β wind down over the rounds before would leave it far below
the β that holds the target by the time the KL gets there; in a run of ~25 rounds the
controller then cannot climb back before the end).

The actor, the frozen prior and the value body are `model_networks.make_network` copies of
the run's Note RNN, of whatever melody_rnn config (basic, lookback, attention, mono): the
actions are that config's classes, and the rules read the episodes decoded to melody events
(`collect.Episodes.events`, decoded in the collection graph, through
`collect.RunSettings.episode_rewards`), exactly as for the DQN family. The actor is
checkpointed under `q_network` (`policy.run_dir.NETWORK_CHECKPOINT_KEY`), so
`policy.step_models.load_policy` rebuilds it as it rebuilds a Q network (for other configs
than basic_rnn, a fresh model of the config restored from `q_network/_model/...`): its
outputs are the policy's logits, and `note_rnn_export/` is a Note RNN of the same config.
β is a checkpointed variable, so a resumed run continues the controller where it stopped.
"""

from typing import Optional

import numpy as np
import tensorflow as tf

from rl_tuner import config as config_lib
from rl_tuner.rl import agents
from rl_tuner.rl import collect
from rl_tuner.rl import model_networks
from rl_tuner.rl import policy_gradient


class GroupedEpisodeCollector(collect.EpisodeCollector):
  """grpo's collector: every `group_size` consecutive episodes share their primer/first note."""

  def __init__(self, *args, group_size: int, **kwargs):
    super().__init__(*args, **kwargs)
    self._group_size = int(group_size)

  def _first_notes(self):
    num_envs = self._num_envs
    self._num_envs = num_envs // self._group_size
    try:
      rows, first = super()._first_notes()
    finally:
      self._num_envs = num_envs
    return tf.repeat(rows, self._group_size), tf.repeat(first, self._group_size)


class PolicyGradientTuner(collect.RunSettings):
  """The actor, value network, learner, collector and checkpoint of one ppo/grpo run."""

  LOSS_NAME = 'PPO loss'

  def __init__(self, config: config_lib.RLTunerConfig, prior_model,
               primers: Optional[np.ndarray]):
    super().__init__(config, prior_model, primers)
    c = config
    _, self.q_network, self.prior_network = model_networks.make_networks(
        prior_model, primers, name='Actor')
    grpo = self.algorithm == 'grpo'
    self.value_network = None if grpo else policy_gradient.ValueNetwork(
        model_networks.make_network(prior_model, primers, name='ValueBody'))
    self.env_steps = tf.Variable(0, dtype=tf.int64, name='env_steps')
    self.train_step = tf.Variable(0, dtype=tf.int64, name='train_step')
    self.kl_coef = tf.Variable(c.kl_coef, dtype=tf.float64, name='kl_coef')
    # Whether the sampled KL has reached the target yet (kl_hold_until_target).
    self.kl_reached = tf.Variable(False, name='kl_reached')
    self.optimizer = agents.make_optimizer(c.learning_rate, c.adam_epsilon)
    self.learner = policy_gradient.PolicyGradientLearner(
        self.q_network, self.value_network, self.optimizer, discount=c.discount_rate,
        gae_lambda=c.gae_lambda, clip_ratio=c.clip_ratio, value_coef=c.value_coef,
        group_size=c.group_size if grpo else None, epochs=c.ppo_epochs,
        minibatches=c.ppo_minibatches, gradient_clipping=c.gradient_clipping)
    collector_args = dict(
        num_envs=c.num_parallel_envs, num_notes=c.num_notes, semantics=c.semantics,
        add_prior_to_scores=False, exploration_mode='boltzmann', exploration_period=0,
        initial_epsilon=0.0, final_epsilon=0.0,
        num_primers=0 if primers is None else len(primers), seed=c.seed)
    if grpo:
      self.collector = GroupedEpisodeCollector(self.q_network, self.prior_network,
                                               group_size=c.group_size, **collector_args)
    else:
      self.collector = collect.EpisodeCollector(self.q_network, self.prior_network,
                                                **collector_args)
    parts = dict(q_network=self.q_network, optimizer=self.optimizer,
                 train_step=self.train_step, env_steps=self.env_steps,
                 kl_coef=self.kl_coef, kl_reached=self.kl_reached, rng=self.collector.generator)
    if self.value_network is not None:
      parts['value_network'] = self.value_network
    self.checkpoint = tf.train.Checkpoint(**parts)
    self._update = tf.function(self.learner.update, jit_compile=bool(c.xla),
                               autograph=False)
    self.live_policy = self.q_network

  def _episode_inputs(self, notes: np.ndarray, log_probs: np.ndarray, rows: np.ndarray):
    step, _, _ = collect.episode_step_types(notes.shape[1] - 1)
    step_type = tf.constant(np.tile(step[None], (notes.shape[0], 1)))
    return self.episode_observation(notes, log_probs, rows), step_type

  def run_round(self):
    """One round of collection and update: (rewards, losses [K], TensorBoard scalars)."""
    c = self.config
    env_steps = int(self.env_steps.numpy())
    episodes = self.collector.collect_episodes(env_steps)
    notes, log_probs, rows = episodes.notes, episodes.log_probs, episodes.rows
    rewards = self.episode_rewards(episodes, env_steps, add_log_p=False)
    prior_log_p = collect.action_log_probs(notes, log_probs)
    observation, step_type = self._episode_inputs(notes, log_probs, rows)
    permutations = tf.argsort(self.collector.generator.uniform(
        [c.ppo_epochs, notes.shape[0]]), axis=-1)
    stats = self._update(observation, step_type, tf.constant(rewards['music_theory']),
                         tf.constant(prior_log_p), tf.cast(self.kl_coef, tf.float32),
                         permutations)
    stats = {k: v.numpy() for k, v in stats.items()}
    losses = np.asarray(stats['loss'], np.float32)
    num_steps = notes.shape[0] * c.num_notes
    kl = float(stats['kl_per_note'])
    scalars = {'reward/kl': kl, 'train/kl_coef': float(self.kl_coef.numpy()),
               'train/policy_loss': float(stats['policy_loss']),
               'train/clip_fraction': float(stats['clip_fraction'])}
    if self.value_network is not None:
      scalars['train/value_loss'] = float(stats['value_loss'])
    self._adapt_kl_coef(kl, num_steps)
    self.env_steps.assign_add(num_steps)
    self.train_step.assign_add(losses.size)
    rewards['notes'] = notes
    rewards['prior_log_p'] = prior_log_p
    rewards['total'] = rewards['music_theory'] - float(scalars['train/kl_coef']) * kl
    return rewards, losses, scalars

  def _adapt_kl_coef(self, kl: float, num_steps: int) -> None:
    c = self.config
    if c.target_kl_per_note is None or not np.isfinite(kl):
      return
    if kl >= c.target_kl_per_note:
      self.kl_reached.assign(True)
    if c.kl_hold_until_target and not bool(self.kl_reached.numpy()):
      return
    self.kl_coef.assign(policy_gradient.adaptive_kl_coef(
        float(self.kl_coef.numpy()), kl, c.target_kl_per_note, num_steps, c.kl_horizon))

  def policy_weights(self):
    return self.q_network.get_note_rnn_weights()

  def prior_weights(self):
    return self.prior_network.get_note_rnn_weights()
