"""ppo and grpo tune every melody_rnn config (issue 15 on top of issue 14).

Magenta-trained lookback_rnn and attention_rnn bundles (../shared/data/magenta_golden) and a
tiny random mono_rnn go through a few hundred steps of ppo and grpo: the actor starts as the
bundle's model, the prior stays that model frozen, the actions are the config's classes, the
rules read decoded melody events, the policy is rebuilt from checkpoint weights, a run
resumes, and note_rnn_export/ goes back into a Magenta bundle of the same config.
"""

import json
import os

import numpy as np
import pytest

import note_rnn
from note_rnn import magenta_export
from rl_tuner import config as config_lib
from rl_tuner.policy import encodings
from rl_tuner.policy import step_models
from rl_tuner.rl import environment
from rl_tuner.rl import pg_trainer
from rl_tuner.rl import trainer
import rl_testlib

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GOLDEN_CONFIGS = ('lookback_rnn', 'attention_rnn')


@pytest.fixture(scope='module')
def models(shared_data, tmp_path_factory):
  """{config: a note_rnn.load path}: the golden bundles, and a tiny random mono_rnn."""
  out = {}
  for config in GOLDEN_CONFIGS:
    path = shared_data / 'magenta_golden' / 'configs' / config / ('%s.mag' % config)
    if not path.is_file():
      pytest.skip('%s is absent' % path)
    out[config] = str(path)
  mono = str(tmp_path_factory.mktemp('models') / 'mono_rnn')
  note_rnn.build([8], seed=1, config='mono_rnn').save(mono)
  out['mono_rnn'] = mono
  return out


def _config(model_path, run_dir, algorithm, **overrides):
  values = dict(output_dir=run_dir, algorithm=algorithm, note_rnn_checkpoint=model_path,
                num_steps=256, num_parallel_envs=8, num_notes=16, group_size=4,
                ppo_epochs=2, ppo_minibatches=2, learning_rate=0.01, xla=False,
                target_kl_per_note=0.05, kl_hold_until_target=False,
                output_every_nth=128, checkpoint_every_n=128, final_eval_compositions=16,
                num_midi_compositions=1, seed=1)
  values.update(overrides)
  return config_lib.RLTunerConfig(**values)


@pytest.mark.parametrize('algorithm', ['ppo', 'grpo'])
def test_a_round_acts_in_the_configs_classes_and_scores_decoded_events(models, algorithm):
  prior = note_rnn.load(models['lookback_rnn'])
  config = _config(models['lookback_rnn'], '/nonexistent', algorithm)
  config_lib.check(config)
  tuner = pg_trainer.PolicyGradientTuner(config, prior, None)
  rewards, losses, scalars = tuner.run_round()
  notes = rewards['notes']
  assert notes.shape == (8, 17) and notes.max() < prior.num_classes == 40
  assert losses.size == 4 and np.all(np.isfinite(losses))
  assert np.isfinite(scalars['reward/kl'])
  # The rules scored the notes decoded to melody events, not the raw 40 classes.
  rule_notes = encodings.rule_classes(prior, notes)
  expected = environment.episode_rewards(
      rule_notes[:, 1:], rewards['prior_log_p'], key=config.key, semantics=config.semantics,
      reward_mode=config.effective_reward_mode, reward_scaler=config.reward_scaler,
      num_notes=16, priming=rule_notes[:, 0],
      reward_weights=config.effective_reward_rules)
  np.testing.assert_allclose(rewards['music_theory'], expected['music_theory'])
  # The actor moved off the bundle's weights; the prior is the bundle's model, frozen.
  assert any(not np.array_equal(a, b)
             for a, b in zip(tuner.policy_weights(), prior.get_weights()))
  for a, b in zip(tuner.prior_weights(), prior.get_weights()):
    np.testing.assert_array_equal(a, b)
  assert (tuner.value_network is None) == (algorithm == 'grpo')


# ppo on every config; grpo (the same networks, another advantage) on the two fast ones: its
# attention path is the ppo one, which the kill and CLI tests below also run.
@pytest.mark.slow
@pytest.mark.parametrize('algorithm, config', [
    ('ppo', 'lookback_rnn'), ('ppo', 'attention_rnn'), ('ppo', 'mono_rnn'),
    ('grpo', 'lookback_rnn'), ('grpo', 'mono_rnn')])
