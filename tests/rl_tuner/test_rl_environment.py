"""CompositionEnv, the log-p reward wrapper, and the fast collector's equivalence."""

import numpy as np
import pytest
import tensorflow as tf
from tf_agents.environments import utils as env_utils
from tf_agents.trajectories import time_step as ts

import note_rnn
from pipelines import encoding
from rl_tuner.rl import collect
from rl_tuner.rl import environment
from rl_tuner.music import rules
from rl_tuner.rl import networks

NUM_NOTES = 6


@pytest.fixture(scope='module')
def prior():
  return note_rnn.build((8,), seed=3)


def _log_p_by_hand(prior, first, actions):
  """log p_prior(a_t | o_0, a_0..a_{t-1}) from a whole-sequence run of the prior."""
  history = np.concatenate([first[:, None], actions], axis=1)
  logits = prior.logits(encoding.one_hot(history[:, :-1])).numpy().astype(np.float64)
  log_softmax = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
  return np.take_along_axis(log_softmax, actions[..., None], axis=2)[..., 0]


def test_validate_py_environment(prior):
  env = environment.CompositionEnv(prior, batch_size=3, num_notes=NUM_NOTES, seed=1)
  env_utils.validate_py_environment(env, episodes=3)


def test_validate_wrapped_environment_with_primer(prior):
  env = environment.make_environment(
      prior, reward_mode='music_theory_all', batch_size=2, num_notes=NUM_NOTES,
      priming_mode='primer_melody', primers=np.array([14, 0, 16]), seed=1)
  env_utils.validate_py_environment(env, episodes=2)


def test_scripted_episode_rewards_and_step_types(prior):
  env = environment.CompositionEnv(prior, batch_size=2, num_notes=NUM_NOTES,
                                   reward_scaler=0.5, reward_mode='music_theory_only', seed=2)
  actions = np.array([[14, 14, 14, 14, 14, 14], [14, 16, 18, 19, 21, 1]], np.int32)
  step = env.reset()
  assert step.step_type.tolist() == [ts.StepType.FIRST] * 2
  rewards = []
  for t in range(NUM_NOTES):
    step = env.step(actions[:, t])
    np.testing.assert_array_equal(step.observation['note'], encoding.one_hot(actions[:, t]))
    rewards.append(step.reward)
    expected_type = ts.StepType.LAST if t == NUM_NOTES - 1 else ts.StepType.MID
    assert step.step_type.tolist() == [expected_type] * 2
    assert step.discount.tolist() == ([0.0, 0.0] if t == NUM_NOTES - 1 else [1.0, 1.0])
  expected = 0.5 * rules.music_theory_reward(
      actions, key='C', semantics='corrected', reward_mode='music_theory_only',
      num_notes=NUM_NOTES)
  np.testing.assert_allclose(np.stack(rewards, 1), expected, rtol=1e-6, atol=1e-6)
  # Row 0 repeats the tonic six times in a row: the sixth strike costs -100 (x 0.5).
  assert expected[0, 5] <= -50.0
  assert env.step(actions[:, 0]).step_type.tolist() == [ts.StepType.FIRST] * 2  # auto-reset


def test_wrapper_reward_is_the_sum_of_its_parts(prior):
  env = environment.make_environment(prior, reward_mode='music_theory_all', batch_size=2,
                                     num_notes=NUM_NOTES, reward_scaler=2.0, seed=4)
  assert isinstance(env, environment.LogPRewardWrapper)
  actions = np.array([[2, 14, 0, 1, 21, 14], [37, 36, 35, 0, 0, 0]], np.int32)
  first = np.argmax(env.reset().observation['note'], axis=1)
  rewards = np.stack([env.step(actions[:, t]).reward for t in range(NUM_NOTES)], 1)
  music = 2.0 * rules.music_theory_reward(
      actions, key='C', semantics='corrected', reward_mode='music_theory_all',
      num_notes=NUM_NOTES)
  log_p = _log_p_by_hand(prior, first, actions)
  np.testing.assert_allclose(rewards, music + log_p, rtol=1e-4, atol=1e-4)


def test_g_and_pure_rl_modes_get_no_log_p(prior):
  env = environment.make_environment(prior, reward_mode='music_theory_only', batch_size=1,
                                     num_notes=NUM_NOTES)
  assert isinstance(env, environment.CompositionEnv)


