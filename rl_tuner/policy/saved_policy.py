"""The tuned sampling policy as a SavedModel: `run_dir/policy/`, and its loader.

The SavedModel is a small step model (contracts.md): `initial_state(batch)` and
`step(inputs [B, 38], state) -> (logits [B, 38], state)`. Its logits are the
policy's: Q (q, pure_rl), Ψ (psi), or for g the network's G plus the frozen
prior's log-probabilities, so a g policy carries the prior and steps it too.
The state is a flat list of [B, units] tensors (h, c per layer: the policy's
layers, then for g the prior's); `load_policy` packs it back into a tuple of
(h, c) pairs. Priming is the caller's business (feed the primer through `step`).

A plain `tf.Module` with two signatures, not tf-agents' `PolicySaver`: a
PolicySaver exports `action`, while every consumer here needs the logits.
"""

import json
import os
from typing import Optional, Sequence

import numpy as np
import tensorflow as tf

from pipelines import encoding

POLICY_DIR = 'policy'
CONFIG_FILE = 'config.json'


def _lstm_stack_step(layers, dense, x, state):
  """layers: [(kernel, recurrent_kernel, bias)]; state: flat [h0, c0, h1, c1, ...]."""
  new_state = []
  for k, (kernel, recurrent, bias) in enumerate(layers):
    h, c = state[2 * k], state[2 * k + 1]
    z = tf.matmul(x, kernel) + tf.matmul(h, recurrent) + bias
    i, f, g, o = tf.split(z, 4, axis=-1)
    c = tf.sigmoid(f) * c + tf.sigmoid(i) * tf.tanh(g)
    h = tf.sigmoid(o) * tf.tanh(c)
    new_state += [h, c]
    x = h
  return tf.matmul(x, dense[0]) + dense[1], new_state


def _as_layers(weights: Sequence[np.ndarray], name: str):
  """NoteRnn-order arrays -> (list of (kernel, recurrent, bias) Variables, dense pair)."""
  variables = [tf.Variable(np.asarray(w, np.float32), trainable=False,
                           name='%s_%d' % (name, i)) for i, w in enumerate(weights)]
  layers = [tuple(variables[3 * k:3 * k + 3]) for k in range((len(variables) - 2) // 3)]
  return layers, tuple(variables[-2:])


class PolicyModule(tf.Module):
  """What `policy/` holds: the policy network, and for g also the prior."""

  def __init__(self, policy_weights: Sequence[np.ndarray],
               prior_weights: Optional[Sequence[np.ndarray]] = None):
    super().__init__(name='rl_tuner_policy')
    self._layers, self._dense = _as_layers(policy_weights, 'policy')
    self._units = [int(k.shape[1]) // 4 for k, _, _ in self._layers]
    self._prior_layers, self._prior_dense = (None, None)
    self._prior_units = []
    if prior_weights is not None:
      self._prior_layers, self._prior_dense = _as_layers(prior_weights, 'prior')
      self._prior_units = [int(k.shape[1]) // 4 for k, _, _ in self._prior_layers]
    units = self._units + self._prior_units
    state_spec = [tf.TensorSpec([None, u], tf.float32) for u in units for _ in (0, 1)]
    self.step = tf.function(self._step, input_signature=[
        tf.TensorSpec([None, encoding.NUM_CLASSES], tf.float32), state_spec])
    self.initial_state = tf.function(self._initial_state, input_signature=[
        tf.TensorSpec([], tf.int32)])

  def _initial_state(self, batch_size):
    units = self._units + self._prior_units
    return [tf.zeros([batch_size, u], tf.float32) for u in units for _ in (0, 1)]

  def _step(self, inputs, state):
    num_policy = 2 * len(self._units)
    logits, new_state = _lstm_stack_step(self._layers, self._dense, inputs,
                                         state[:num_policy])
    if self._prior_layers is not None:
      prior_logits, prior_state = _lstm_stack_step(self._prior_layers, self._prior_dense,
                                                   inputs, state[num_policy:])
      logits = logits + tf.nn.log_softmax(prior_logits, axis=-1)
      new_state += prior_state
    return logits, new_state


def save_policy(run_dir: str, policy_weights, prior_weights=None) -> str:
  """Writes `run_dir/policy/` (through a temporary directory, then a rename)."""
  path = os.path.join(run_dir, POLICY_DIR)
  tmp = path + '.tmp'
  if os.path.isdir(tmp):
    import shutil  # pylint: disable=g-import-not-at-top
    shutil.rmtree(tmp)
  module = PolicyModule(policy_weights, prior_weights)
  tf.saved_model.save(module, tmp)
  if os.path.isdir(path):
    import shutil  # pylint: disable=g-import-not-at-top
    shutil.rmtree(path)
  os.rename(tmp, path)
  return path


class StepModel:
  """A loaded policy: `initial_state(batch)`, `step(inputs, state) -> (logits, state)`.

  Attributes:
    config: the run's config.json as a dict.
    algorithm: 'q', 'psi', 'g' or 'pure_rl'.
  """

  def __init__(self, module, config: dict):
    self._module = module
    self.config = config
    self.algorithm = config.get('algorithm')
    self._num_pairs = len(module.initial_state(tf.constant(1, tf.int32))) // 2

  def initial_state(self, batch_size):
    flat = self._module.initial_state(tf.cast(batch_size, tf.int32))
    return self._pack(flat)

  def _pack(self, flat):
    return tuple((flat[2 * k], flat[2 * k + 1]) for k in range(self._num_pairs))

  def step(self, inputs, state):
    flat = [t for pair in state for t in pair]
    logits, new_flat = self._module.step(tf.convert_to_tensor(inputs, tf.float32), flat)
    return logits, self._pack(new_flat)


def load_policy(run_dir: str) -> StepModel:
  """The step model of `run_dir/policy/`, with `run_dir/config.json`.

  Raises:
    ValueError: the run dir has no policy or no readable config.json.
  """
  path = os.path.join(run_dir, POLICY_DIR)
  config_path = os.path.join(run_dir, CONFIG_FILE)
  if not os.path.isdir(path):
    raise ValueError('%s has no %s/ (is the run finished?)' % (run_dir, POLICY_DIR))
  try:
    with open(config_path) as f:
      config = json.load(f)
  except (OSError, ValueError) as e:
    raise ValueError('%s: unreadable config.json (%s)' % (config_path, e)) from None
  return StepModel(tf.saved_model.load(path), config)