def test_tuning_run_per_config(models, tmp_path, algorithm, config):
  run_dir = str(tmp_path / ('%s_%s' % (algorithm, config)))
  result = trainer.train_eval(_config(models[config], run_dir, algorithm), log=lambda _: None)
  assert result['env_steps'] == 256
  policy, _ = rl_testlib.check_tuned_run(run_dir, models[config], config)
  assert policy.algorithm == algorithm
  entry = result['metrics'][os.path.basename(run_dir)]
  assert 0 <= entry['notes_not_in_key'] <= 1 and np.isfinite(entry['mean_log_p'])
  exported = note_rnn.load(os.path.join(run_dir, 'note_rnn_export'))
  assert exported.config_name == config
  for a, b in zip(exported.get_weights(), policy.network.get_weights()):
    np.testing.assert_array_equal(a, b)


@pytest.mark.slow
def test_kill_9_then_rerun_resumes_an_attention_run(models, tmp_path):
  run_dir = tmp_path / 'ppo_att'
  args = ['--flagfile=%s' % os.path.join(REPO, 'configs', 'ppo.cfg'), '--note_rnn_checkpoint=%s' % models['attention_rnn'],
          '--output_dir=%s' % run_dir, '--num_steps=1024', '--num_parallel_envs=8',
          '--num_notes=16', '--noxla', '--ppo_minibatches=2', '--checkpoint_every_n=128',
          '--final_eval_compositions=0', '--num_midi_compositions=0']
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3', PYTHONPATH=REPO)
  command = [os.path.join(REPO, '.venv', 'bin', 'python'),
             os.path.join(REPO, 'bin', 'train_rl_tuner')] + args
  assert rl_testlib.kill_after_new_checkpoints(command, run_dir / 'checkpoints', env) >= 1
  out = rl_testlib.run_tool('train_rl_tuner', *args)
  assert 'restored' in out.stdout + out.stderr
  # 8 rounds of 8 episodes x 16 notes, 4 epochs x 2 minibatches each.
  assert 'done: 1024 env steps, 64 gradient steps' in out.stdout
  with open(run_dir / 'config.json') as f:
    assert json.load(f)['note_rnn']['layer_sizes'] == [32, 32]
  assert step_models.load_policy(str(run_dir)).config_name == 'attention_rnn'


@pytest.mark.slow
def test_cli_ppo_on_attention_evaluates_and_exports_a_magenta_bundle(models, tmp_path):
  run_dir = str(tmp_path / 'ppo_att')
  rl_testlib.run_tool('train_rl_tuner', '--flagfile=configs/ppo.cfg',
       '--note_rnn_checkpoint=%s' % models['attention_rnn'], '--output_dir=%s' % run_dir,
       '--num_steps=256', '--num_parallel_envs=8', '--num_notes=16', '--noxla',
       '--ppo_minibatches=2', '--final_eval_compositions=0', '--num_midi_compositions=0')
  out = str(tmp_path / 'eval')
  rl_testlib.run_tool('evaluate_rl_tuner', '--run_dir=%s' % run_dir, '--num_compositions=12',
       '--save_compositions', '--output_dir=%s' % out)
  with open(os.path.join(out, 'metrics.json')) as f:
    assert json.load(f)['ppo_att']['algorithm'] == 'ppo'
  with np.load(os.path.join(out, 'compositions.npz')) as data:
    assert 'ppo_att_events' in data.files
  # Without saved compositions the report samples the run itself, in the model's classes.
  report = str(tmp_path / 'report')
  done = rl_testlib.run_tool('make_report', '--run_dir=%s' % run_dir, '--noaudio', '--output_dir=%s' % report)
  assert 'no samples of' not in done.stderr and 'no probability heat map' not in done.stderr
  assert os.path.isfile(os.path.join(report, 'probabilities_0.png'))
  assert any(n.startswith('sample_01_ppo_att') for n in os.listdir(report))
  exported = note_rnn.load(os.path.join(run_dir, 'note_rnn_export'))
  bundle = str(tmp_path / 'tuned_attention_rnn.mag')
  magenta_export.export_magenta(exported, bundle_file=bundle)
  back = note_rnn.load(bundle)
  assert back.config_name == 'attention_rnn' and back.attn_length == exported.attn_length
  classes = np.array([[3, 5, 1, 0, 7, 3, 39, 38]], np.int32)
  np.testing.assert_allclose(back.logits(back.inputs_from_classes(classes)),
                             exported.logits(exported.inputs_from_classes(classes)),
                             atol=1e-5)
  prior = note_rnn.load(models['attention_rnn'])
  assert not np.allclose(back.logits(back.inputs_from_classes(classes)),
                         prior.logits(prior.inputs_from_classes(classes)))
