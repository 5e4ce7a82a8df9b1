"""tf-agents agents for the RL Tuner's four algorithms (rl_tuner/README.md, "RL core").

`EpisodeDqnAgent` is the stock `DqnAgent` (MSE loss, Adam, per-tensor gradient
clipping, soft target updates after every gradient step) trained on whole
episodes [B, T+1] that start at FIRST. Its only change is where the target
network looks: stock DQN unrolls the target network over o_1..o_T from a zero
state, which never shows it o_0; here the transition's next steps carry the
whole episode's observations, the target network unrolls from FIRST, and its
first output is dropped (bug 17 fixed). Q and pure_rl use it as is.

`PsiLearningAgent` and `GLearningAgent` override only `_compute_next_q_values`
with the maths of `rl_tuner.rl.targets`; G also acts on G + log p_prior, so its
policies wrap the network with `PriorAddedNetwork`. The prior never trains: its
log-probabilities are part of the observation (bug 7 fixed).
"""

from typing import Optional

import tensorflow as tf
from tf_agents.agents.dqn import dqn_agent
from tf_agents.policies import boltzmann_policy
from tf_agents.policies import epsilon_greedy_policy
from tf_agents.policies import greedy_policy
from tf_agents.policies import q_policy
from tf_agents.utils import common

from rl_tuner.rl import networks
from rl_tuner.rl import targets


class EpisodeDqnAgent(dqn_agent.DqnAgent):
  """DqnAgent on whole episodes: the target network unrolls from the episode start."""

  def __init__(self, *args, **kwargs):
    super().__init__(*args, **kwargs)
    self._stock_as_transition = self._as_transition
    self._as_transition = self._episode_as_transition

  def _episode_as_transition(self, experience):
    """Stock transitions, but next_time_steps.observation/step_type span all T+1 frames.

    Rewards and discounts stay [B, T]; `_target_values` unrolls over [B, T+1] and
    returns the outputs at frames 1..T, i.e. at s' of each transition.
    """
    time_steps, policy_steps, next_time_steps = self._stock_as_transition(experience)
    next_time_steps = next_time_steps._replace(
        observation=experience.observation, step_type=experience.step_type)
    return time_steps, policy_steps, next_time_steps

  def _target_values(self, next_time_steps):
    values, _ = self._target_q_network(next_time_steps.observation,
                                       step_type=next_time_steps.step_type)
    return values[:, 1:]

  def _compute_next_q_values(self, next_time_steps, info):
    del info
    return targets.q_next_values(self._target_values(next_time_steps))


class PsiLearningAgent(EpisodeDqnAgent):
  """Ψ-learning: V(s') = logsumexp_a' Ψ⁻(s', a'); the reward holds log p(a|s)."""

  def _compute_next_q_values(self, next_time_steps, info):
    del info
    return targets.psi_next_values(self._target_values(next_time_steps))


class GLearningAgent(EpisodeDqnAgent):
  """G-learning: V(s') = logsumexp_a'(G⁻(s', a') + log p_prior(a'|s')); acts on G + log p."""

  def _compute_next_q_values(self, next_time_steps, info):
    del info
    prior = next_time_steps.observation['prior_log_probs'][:, 1:]
    return targets.g_next_values(self._target_values(next_time_steps), prior)

  def _setup_policy(self, time_step_spec, action_spec, boltzmann_temperature,
                    emit_log_probability):
    acting = networks.PriorAddedNetwork(self._q_network)
    policy = q_policy.QPolicy(time_step_spec, action_spec, q_network=acting,
                              emit_log_probability=emit_log_probability)
    if boltzmann_temperature is not None:
      collect_policy = boltzmann_policy.BoltzmannPolicy(
          policy, temperature=self._boltzmann_temperature)
    else:
      collect_policy = epsilon_greedy_policy.EpsilonGreedyPolicy(
          policy, epsilon=self._epsilon_greedy)
    policy = greedy_policy.GreedyPolicy(policy)
    target_policy = q_policy.QPolicy(
        time_step_spec, action_spec,
        q_network=networks.PriorAddedNetwork(self._target_q_network))
    self._target_greedy_policy = greedy_policy.GreedyPolicy(target_policy)
    return policy, collect_policy


AGENT_CLASSES = {
    'q': EpisodeDqnAgent,
    'pure_rl': EpisodeDqnAgent,
    'psi': PsiLearningAgent,
    'g': GLearningAgent,
}


def make_optimizer(learning_rate: float = 1e-3, epsilon: float = 1e-8):
  """TF1 AdamOptimizer defaults (β 0.9/0.999, ε 1e-8; Keras's default ε is 1e-7)."""
  return tf.keras.optimizers.legacy.Adam(learning_rate=learning_rate, epsilon=epsilon)


def make_agent(algorithm: str, time_step_spec, action_spec, q_network, *,
               discount_rate: float = 0.95, learning_rate: float = 1e-3,
               adam_epsilon: float = 1e-8, gradient_clipping: float = 5.0,
               target_update_tau: float = 0.01, epsilon_greedy=0.1,
               boltzmann_temperature: Optional[float] = None,
               train_step_counter: Optional[tf.Variable] = None) -> EpisodeDqnAgent:
  """The agent of `algorithm` ('q', 'psi', 'g' or 'pure_rl') with the original's hparams.

  MSE TD loss (not tf-agents' Huber), per-tensor clipping, τ-soft target
  update after every gradient step (the target starts as a copy).
  """
  if algorithm not in AGENT_CLASSES:
    raise ValueError('unknown algorithm %r; valid: %s' % (algorithm, sorted(AGENT_CLASSES)))
  cls = AGENT_CLASSES[algorithm]
  agent = cls(
      time_step_spec, action_spec, q_network=q_network,
      optimizer=make_optimizer(learning_rate, adam_epsilon),
      epsilon_greedy=None if boltzmann_temperature is not None else epsilon_greedy,
      boltzmann_temperature=boltzmann_temperature,
      td_errors_loss_fn=common.element_wise_squared_loss,
      gamma=discount_rate, gradient_clipping=gradient_clipping,
      target_update_tau=target_update_tau, target_update_period=1,
      train_step_counter=train_step_counter)
  agent.initialize()
  return agent

