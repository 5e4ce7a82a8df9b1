"""The TD-target maths of Q, Ψ and G learning, and the ε schedule, as pure functions.

Each `*_next_values` maps the target network's outputs at the next states,
T(s', ·) [..., 38], to the bootstrap value V(s') [...] (rl_tuner/README.md, "RL core"):

  q, pure_rl   V = max_a' T(s', a')                 (plain max, not Double DQN: bug 18)
  psi          V = logsumexp_a' T(s', a')
  g            V = logsumexp_a' (T(s', a') + log p_prior(a'|s'))

and `*_targets` give y = r + γ·d·V with d the next step's discount (0 on LAST,
bug 16). They are built from TensorFlow ops that also accept numpy arrays, so
the agents call them inside their graphs and tests call them on hand-made
arrays. The acting logits of g are G + log p_prior
(`rl_tuner.policy.step_models.with_prior`).
"""

import numpy as np
import tensorflow as tf


def q_next_values(target_q):
  """max over the last axis: [..., A] -> [...]."""
  return tf.reduce_max(target_q, axis=-1)


def psi_next_values(target_psi):
  """logsumexp over the last axis: [..., A] -> [...]."""
  return tf.reduce_logsumexp(target_psi, axis=-1)


def g_next_values(target_g, prior_log_probs):
  """log Σ_a' p_prior(a'|s') exp G(s', a'): [..., A], [..., A] -> [...]."""
  return tf.reduce_logsumexp(target_g + prior_log_probs, axis=-1)


def _targets(rewards, discounts, gamma, next_values):
  return rewards + gamma * discounts * next_values


def q_targets(rewards, discounts, target_q, gamma):
  """y = r + γ·d·max_a' T(s', a'). Shapes: r, d [...]; target_q [..., A]."""
  return _targets(rewards, discounts, gamma, q_next_values(target_q))


def psi_targets(rewards, discounts, target_psi, gamma):
  """y = r + γ·d·logsumexp_a' Ψ⁻(s', a'), with log p(a|s) already inside r."""
  return _targets(rewards, discounts, gamma, psi_next_values(target_psi))


def g_targets(rewards, discounts, target_g, prior_log_probs, gamma):
  """y = λR_MT + γ·d·logsumexp_a'(G⁻(s', a') + log p_prior(a'|s')); r holds λR_MT only."""
  return _targets(rewards, discounts, gamma, g_next_values(target_g, prior_log_probs))


def epsilon(env_steps, *, exploration_period: int, initial_epsilon: float = 1.0,
            final_epsilon: float = 0.1):
  """Linear ε annealing over environment steps (evaluation never advances it: bug 15).

  ε(n) = initial − n·(initial − final)/E for n < E, then final; E = 0 means final.
  Works on Python numbers, numpy arrays and tensors alike.
  """
  if exploration_period <= 0:
    return final_epsilon + 0.0 * env_steps
  fraction = env_steps / float(exploration_period)
  if isinstance(env_steps, (tf.Tensor, tf.Variable)):
    fraction = tf.minimum(tf.cast(fraction, tf.float32), 1.0)
  else:
    fraction = np.minimum(fraction, 1.0)
  return initial_epsilon - fraction * (initial_epsilon - final_epsilon)
