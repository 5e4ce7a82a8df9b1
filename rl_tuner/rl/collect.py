"""Fast collection: whole batches of episodes generated inside one `tf.function`.

Stepping a `PyEnvironment` costs Python work per note; acting is cheap. So the
training loop collects `num_envs` compositions at once: one compiled graph
unrolls the policy network and the frozen prior over the `num_notes` steps with
ε-greedy or Boltzmann choices, then the rewards of the whole batch come from
`environment.episode_rewards` (the vectorised music-theory rules over [B, T]),
and the episodes go into a tf-agents replay buffer as whole-episode items
[T+1] (FIRST, MID..., LAST). `CompositionEnv` + `LogPRewardWrapper` give the
same rewards for the same actions (tested).

For other configs than basic_rnn the graph also returns the notes' melody events
(`Episodes.events`), read from the frozen prior's state: its event history starts with the
whole primer, so repeat labels decode against it as Magenta's lookback decoder does.

The random draws (priming, exploration, sampling) come from a
`tf.random.Generator` whose state is checkpointed with the run.
"""

import math
from typing import Dict, NamedTuple, Optional

import numpy as np
import tensorflow as tf
from tf_agents.replay_buffers import tf_uniform_replay_buffer
from tf_agents.specs import tensor_spec
from tf_agents.trajectories import time_step as ts
from tf_agents.trajectories import trajectory

from note_rnn import run_common
from pipelines import encoding
from rl_tuner.rl import environment
from rl_tuner.rl import targets
from rl_tuner.policy import encodings
from rl_tuner.policy import priming as priming_lib
from rl_tuner.policy import step_models


def episode_spec(collect_data_spec, num_notes: int):
  """Each field of the agent's trajectory spec with a leading [num_notes + 1] axis."""
  def add_time(spec):
    return tensor_spec.TensorSpec([num_notes + 1] + list(spec.shape), spec.dtype, spec.name)
  return tf.nest.map_structure(add_time, collect_data_spec)


def make_replay_buffer(collect_data_spec, *, num_notes: int, num_envs: int,
                       capacity_transitions: int):
  """A `TFUniformReplayBuffer` of whole episodes holding about `capacity_transitions`."""
  episodes = max(1, math.ceil(capacity_transitions / num_notes))
  return tf_uniform_replay_buffer.TFUniformReplayBuffer(
      data_spec=episode_spec(collect_data_spec, num_notes), batch_size=num_envs,
      max_length=max(1, math.ceil(episodes / num_envs)))


def episode_step_types(num_notes: int):
  """(step_type, next_step_type, discount) int32/float32 [T+1] of one episode."""
  step = np.full(num_notes + 1, ts.StepType.MID, np.int32)
  step[0], step[-1] = ts.StepType.FIRST, ts.StepType.LAST
  next_step = np.roll(step, -1)
  discount = np.ones(num_notes + 1, np.float32)
  discount[num_notes - 1] = 0.0
  return step, next_step, discount


class Episodes(NamedTuple):
  """A batch of collected episodes.

  Attributes:
    notes: int32 [B, T+1] o_0 then the actions, in the model's classes.
    log_probs: float32 [B, T+1, C] the prior's log-probabilities after each o_t.
    rows: int32 [B] the primer row of each episode (0 for random_note priming).
    events: int32 [B, T+1] the notes' melody events (-2 hold, -1 note-off, MIDI pitch)
      for other configs than basic_rnn, repeat labels resolved against the whole primer
      (what Magenta's lookback decoder does); None for basic_rnn (notes are the rules'
      classes).
  """
  notes: np.ndarray
  log_probs: np.ndarray
  rows: np.ndarray
  events: Optional[np.ndarray]


