"""Q / Ψ / G agent losses against hand computation on a tiny batch (fixed-weight net)."""

import numpy as np
import pytest
import tensorflow as tf
from tf_agents.networks import network
from tf_agents.specs import tensor_spec
from tf_agents.trajectories import time_step as ts

from rl_tuner.rl import agents
from rl_tuner.rl import collect
from rl_tuner.rl import networks

NUM_CLASSES = 38
GAMMA = 0.5


class DummyNet(network.Network):
  """Q(o, a) = W[argmax o, a]: fixed weights, a pass-through state (so the agent unrolls)."""

  def __init__(self, input_tensor_spec, weights, name='DummyNet'):
    super().__init__(input_tensor_spec, state_spec=tf.TensorSpec([1], tf.float32), name=name)
    self._weights = np.asarray(weights, np.float32)
    self._w = tf.Variable(self._weights, name='w')

  def call(self, observation, step_type=None, network_state=(), training=False):
    note = observation['note']
    if not tf.nest.flatten(network_state):
      network_state = tf.zeros([tf.shape(note)[0], 1])
    return tf.einsum('...i,ij->...j', note, self._w), network_state


def _weights():
  w = np.zeros((NUM_CLASSES, NUM_CLASSES), np.float32)
  w[2, 3] = 1.0   # Q(s0, a0 = 3) = 1
  w[3, 4] = 2.0   # Q(s1, a1 = 4) = 2 = max_a' Q(s1, a')
  w[3, 5] = 1.0
  w[4, 2] = 3.0   # s2 is terminal: never bootstrapped
  return w


def _experience():
  # One episode: o0 = 2, a0 = 3 (r 1), a1 = 4 (r 2, LAST); uniform prior.
  notes = np.array([[2, 3, 4]], np.int32)
  log_probs = np.full((1, 3, NUM_CLASSES), -np.log(NUM_CLASSES), np.float32)
  rewards = np.array([[1.0, 2.0]], np.float32)
  return collect.episodes_to_trajectory(notes, log_probs, rewards)


def _expected_loss(algorithm):
  w = _weights()
  row = w[3]  # T(s1, ·): the target starts as a copy of the online net
  if algorithm in ('q', 'pure_rl'):
    v1 = row.max()                                     # 2
  elif algorithm == 'psi':
    v1 = np.log(np.exp(row).sum())                     # log(e² + e + 36) = 3.830972
  else:
    v1 = np.log(np.exp(row - np.log(NUM_CLASSES)).sum())  # 3.830972 − 3.637586 = 0.193386
  y0 = 1.0 + GAMMA * 1.0 * v1
  y1 = 2.0 + GAMMA * 0.0 * 0.0                         # LAST: discount 0
  # MSE summed over the episode's steps, averaged over the batch (of one).
  return (1.0 - y0) ** 2 + (2.0 - y1) ** 2


HAND_LOSSES = {'q': 1.0, 'pure_rl': 1.0, 'psi': (1.0 - (1 + 0.5 * 3.830972)) ** 2,
               'g': (1.0 - (1 + 0.5 * 0.193386)) ** 2}


@pytest.mark.parametrize('algorithm', ['q', 'psi', 'g', 'pure_rl'])
class TestAgentLoss:

  def _agent(self, algorithm):
    obs_spec = networks.observation_spec(False)
    action_spec = tensor_spec.BoundedTensorSpec((), tf.int32, 0, NUM_CLASSES - 1)
    return agents.make_agent(algorithm, ts.time_step_spec(obs_spec), action_spec,
                             DummyNet(obs_spec, _weights()), discount_rate=GAMMA)

  def test_loss_matches_hand_computation(self, algorithm):
    agent = self._agent(algorithm)
    loss = agent._loss(_experience(), td_errors_loss_fn=agent._td_errors_loss_fn,
                       gamma=GAMMA).loss.numpy()
    assert loss == pytest.approx(_expected_loss(algorithm), rel=1e-4)
    assert loss == pytest.approx(HAND_LOSSES[algorithm], rel=1e-4)

  def test_train_step_moves_towards_target(self, algorithm):
    agent = self._agent(algorithm)
    before = agent._loss(_experience(), gamma=GAMMA).loss.numpy()
    for _ in range(20):
      agent.train(_experience())
    after = agent._loss(_experience(), gamma=GAMMA).loss.numpy()
    assert after < before


def test_target_network_unrolls_from_first():
  """Bug 17: T(s', ·) comes from the target net run over o_0..o_T, not o_1..o_T from zero."""
  obs_spec = networks.observation_spec(False)
  action_spec = tensor_spec.BoundedTensorSpec((), tf.int32, 0, NUM_CLASSES - 1)
  q_net = networks.NoteRnnQNetwork(obs_spec, (8,))
  agent = agents.make_agent('q', ts.time_step_spec(obs_spec), action_spec, q_net)
  experience = _experience()
  _, _, next_steps = agent._as_transition(experience)
  got = agent._target_values(next_steps).numpy()
  full, _ = agent._target_q_network(experience.observation, step_type=experience.step_type)
  np.testing.assert_allclose(got, full.numpy()[:, 1:], rtol=1e-6)
  shifted = tf.nest.map_structure(lambda x: x[:, 1:], experience)
  stock, _ = agent._target_q_network(shifted.observation)
  assert not np.allclose(got, stock.numpy(), atol=1e-6)


def test_g_policy_acts_on_g_plus_prior():
  obs_spec = networks.observation_spec(False)
  action_spec = tensor_spec.BoundedTensorSpec((), tf.int32, 0, NUM_CLASSES - 1)
  agent = agents.make_agent('g', ts.time_step_spec(obs_spec), action_spec,
                            DummyNet(obs_spec, _weights()))
  prior = np.full((1, NUM_CLASSES), -50.0, np.float32)
  prior[0, 7] = 0.0  # the prior insists on note 7, G prefers nothing at s = 4 except 2
  obs = {'note': tf.one_hot([4], NUM_CLASSES), 'prior_log_probs': tf.constant(prior)}
  step = ts.restart(obs, batch_size=1)
  action = agent.policy.action(step, agent.policy.get_initial_state(1)).action.numpy()
  assert action.tolist() == [7]  # argmax(G + log p) = 7, although argmax G = 2
