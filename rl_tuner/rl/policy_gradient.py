"""KL-regularised policy gradient (ppo, grpo): the loss maths and the learner.

Both algorithms maximise E[Σ_t λ·R_MT(s_t, a_t)] − β·KL(π ‖ p_prior), the objective
Ψ-learning solves off-policy, on-policy: the per-note KL penalty
β·(log π(a_t|s_t) − log p_prior(a_t|s_t)) of the sampled note goes into the reward
(`kl_penalised_rewards`), as in Ziegler et al. (2019). tf-agents' PPO agents penalise the
KL to the *previous* policy, not to a fixed reference, which is why the prior's KL is in
the reward here rather than in the agent's loss.

Why not `tf_agents.agents.ppo.PPOClipAgent` itself: it trains from a driver's
trajectories through its own actor/value networks (`ActorDistributionRnnNetwork` emits
a distribution, not the Note RNN's logits, so neither `policy.step_models.load_policy`
nor `note_rnn_export/` could rebuild it from the checkpoint), computes advantages from
the trajectory's rewards in its own `compute_advantages` (no hook for a reward that
depends on β, which changes between rounds) and has no group-relative mode. What the
DQN family gets from tf-agents — networks and specs — is kept: the actor is the same
network as the DQN family's Q network (`model_networks.make_network`: the Note RNN of any
melody_rnn config, outputs its logits over the config's classes), collected in one graph by
`collect.EpisodeCollector` (Boltzmann = sampling softmax(actor logits)). This module is
the small PPO-clip loss on top.

ppo: advantages by generalised advantage estimation (`gae_advantages`) with a value
network (`ValueNetwork`, another such copy of the Note RNN with a linear head). grpo: several
compositions per primer (a group), advantage = return-to-go minus the group's mean
return-to-go at the same step (`group_relative_advantages`), no value network.

The adaptive β (`adaptive_kl_coef`) is Ziegler et al.'s proportional controller:
e = clip(KL/target − 1, −0.2, 0.2), β ← β·(1 + e·n/horizon) after n env steps.
"""

from typing import Dict, Optional

import numpy as np
import tensorflow as tf
from tf_agents.networks import network

from rl_tuner.policy import encodings

KL_CONTROLLER_CLIP = 0.2


def kl_penalised_rewards(music_theory, log_pi, log_prior, kl_coef):
  """(rewards, kl) [B, T]: r = λ·R_MT − β·(log π(a|s) − log p_prior(a|s)), kl its bracket."""
  kl = tf.convert_to_tensor(log_pi, tf.float32) - tf.convert_to_tensor(log_prior, tf.float32)
  return tf.convert_to_tensor(music_theory, tf.float32) - tf.cast(kl_coef, tf.float32) * kl, kl


def _reverse_discounted_sum(x, factor):
  """y_t = x_t + factor·y_{t+1} over axis 1 of [B, T] (y_T = 0)."""
  x = tf.convert_to_tensor(x, tf.float32)
  reverse = tf.reverse(tf.transpose(x), [0])
  acc = tf.scan(lambda carry, x_t: x_t + factor * carry, reverse,
                initializer=tf.zeros_like(reverse[0]))
  return tf.transpose(tf.reverse(acc, [0]))


def discounted_returns(rewards, discount: float):
  """Return-to-go G_t = Σ_{k≥t} γ^{k−t} r_k of whole episodes [B, T] (the episode ends at T)."""
  return _reverse_discounted_sum(rewards, discount)


def gae_advantages(rewards, values, discount: float, gae_lambda: float):
  """(advantages, returns) [B, T] by GAE; values [B, T] are V(s_0..s_{T−1}), V(s_T) = 0.

  δ_t = r_t + γ·V_{t+1} − V_t, A_t = δ_t + γλ·A_{t+1}; returns = A + V (the value target).
  """
  values = tf.convert_to_tensor(values, tf.float32)
  next_values = tf.concat([values[:, 1:], tf.zeros_like(values[:, :1])], axis=1)
  deltas = tf.convert_to_tensor(rewards, tf.float32) + discount * next_values - values
  advantages = _reverse_discounted_sum(deltas, discount * gae_lambda)
  return advantages, advantages + values