class EpisodeCollector:
  """Generates batches of episodes with the current policy network and the prior.

  Acting scores are the network's outputs (Q or Ψ), plus the prior's
  log-probabilities for g. ε-greedy takes a random action (bug 5 per
  `semantics`) with probability ε(n), n = environment steps so far; Boltzmann
  samples softmax(scores) and stores the played note (bug 8 fixed).
  """

  def __init__(self, q_network, prior_network, *, num_envs: int, num_notes: int,
               semantics: str, add_prior_to_scores: bool, exploration_mode: str,
               exploration_period: int, initial_epsilon: float, final_epsilon: float,
               num_primers: int = 0, seed: int = 0):
    self._q = q_network
    self._prior = prior_network
    self._num_envs = int(num_envs)
    self._num_notes = int(num_notes)
    self._semantics = semantics
    self._add_prior = bool(add_prior_to_scores)
    self._boltzmann = exploration_mode == 'boltzmann'
    self._schedule = dict(exploration_period=int(exploration_period),
                          initial_epsilon=float(initial_epsilon),
                          final_epsilon=float(final_epsilon))
    self._num_primers = int(num_primers)
    # Other configs than basic_rnn act in their own classes; random_note priming still draws
    # a 38-class pitch (MIDI 48-83) and maps it to the model's class through this table.
    self._num_classes = encodings.num_classes(q_network)
    self._priming_table = None
    self._decodes = not encodings.is_rule_layout(q_network)
    if self._decodes:
      self._priming_table = tf.constant(encodings.model_classes(
          q_network, np.arange(encoding.NUM_CLASSES)[:, None])[:, 0])
    self.generator = tf.random.Generator.from_seed(seed)
    self._act = tf.function(self._act_graph, autograph=False)

  def epsilon(self, env_steps):
    return targets.epsilon(env_steps, **self._schedule)

  def _first_notes(self):
    batch = self._num_envs
    if self._num_primers:
      rows = self.generator.uniform([batch], 0, self._num_primers, dtype=tf.int32)
      return rows, self._q.first_observations(rows)
    low, high = priming_lib.random_priming_range(self._semantics)
    rows = tf.zeros([batch], tf.int32)
    first = self.generator.uniform([batch], low, high, dtype=tf.int32)
    if self._priming_table is not None:
      first = tf.gather(self._priming_table, first)
    return rows, first

  def _choose(self, scores, env_steps):
    batch = self._num_envs
    if self._boltzmann:
      return tf.random.stateless_categorical(
          scores, 1, seed=self.generator.make_seeds(1)[:, 0], dtype=tf.int32)[:, 0]
    eps = self.epsilon(tf.cast(env_steps, tf.float32))
    low, high = priming_lib.random_action_range(self._semantics, self._num_classes)
    random_actions = self.generator.uniform([batch], low, high, dtype=tf.int32)
    explore = self.generator.uniform([batch]) < eps
    greedy = tf.argmax(scores, axis=-1, output_type=tf.int32)
    return tf.where(explore, random_actions, greedy)

  def _act_graph(self, env_steps):
    """env_steps int64 [] -> notes int32 [B, T+1], prior log-probs [B, T+1, C], rows [B]
    and, for other configs than basic_rnn, the notes' melody events int32 [B, T+1]."""
    rows, note = self._first_notes()
    if self._num_primers:
      q_state = self._q.primed_state(rows)
      p_state = self._prior.primed_state(rows)
    else:
      q_state = self._q.initial_state(self._num_envs)
      p_state = self._prior.initial_state(self._num_envs)
    def observe(note, q_state, p_state):
      one_hot = tf.one_hot(note, self._num_classes)
      scores, q_state = self._q.step(one_hot, q_state)
      prior_logits, p_state = self._prior.step(one_hot, p_state)
      # The prior's state holds the whole history (primer included): its newest event is
      # the note decoded as Magenta's encoder decodes it.
      event = self._prior.newest_event(one_hot, p_state) if self._decodes else None
      return scores, tf.nn.log_softmax(prior_logits, axis=-1), q_state, p_state, event

    def body(t, note, q_state, p_state, notes, log_probs, events):
      scores, prior_log_probs, q_state, p_state, event = observe(note, q_state, p_state)
      if self._add_prior:
        scores = step_models.g_logits(scores, prior_log_probs)
      note = self._choose(scores, env_steps + tf.cast(t, tf.int64) * self._num_envs)
      if self._decodes:
        events = events.write(t, event)
      return (t + 1, note, q_state, p_state, notes.write(t + 1, note),
              log_probs.write(t, prior_log_probs), events)

    size = self._num_notes + 1
    notes = tf.TensorArray(tf.int32, size=size).write(0, note)
    log_probs = tf.TensorArray(tf.float32, size=size)
    events = tf.TensorArray(tf.int32, size=size)
    _, note, q_state, p_state, notes, log_probs, events = tf.while_loop(
        lambda t, *_: t < self._num_notes, body,
        (tf.constant(0), note, q_state, p_state, notes, log_probs, events))
    _, last_log_probs, _, _, last_event = observe(note, q_state, p_state)
    log_probs = log_probs.write(self._num_notes, last_log_probs)
    notes = tf.transpose(notes.stack())
    # basic_rnn: the notes are the rules' classes already; nothing is decoded in the loop.
    events = (tf.transpose(events.write(self._num_notes, last_event).stack())
              if self._decodes else tf.zeros_like(notes))
    return notes, tf.transpose(log_probs.stack(), [1, 0, 2]), rows, events

  def collect_episodes(self, env_steps: int) -> Episodes:
    """One batch of episodes (see `Episodes`)."""
    notes, log_probs, rows, events = self._act(tf.constant(env_steps, tf.int64))
    return Episodes(notes.numpy(), log_probs.numpy(), rows.numpy(),
                    events.numpy() if self._decodes else None)

  def collect(self, env_steps: int):
    """One batch of episodes: (notes int32 [B, T+1], log_probs f32 [B, T+1, C], rows)."""
    return tuple(self.collect_episodes(env_steps))[:3]


