"""The RL Tuner's environment: one episode is one composition of `num_notes` notes.

`CompositionEnv` is a plain, batched tf-agents `PyEnvironment`: `batch_size`
compositions step together. The action is a class 0..37 (the note played); the
observation is a dict

  note             float32 [38]  one-hot of the last observed event (o_t)
  prior_log_probs  float32 [38]  log p_prior(· | o_0..o_t), from the frozen Reward
                                 RNN's carried state: the prior over the next action
  primer           int32 []      (primer-based priming only) the primer row in use

Priming (see rl_tuner/README.md): `random_note` draws o_0 (corrected: a pitch 2..37;
legacy: 0..36, bug 5); the primer modes run events 0..P-2 of a primer row through
the prior from zero and observe event P-1 as o_0. An episode is FIRST, then
`num_notes` steps, the last one LAST with discount 0 (bug 16 fixed).

The reward is λ·R_MT of the played note under `reward_mode` (music_theory.py);
`LogPRewardWrapper` adds log p_prior(a|s), read from the previous observation's
`prior_log_probs`, for the modes that include it (q and psi). `episode_rewards`
computes the same numbers for whole episodes at once (the fast collector).
"""

from typing import Dict, FrozenSet, Mapping, Optional, Sequence

import numpy as np
from tf_agents.environments import py_environment
from tf_agents.environments import wrappers
from tf_agents.specs import array_spec
from tf_agents.trajectories import time_step as ts

from pipelines import encoding
from rl_tuner.music import rule_api
from rl_tuner.music import rules
from rl_tuner.policy import priming as priming_lib


def log_softmax(logits: np.ndarray) -> np.ndarray:
  logits = np.asarray(logits, np.float64)
  shifted = logits - logits.max(axis=-1, keepdims=True)
  return (shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))).astype(np.float32)



def episode_rewards(actions: np.ndarray, action_log_p: np.ndarray, *, key, semantics: str,
                    reward_mode: str, reward_scaler: float, num_notes: int,
                    priming: Optional[np.ndarray] = None,
                    reward_weights: Optional[Mapping[str, float]] = None,
                    add_log_p: Optional[bool] = None,
                    chords: Optional[Sequence[FrozenSet[int]]] = None
                    ) -> Dict[str, np.ndarray]:
  """The rewards of whole episodes, all at once.

  Args:
    actions: int [B, T] the notes played (the composition; priming excluded).
    action_log_p: float [B, T] log p_prior(a_t | history) of each played note.
    key: a `rules.Key` or key name.
    semantics: 'corrected' or 'legacy'.
    reward_mode: one of `rules.REWARD_MODES`.
    reward_scaler: λ.
    num_notes: the episode length the rules assume.
    priming: int [B] the first observation o_0 (only the `scale` mode reads it).
    reward_weights: {rule: weight} of the reward-rule API (rl_tuner.music.rule_api),
      replacing `reward_mode`'s rules (weights 1 in the mode's order give the same sums).
    add_log_p: whether the log p term is added; default: by `reward_mode`.
    chords: one frozenset of pitch classes per step (the `chord_tone` rule), or None.

  Returns:
    float32 [B, T] arrays: 'music_theory' (λ·R_MT of the mode), 'log_p' (the log p
    term, zero for modes without it) and 'total' (their sum).
  """
  if isinstance(key, str):
    key = rules.parse_key(key)
  if reward_weights is None:
    mt = rules.music_theory_reward(
        np.asarray(actions), key=key, semantics=semantics, reward_mode=reward_mode,
        num_notes=num_notes, priming=priming)
  else:
    context = rule_api.make_context(
        key=key, num_notes=num_notes, semantics=semantics, chords=chords,
        priming=None if priming is None else rule_api.events_from_indices(priming))
    mt = rule_api.weighted_reward(rule_api.events_from_indices(actions), reward_weights,
                                  context)
  mt = (reward_scaler * np.asarray(mt, np.float64)).astype(np.float32)
  if add_log_p is None:
    add_log_p = reward_mode in rules.MODES_WITH_LOG_P
  if add_log_p:
    log_p = np.asarray(action_log_p, np.float32)
  else:
    log_p = np.zeros_like(mt)
  return {'music_theory': mt, 'log_p': log_p, 'total': mt + log_p}