def group_relative_advantages(rewards, group_size: int, discount: float):
  """A_t = G_t − mean of G_t over the episode's group; rows [g·k, g·k + k) share a primer."""
  returns = discounted_returns(rewards, discount)
  num_steps = tf.shape(returns)[1]
  grouped = tf.reshape(returns, [-1, group_size, num_steps])
  centred = grouped - tf.reduce_mean(grouped, axis=1, keepdims=True)
  return tf.reshape(centred, tf.shape(returns))


def normalise(advantages):
  """(A − mean) / (std + 1e-8) over the whole batch (PPO's usual scaling)."""
  mean, variance = tf.nn.moments(tf.reshape(advantages, [-1]), axes=[0])
  return (advantages - mean) / (tf.sqrt(variance) + 1e-8)


def clipped_surrogate_loss(log_pi, old_log_pi, advantages, clip_ratio: float):
  """(loss, clip fraction): −mean(min(ρA, clip(ρ, 1−ε, 1+ε)A)), ρ = π/π_old."""
  ratio = tf.exp(log_pi - old_log_pi)
  clipped = tf.clip_by_value(ratio, 1.0 - clip_ratio, 1.0 + clip_ratio)
  objective = tf.minimum(ratio * advantages, clipped * advantages)
  clip_fraction = tf.reduce_mean(tf.cast(tf.abs(ratio - 1.0) > clip_ratio, tf.float32))
  return -tf.reduce_mean(objective), clip_fraction


def adaptive_kl_coef(kl_coef: float, kl_per_note: float, target: float, num_steps: int,
                     horizon: int) -> float:
  """Ziegler et al.'s controller: β·(1 + clip(KL/target − 1, ±0.2)·n/horizon)."""
  error = float(np.clip(kl_per_note / target - 1.0, -KL_CONTROLLER_CLIP, KL_CONTROLLER_CLIP))
  return float(kl_coef) * (1.0 + error * num_steps / horizon)


def action_log_probs(logits, actions):
  """log softmax(logits)[a]: logits [B, T, C], actions int [B, T] -> [B, T]."""
  log_probs = tf.nn.log_softmax(logits, axis=-1)
  return tf.gather(log_probs, actions, axis=-1, batch_dims=2)


class ValueNetwork(network.Network):
  """V(s_t): a trainable copy of the Note RNN (any config), its C outputs mapped by a linear head.

  Starting from the Note RNN's weights gives the value a melody-aware state at once;
  the head starts at zero, so V = 0 until it learns.
  """

  def __init__(self, body: network.Network, name: str = 'ValueNetwork'):
    """`body`: the trainable network over the model's classes (`model_networks.make_network`)."""
    super().__init__(input_tensor_spec=body.input_tensor_spec, state_spec=body.state_spec,
                     name=name)
    self._body = body
    self._head = tf.keras.layers.Dense(1, kernel_initializer='zeros', name='value_head')
    self._head.build((None, encodings.num_classes(body)))

  def call(self, observation, step_type=None, network_state=(), training=False):
    features, state = self._body(observation, step_type=step_type,
                                 network_state=network_state, training=training)
    return self._head(features)[..., 0], state


