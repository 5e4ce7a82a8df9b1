"""The tuned sampling policy as a SavedModel, `run_dir/policy/`: an export for serving only.

A SavedModel is a TF graph, i.e. code: this project writes it for people who serve the
policy with TF Serving or load it elsewhere, and never reads it back. Evaluation, the report
and the facade rebuild the policy from the checkpoint's weights instead
(`rl_tuner.policy.step_models.load_policy`).

The SavedModel is a small step model: `initial_state(batch)` and
`step(inputs [B, 38], state) -> (logits [B, 38], state)`. Its logits are the
policy's: Q (q, pure_rl), Ψ (psi), or for g the network's G plus the frozen
prior's log-probabilities, so a g policy carries the prior and steps it too.
The state is a flat list of [B, units] tensors (h, c per layer: the policy's
layers, then for g the prior's). Priming is the caller's business (feed the primer through `step`).

A plain `tf.Module` with two signatures, not tf-agents' `PolicySaver`: a
PolicySaver exports `action`, while every consumer here needs the logits.
"""

import os
from typing import Optional, Sequence

import numpy as np
import tensorflow as tf

import note_rnn
from rl_tuner.policy import encodings
from rl_tuner.policy import layout
from rl_tuner.policy import step_models



def _note_rnn(weights: Sequence[np.ndarray], like=None):
  if like is not None and not encodings.is_rule_layout(like):
    return encodings.ClassStepModel(encodings.build_like(like, weights))
  model = note_rnn.build([int(w.shape[0]) for w in weights[1:-2:3]])
  model.set_weights(weights)
  return model


def _state_spec(model) -> list:
  """The flat state of one step model with a free batch dimension."""
  if encodings.is_rule_layout(model):
    return [tf.TensorSpec([None, u], tf.float32) for u in model.layer_sizes for _ in (0, 1)]
  return [tf.TensorSpec([None] + s.shape.as_list(), s.dtype)
          for s in tf.nest.flatten(model.note_rnn_model.state_spec())]


class PolicyModule(tf.Module):
  """What `policy/` holds: the policy network, and for g also the prior (`with_prior`)."""

  def __init__(self, policy_weights: Sequence[np.ndarray],
               prior_weights: Optional[Sequence[np.ndarray]] = None, like=None):
    super().__init__(name='rl_tuner_policy')
    self._network = _note_rnn(policy_weights, like)
    self._prior = None if prior_weights is None else _note_rnn(prior_weights, like)
    self._acting = (self._network if self._prior is None
                    else step_models.with_prior(self._network, self._prior))
    state_spec = _state_spec(self._network) + (
        _state_spec(self._prior) if self._prior is not None else [])
    self.step = tf.function(self._step, input_signature=[
        tf.TensorSpec([None, encodings.num_classes(self._network)], tf.float32), state_spec])
    self.initial_state = tf.function(self._initial_state, input_signature=[
        tf.TensorSpec([], tf.int32)])

  def _initial_state(self, batch_size):
    return tf.nest.flatten(self._acting.initial_state(batch_size))

  def _step(self, inputs, state):
    structure = self._acting.initial_state(1)
    logits, new_state = self._acting.step(inputs, tf.nest.pack_sequence_as(structure, state))
    return logits, tf.nest.flatten(new_state)


def save_policy(run_dir: str, policy_weights, prior_weights=None, like=None) -> str:
  """Writes `run_dir/policy/` (through a temporary directory, then a rename).

  `like`: the tuned note_rnn model (its config and sizes) when it is not basic_rnn.
  """
  return _save(run_dir, PolicyModule(policy_weights, prior_weights, like))


def _save(run_dir: str, module) -> str:
  path = os.path.join(run_dir, layout.POLICY_DIR)
  tmp = path + '.tmp'
  if os.path.isdir(tmp):
    import shutil  # pylint: disable=g-import-not-at-top
    shutil.rmtree(tmp)
  tf.saved_model.save(module, tmp)
  if os.path.isdir(path):
    import shutil  # pylint: disable=g-import-not-at-top
    shutil.rmtree(path)
  os.rename(tmp, path)
  return path