def test_random_note_priming_ranges(prior):
  for semantics, low, high in (('corrected', 2, 37), ('legacy', 0, 36)):
    env = environment.CompositionEnv(prior, batch_size=400, num_notes=2,
                                     semantics=semantics, seed=5)
    first = np.argmax(env.reset().observation['note'], axis=1)
    assert first.min() >= low and first.max() <= high
    assert first.min() == low and first.max() == high  # 400 draws cover the range


@pytest.mark.parametrize('priming', ['random_note', 'primer_melody'])
def test_fast_collector_matches_the_environment(prior, priming):
  """The batched tf.function path and the step-wise PyEnvironment agree exactly."""
  primers = np.array([[14, 0, 16, 18]], np.int32) if priming == 'primer_melody' else None
  spec = networks.observation_spec(primers is not None)
  weights = prior.get_weights()
  q_net = networks.NoteRnnQNetwork(spec, (8,), initial_weights=weights, primers=primers)
  prior_net = networks.NoteRnnQNetwork(spec, (8,), initial_weights=weights, primers=primers,
                                       trainable=False)
  collector = collect.EpisodeCollector(
      q_net, prior_net, num_envs=4, num_notes=NUM_NOTES, semantics='corrected',
      add_prior_to_scores=False, exploration_mode='egreedy', exploration_period=100,
      initial_epsilon=1.0, final_epsilon=0.1, num_primers=0 if primers is None else 1, seed=7)
  notes, log_probs, _ = collector.collect(0)
  fast = collect.collect_rewards(notes, log_probs, key='C', semantics='corrected',
                                 reward_mode='music_theory_all', reward_scaler=1.0)
  env = environment.make_environment(
      prior, reward_mode='music_theory_all', batch_size=4, num_notes=NUM_NOTES,
      priming_mode=priming, primers=primers)
  if primers is None:
    env._env._rng = _FixedDraws(notes[:, 0])  # the same priming notes
  step = env.reset()
  np.testing.assert_array_equal(np.argmax(step.observation['note'], 1), notes[:, 0])
  np.testing.assert_allclose(step.observation['prior_log_probs'], log_probs[:, 0], atol=1e-5)
  rewards = []
  for t in range(NUM_NOTES):
    step = env.step(notes[:, t + 1])
    rewards.append(step.reward)
    np.testing.assert_allclose(step.observation['prior_log_probs'], log_probs[:, t + 1],
                               atol=1e-5)
  np.testing.assert_allclose(np.stack(rewards, 1), fast['total'], rtol=1e-5, atol=1e-4)


class _FixedDraws:

  def __init__(self, values):
    self._values = np.asarray(values)

  def integers(self, low, high, size):
    assert size == len(self._values)
    return self._values.copy()


def test_episode_trajectory_layout():
  notes = np.array([[5, 6, 7]], np.int32)
  log_probs = np.zeros((1, 3, 38), np.float32)
  traj = collect.episodes_to_trajectory(notes, log_probs, np.array([[1.5, -2.0]], np.float32))
  assert traj.step_type.numpy().tolist() == [[0, 1, 2]]
  assert traj.next_step_type.numpy().tolist() == [[1, 2, 0]]
  assert traj.action.numpy().tolist() == [[6, 7, 0]]
  assert traj.reward.numpy().tolist() == [[1.5, -2.0, 0.0]]
  assert traj.discount.numpy().tolist() == [[1.0, 0.0, 1.0]]


def test_boltzmann_collector_stores_the_played_note(prior):
  spec = networks.observation_spec(False)
  q_net = networks.NoteRnnQNetwork(spec, (8,), initial_weights=prior.get_weights())
  collector = collect.EpisodeCollector(
      q_net, q_net, num_envs=64, num_notes=4, semantics='corrected',
      add_prior_to_scores=False, exploration_mode='boltzmann', exploration_period=0,
      initial_epsilon=1.0, final_epsilon=0.1, seed=3)
  notes, _, _ = collector.collect(0)
  # Sampling softmax(Q) of a near-uniform random net: the played (stored) notes vary
  # among compositions sharing a first note, which an argmax could not do.
  assert len(set(map(tuple, notes[:, 1:].tolist()))) > 36  # > the 36 priming notes
  assert tf.reduce_all(notes >= 0)