def episodes_to_trajectory(notes: np.ndarray, log_probs: np.ndarray, rewards: np.ndarray,
                           primer_rows: Optional[np.ndarray] = None,
                           num_classes: int = encoding.NUM_CLASSES):
  """Whole episodes as a `Trajectory` of [B, T+1] arrays (the replay item layout).

  Frame t holds o_t, the prior's log-probs after o_t, and for t < T the action
  a_t = o_{t+1} with its reward; frame T (LAST) holds a dummy action 0, reward 0.
  """
  batch, frames = notes.shape
  num_notes = frames - 1
  step, next_step, discount = episode_step_types(num_notes)
  actions = np.zeros((batch, frames), np.int32)
  actions[:, :-1] = notes[:, 1:]
  reward = np.zeros((batch, frames), np.float32)
  reward[:, :-1] = rewards
  tile = lambda a: tf.constant(np.tile(a[None], (batch, 1)))
  return trajectory.Trajectory(
      step_type=tile(step),
      observation=episode_observation(notes, log_probs, primer_rows, num_classes),
      action=tf.constant(actions),
      policy_info=(), next_step_type=tile(next_step), reward=tf.constant(reward),
      discount=tile(discount))


def episode_observation(notes: np.ndarray, log_probs: np.ndarray,
                        primer_rows: Optional[np.ndarray], num_classes: int) -> dict:
  """The networks' observation of whole episodes [B, T+1]: the one-hot notes in the model's
  `num_classes`, the prior's log-probs and (with primers) each episode's primer row."""
  observation = {'note': tf.one_hot(notes, num_classes),
                 'prior_log_probs': tf.constant(log_probs, tf.float32)}
  if primer_rows is not None:
    observation['primer'] = tf.constant(
        np.repeat(primer_rows[:, None], notes.shape[1], 1), tf.int32)
  return observation


