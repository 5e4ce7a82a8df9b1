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


def test_policy_loads_from_a_relative_or_moved_run_dir(tmp_path, monkeypatch):
  """The checkpoint state names files as the trainer saw them; the run dir's own are read."""
  import shutil
  from rl_tuner import config as config_lib
  from rl_tuner.rl import trainer
  prior = str(tmp_path / 'prior')
  note_rnn.build((8,), seed=0).save(prior)
  monkeypatch.chdir(tmp_path)
  trainer.train_eval(config_lib.RLTunerConfig(
      output_dir='runs/q', note_rnn_checkpoint=prior, num_notes=8, num_parallel_envs=8,
      num_steps=128, exploration_period=64, batch_size=16, replay_capacity=1024,
      output_every_nth=128, checkpoint_every_n=64, final_eval_compositions=0,
      num_midi_compositions=1, seed=3, xla=False), log=lambda _: None)
  relative = step_models.load_policy('runs/q')
  shutil.copytree(tmp_path / 'runs' / 'q', tmp_path / 'moved')
  shutil.rmtree(tmp_path / 'runs')
  moved = step_models.load_policy(str(tmp_path / 'moved'))
  for a, b in zip(relative.network.get_weights(), moved.network.get_weights()):
    np.testing.assert_array_equal(a, b)