class PolicyGradientLearner(tf.Module):
  """One round's PPO-clip (or GRPO) update of the actor (and for ppo the value network).

  `update` takes whole episodes as the collector returns them and runs
  `epochs × minibatches` Adam steps (global-norm clipped) in one graph.
  """

  def __init__(self, actor, value_network: Optional[ValueNetwork], optimizer, *,
               discount: float, gae_lambda: float, clip_ratio: float, value_coef: float,
               group_size: Optional[int], epochs: int, minibatches: int,
               gradient_clipping: float):
    super().__init__(name='PolicyGradientLearner')
    self.actor = actor
    self.value_network = value_network
    self.optimizer = optimizer
    self._discount = float(discount)
    self._gae_lambda = float(gae_lambda)
    self._clip_ratio = float(clip_ratio)
    self._value_coef = float(value_coef)
    self._group_size = group_size
    self._epochs = int(epochs)
    self._minibatches = int(minibatches)
    self._gradient_clipping = float(gradient_clipping)

  def _variables(self):
    out = list(self.actor.trainable_variables)
    if self.value_network is not None:
      out += list(self.value_network.trainable_variables)
    return out

  def _advantages(self, observation, step_type, rewards):
    if self.value_network is None:
      advantages = group_relative_advantages(rewards, self._group_size, self._discount)
      return normalise(advantages), tf.zeros_like(rewards)
    values, _ = self.value_network(observation, step_type=step_type)
    advantages, returns = gae_advantages(rewards, values[:, :-1], self._discount,
                                         self._gae_lambda)
    return normalise(advantages), returns

  def _minibatch_step(self, batch):
    observation, step_type, actions, old_log_pi, advantages, returns = batch
    with tf.GradientTape() as tape:
      logits, _ = self.actor(observation, step_type=step_type)
      log_pi = action_log_probs(logits[:, :-1], actions)
      policy_loss, clip_fraction = clipped_surrogate_loss(log_pi, old_log_pi, advantages,
                                                          self._clip_ratio)
      value_loss = tf.constant(0.0)
      if self.value_network is not None:
        values, _ = self.value_network(observation, step_type=step_type)
        value_loss = tf.reduce_mean(tf.square(values[:, :-1] - returns))
      loss = policy_loss + self._value_coef * value_loss
    variables = self._variables()
    grads = tape.gradient(loss, variables)
    grads, _ = tf.clip_by_global_norm(grads, self._gradient_clipping)
    self.optimizer.apply_gradients(zip(grads, variables))
    return loss, policy_loss, value_loss, clip_fraction

  def update(self, observation, step_type, music_theory, prior_log_p, kl_coef, permutations
             ) -> Dict[str, tf.Tensor]:
    """Episodes [B, T+1] (frames o_0..o_T), rewards [B, T] -> the round's statistics.

    Args:
      observation: {'note' one-hot [B, T+1, C] (the model's classes), 'primer'?} of the
        episodes.
      step_type: int [B, T+1] (FIRST at frame 0).
      music_theory: λ·R_MT [B, T] of the played notes o_1..o_T.
      prior_log_p: log p_prior(a_t|s_t) [B, T].
      kl_coef: β (a scalar tensor).
      permutations: int [epochs, B] episode orders, one per pass.
    """
    actions = tf.argmax(observation['note'][:, 1:], axis=-1, output_type=tf.int32)
    logits, _ = self.actor(observation, step_type=step_type)
    old_log_pi = tf.stop_gradient(action_log_probs(logits[:, :-1], actions))
    rewards, kl = kl_penalised_rewards(music_theory, old_log_pi, prior_log_p, kl_coef)
    advantages, returns = self._advantages(observation, step_type, rewards)
    data = (observation, step_type, actions, old_log_pi, advantages, tf.stop_gradient(returns))
    size = int(actions.shape[0]) // self._minibatches
    num_updates = self._epochs * self._minibatches

    # A graph loop over the gradient steps keeps tracing (and XLA compilation) to one step.
    def body(i, stats):
      start = tf.math.floormod(i, self._minibatches) * size
      index = tf.slice(permutations[i // self._minibatches], [start], [size])
      step_stats = self._minibatch_step(tf.nest.map_structure(lambda x: tf.gather(x, index),
                                                              data))
      return i + 1, tuple(s.write(i, v) for s, v in zip(stats, step_stats))

    _, stats = tf.while_loop(
        lambda i, _: i < num_updates, body,
        (tf.constant(0), tuple(tf.TensorArray(tf.float32, size=num_updates) for _ in range(4))),
        maximum_iterations=num_updates)
    loss, policy_loss, value_loss, clip_fraction = [s.stack() for s in stats]
    return {'loss': loss, 'policy_loss': tf.reduce_mean(policy_loss),
            'value_loss': tf.reduce_mean(value_loss),
            'clip_fraction': tf.reduce_mean(clip_fraction),
            'kl_per_note': tf.reduce_mean(kl), 'reward': tf.reduce_mean(rewards)}