def action_log_probs(notes: np.ndarray, log_probs: np.ndarray) -> np.ndarray:
  """log p_prior(a_t | o_0..o_t) of each played note: [B, T]."""
  actions = notes[:, 1:].astype(np.int64)
  return np.take_along_axis(log_probs[:, :-1], actions[..., None], axis=2)[..., 0]


def collect_rewards(notes: np.ndarray, log_probs: np.ndarray, *, key, semantics: str,
                    reward_mode: str, reward_scaler: float,
                    events: Optional[np.ndarray] = None, **rule_settings
                    ) -> Dict[str, np.ndarray]:
  """`environment.episode_rewards` for collected episodes (notes [B, T+1]).

  `rule_settings`: `reward_weights`, `add_log_p`, `chords` (see episode_rewards). For a
  model of another config than basic_rnn the notes are its classes: pass the episodes'
  melody `events` [B, T+1] (`Episodes.events`, decoded in the collection graph) and the
  rules see them in their 38 indices (`rl_tuner.policy.encodings`); log p stays the model's.
  """
  log_p = action_log_probs(notes, log_probs)
  if events is not None:
    notes = encodings.events_to_rule_classes(events)
  return environment.episode_rewards(
      notes[:, 1:], log_p, key=key, semantics=semantics,
      reward_mode=reward_mode, reward_scaler=reward_scaler, num_notes=notes.shape[1] - 1,
      priming=notes[:, 0], **rule_settings)


def check_finite_rewards(rewards: Dict[str, np.ndarray], env_steps: int) -> None:
  """Raises `TrainingDivergedError` naming the step and the term when a reward is NaN/Inf."""
  for term in ('music_theory', 'log_p'):
    bad = ~np.isfinite(rewards[term])
    if bad.any():
      raise run_common.TrainingDivergedError(
          'env step %d: the %s reward term is NaN/Inf (%d of %d notes); stopping, the last '
          'good checkpoint is kept' % (env_steps, term, int(bad.sum()), bad.size))


class RunSettings:
  """What every tuner (DQN family, ppo/grpo) derives alike from its config for collection
  and rewards: the key, the reward mode and rule weights, the chords per step, the primers
  and the prior Note RNN."""

  def __init__(self, config, prior_model, primers: Optional[np.ndarray]):
    from rl_tuner.music import chords as chords_lib  # pylint: disable=g-import-not-at-top
    from rl_tuner.music import rules  # pylint: disable=g-import-not-at-top
    c = config
    self.config = c
    self.algorithm = c.canonical_algorithm
    self.key = rules.parse_key(c.key)
    self.reward_mode = c.effective_reward_mode
    self.reward_weights = c.effective_reward_rules
    self.chords = (chords_lib.chords_per_step(c.chord_progression, c.num_notes)
                   if c.chord_progression else None)
    self.primers = primers
    self.prior_model = prior_model
    self.num_classes = encodings.num_classes(prior_model)

  def episode_rewards(self, episodes: Episodes, env_steps: int, *,
                      add_log_p: bool) -> Dict[str, np.ndarray]:
    """`collect_rewards` of collected episodes under the run's settings (for other configs
    than basic_rnn the rules read `episodes.events`); NaN/Inf stops the run (`env_steps`)."""
    c = self.config
    rewards = collect_rewards(
        episodes.notes, episodes.log_probs, key=self.key, semantics=c.semantics,
        reward_mode=self.reward_mode, reward_scaler=c.reward_scaler,
        reward_weights=self.reward_weights, add_log_p=add_log_p, chords=self.chords,
        events=episodes.events)
    check_finite_rewards(rewards, env_steps)
    return rewards

  def episode_observation(self, notes: np.ndarray, log_probs: np.ndarray,
                          rows: np.ndarray) -> dict:
    """`episode_observation` of collected episodes (primer rows only when the run primes)."""
    return episode_observation(notes, log_probs, rows if self.primers is not None else None,
                               self.num_classes)
