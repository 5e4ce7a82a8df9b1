"""with_prior (how g acts) and policies rebuilt from a run's checkpoint weights."""

import numpy as np
import tensorflow as tf

import note_rnn
from rl_tuner.policy import step_models


class _ConstantModel:
  """A step model whose logits are fixed; its state counts the steps taken."""

  def __init__(self, logits):
    self._logits = tf.constant([logits], tf.float32)

  def initial_state(self, batch_size):
    return tf.zeros([batch_size], tf.int32)

  def step(self, inputs, state):
    return tf.tile(self._logits, [tf.shape(inputs)[0], 1]), state + 1


def test_with_prior_adds_the_priors_log_probabilities():
  # G = [1, 2]; prior logits [0, ln 3] -> log p = [ln 1/4, ln 3/4].
  acting = step_models.with_prior(_ConstantModel([1.0, 2.0]), _ConstantModel([0.0, np.log(3.0)]))
  state = acting.initial_state(2)
  logits, (model_state, prior_state) = acting.step(tf.zeros([2, 2]), state)
  np.testing.assert_allclose(logits.numpy(), [[1 + np.log(0.25), 2 + np.log(0.75)]] * 2,
                             rtol=1e-6)
  assert model_state.numpy().tolist() == [1, 1] and prior_state.numpy().tolist() == [1, 1]


def test_acting_model_is_the_network_except_for_g():
  network, prior = _ConstantModel([1.0]), _ConstantModel([0.0])
  assert step_models.acting_model('q', network, prior) is network
  assert step_models.acting_model('psi', network, prior) is network
  assert isinstance(step_models.acting_model('g', network, prior), step_models.WithPrior)


def test_note_rnn_step_is_the_shared_lstm_step():
  model = note_rnn.build((6, 5), seed=2)
  inputs = tf.one_hot([3, 7], 38)
  state = model.initial_state(2)
  expected, _ = note_rnn.model.lstm_stack_step(model.lstm_cells, model.dense, inputs, state)
  logits, _ = model.step(inputs, state)
  np.testing.assert_array_equal(logits.numpy(), expected.numpy())