class CompositionEnv(py_environment.PyEnvironment):
  """Batched compositions; reward λ·R_MT of the played note (see the module docstring)."""

  def __init__(self, prior, *, batch_size: int = 1, num_notes: int = 32, key='C',
               semantics: str = 'corrected', reward_mode: str = 'music_theory_all',
               reward_scaler: float = 1.0, priming_mode: str = 'random_note',
               primers: Optional[np.ndarray] = None, seed: int = 0):
    """Builds the environment.

    Args:
      prior: the frozen Reward RNN, a step model (`initial_state`, `step`).
      batch_size: compositions that step together.
      num_notes: T, notes per composition.
      key: key name or `rules.Key`.
      semantics: 'corrected' or 'legacy'.
      reward_mode: which rules make R_MT (log p is the wrapper's business).
      reward_scaler: λ.
      priming_mode: 'random_note' or a primer mode (then `primers` is needed).
      primers: int [P] or [M, P] encoded primer events.
      seed: seeds priming draws.
    """
    super().__init__(handle_auto_reset=True)
    self._prior = prior
    self._batch = int(batch_size)
    self._num_notes = int(num_notes)
    self._key = rules.parse_key(key) if isinstance(key, str) else key
    self._semantics = semantics
    self._reward_mode = reward_mode
    self._scaler = float(reward_scaler)
    self._priming_mode = priming_mode
    if priming_mode != 'random_note':
      if primers is None:
        raise ValueError('priming_mode=%r needs primers' % priming_mode)
      primers = np.asarray(primers, np.int32)
      self._primers = primers[None] if primers.ndim == 1 else primers
    else:
      self._primers = None
    self._rng = np.random.default_rng(seed)
    obs = {
        'note': array_spec.ArraySpec((encoding.NUM_CLASSES,), np.float32, 'note'),
        'prior_log_probs': array_spec.ArraySpec((encoding.NUM_CLASSES,), np.float32,
                                                'prior_log_probs'),
    }
    if self._primers is not None:
      obs['primer'] = array_spec.BoundedArraySpec((), np.int32, 0, len(self._primers) - 1,
                                                  'primer')
    self._observation_spec = obs
    self._action_spec = array_spec.BoundedArraySpec(
        (), np.int32, 0, encoding.NUM_CLASSES - 1, 'action')
    self._compositions = np.zeros((self._batch, 0), np.int32)
    self._state = None
    self._log_p = None
    self._rows = None
    self._first = None

  @property
  def batched(self) -> bool:
    return True

  @property
  def batch_size(self) -> int:
    return self._batch

  def observation_spec(self):
    return self._observation_spec

  def action_spec(self):
    return self._action_spec

  @property
  def compositions(self) -> np.ndarray:
    """int32 [B, t]: the notes played so far in the current episodes."""
    return self._compositions.copy()

  def _observe(self, notes: np.ndarray) -> dict:
    """Feeds the observed notes [B] to the prior and returns the observation."""
    logits, self._state = self._prior.step(encoding.one_hot(notes), self._state)
    self._log_p = log_softmax(np.asarray(logits))
    obs = {'note': encoding.one_hot(notes).astype(np.float32),
           'prior_log_probs': self._log_p.copy()}
    if self._primers is not None:
      obs['primer'] = self._rows.astype(np.int32)
    return obs

  def _reset(self):
    self._compositions = np.zeros((self._batch, 0), np.int32)
    self._state = self._prior.initial_state(self._batch)
    if self._primers is None:
      low, high = priming_lib.random_priming_range(self._semantics)
      first = self._rng.integers(low, high, size=self._batch).astype(np.int32)
    else:
      self._rows = self._rng.integers(0, len(self._primers), size=self._batch)
      events = self._primers[self._rows]
      for p in range(events.shape[1] - 1):
        _, self._state = self._prior.step(encoding.one_hot(events[:, p]), self._state)
      first = events[:, -1].astype(np.int32)
    self._first = first
    return ts.restart(self._observe(first), batch_size=self._batch)

  def _step(self, action):
    action = np.asarray(action, np.int32).reshape(self._batch)
    self._compositions = np.concatenate([self._compositions, action[:, None]], axis=1)
    # The rules score the whole composition so far; this step's reward is its newest note's.
    mt = rules.music_theory_reward(
        self._compositions, key=self._key, semantics=self._semantics,
        reward_mode=self._reward_mode, num_notes=self._num_notes, priming=self._first)[:, -1]
    reward = (self._scaler * np.asarray(mt, np.float64)).astype(np.float32)
    obs = self._observe(action)
    if self._compositions.shape[1] >= self._num_notes:
      return ts.termination(obs, reward)
    return ts.transition(obs, reward, discount=np.ones(self._batch, np.float32))


class LogPRewardWrapper(wrappers.PyEnvironmentBaseWrapper):
  """Adds log p_prior(a|s) to the reward, from the previous observation's prior."""

  def __init__(self, env: py_environment.PyEnvironment):
    super().__init__(env)
    self._last_log_probs = None

  def _reset(self):
    time_step = self._env.reset()
    self._last_log_probs = time_step.observation['prior_log_probs']
    return time_step

  def _step(self, action):
    if self._last_log_probs is None:
      return self.reset()
    action = np.asarray(action, np.int64).reshape(-1)
    log_p = np.take_along_axis(self._last_log_probs, action[:, None], axis=1)[:, 0]
    time_step = self._env.step(action)
    if np.all(time_step.is_first()):  # auto-reset after LAST
      self._last_log_probs = time_step.observation['prior_log_probs']
      return time_step
    self._last_log_probs = time_step.observation['prior_log_probs']
    return time_step._replace(reward=(time_step.reward + log_p).astype(np.float32))


def make_environment(prior, *, reward_mode: str, **kwargs) -> py_environment.PyEnvironment:
  """`CompositionEnv`, wrapped with `LogPRewardWrapper` when the mode adds log p."""
  env = CompositionEnv(prior, reward_mode=reward_mode, **kwargs)
  if reward_mode in rules.MODES_WITH_LOG_P:
    return LogPRewardWrapper(env)
  return env

