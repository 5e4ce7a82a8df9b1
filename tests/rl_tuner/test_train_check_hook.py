"""train_eval's on_check hook (used by bench/time_to_quality.py)."""

import numpy as np
import tensorflow as tf

import note_rnn
from rl_tuner import config as config_lib
from rl_tuner.rl import trainer


def _tiny_config(tmp_path, **overrides):
  prior_dir = str(tmp_path / 'prior')
  note_rnn.build((16,), seed=3).save(prior_dir)
  values = dict(output_dir=str(tmp_path / 'run'), note_rnn_checkpoint=prior_dir,
                num_parallel_envs=4, num_notes=8,
                num_steps=160, batch_size=16, train_every_n=8, min_replay_transitions=16,
                replay_capacity=256, exploration_period=64, xla=False,
                final_eval_compositions=0, num_midi_compositions=0,
                output_every_nth=10_000, checkpoint_every_n=10_000)
  values.update(overrides)
  return config_lib.RLTunerConfig(**values)


def test_on_check_before_first_step_then_every_n_and_stop(tmp_path):
  calls = []

  def on_check(env_steps, policy):
    logits, state = policy.step(tf.one_hot([14, 3], 38), policy.initial_state(2))
    assert logits.shape == (2, 38) and np.all(np.isfinite(logits.numpy()))
    calls.append(env_steps)
    return env_steps >= 96  # stop at the first check at or past 96 steps

  result = trainer.train_eval(_tiny_config(tmp_path), log=lambda _: None, on_check=on_check,
                            check_every=64)
  # One round collects 4 x 8 = 32 steps: checks at 0, then after passing 64 and 128.
  assert calls == [0, 64, 128]
  assert result['env_steps'] == 128  # stopped before the 160-step budget


def test_live_policy_is_the_q_network_and_g_adds_the_prior(tmp_path):
  seen = {}

  def on_check(env_steps, policy):
    seen['policy'] = policy
    return True

  trainer.train_eval(_tiny_config(tmp_path, algorithm='g'), log=lambda _: None,
                   on_check=on_check, check_every=64)
  policy = seen['policy']
  inputs = tf.one_hot([14], 38)
  logits, _ = policy.step(inputs, policy.initial_state(1))
  q_values, _ = policy.model.step(inputs, policy.model.initial_state(1))
  prior, _ = policy.prior.step(inputs, policy.prior.initial_state(1))
  np.testing.assert_allclose(logits.numpy(),
                             (q_values + tf.nn.log_softmax(prior)).numpy(), atol=1e-5)


def test_ppo_runs_the_same_hook_on_its_actor(tmp_path):
  calls = []

  def on_check(env_steps, policy):
    logits, _ = policy.step(tf.one_hot([14], 38), policy.initial_state(1))
    assert logits.shape == (1, 38)
    calls.append(env_steps)
    return env_steps >= 64

  result = trainer.train_eval(
      _tiny_config(tmp_path, algorithm='ppo', ppo_epochs=1, ppo_minibatches=2),
      log=lambda _: None, on_check=on_check, check_every=64)
  assert calls == [0, 64] and result['env_steps'] == 64
