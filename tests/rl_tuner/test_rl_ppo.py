"""ppo / grpo: hand-worked loss maths on tiny batches, config checks, CLI runs, resume, export."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

import note_rnn
from pipelines.errors import FlagError
from rl_tuner import config as config_lib
from rl_tuner.rl import policy_gradient as pg
import rl_testlib

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.join(REPO, 'bin', 'train_rl_tuner')
EVALUATE = os.path.join(REPO, 'bin', 'evaluate_rl_tuner')


def test_kl_penalty_enters_the_reward_per_note():
  rewards, kl = pg.kl_penalised_rewards(
      music_theory=[[1.0, -2.0]], log_pi=[[-1.0, -2.0]], log_prior=[[-1.5, -1.0]], kl_coef=0.5)
  np.testing.assert_allclose(kl, [[0.5, -1.0]])
  # r = λR_MT − β(log π − log p): 1 − 0.5·0.5, −2 − 0.5·(−1).
  np.testing.assert_allclose(rewards, [[0.75, -1.5]])


def test_gae_by_hand():
  rewards, values = [[1.0, 2.0, 3.0]], [[0.5, 1.0, 2.0]]
  # δ = r + γV' − V = [1 + .5 − .5, 2 + 1 − 1, 3 − 2] = [1, 2, 1]; γλ = .25.
  advantages, returns = pg.gae_advantages(rewards, values, discount=0.5, gae_lambda=0.5)
  np.testing.assert_allclose(advantages, [[1.5625, 2.25, 1.0]])
  np.testing.assert_allclose(returns, [[2.0625, 3.25, 3.0]])
  # λ = 1: A = G − V with G = [2.75, 3.5, 3].
  advantages, _ = pg.gae_advantages(rewards, values, discount=0.5, gae_lambda=1.0)
  np.testing.assert_allclose(advantages, [[2.25, 2.5, 1.0]])


def test_discounted_returns_by_hand():
  np.testing.assert_allclose(pg.discounted_returns([[1.0, 2.0, 4.0]], 0.5), [[3.0, 4.0, 4.0]])


def test_group_relative_advantages_by_hand():
  rewards = [[1.0, 0.0], [3.0, 2.0], [0.0, 0.0], [2.0, 2.0]]
  # Returns-to-go (γ = 1): [1, 0], [5, 2] | [0, 0], [4, 2]; group means [3, 1] and [2, 1].
  advantages = pg.group_relative_advantages(rewards, group_size=2, discount=1.0)
  np.testing.assert_allclose(advantages, [[-2.0, -1.0], [2.0, 1.0], [-2.0, -1.0], [2.0, 1.0]])


def test_normalise():
  np.testing.assert_allclose(pg.normalise(tf.constant([[1.0, 2.0, 3.0]])),
                             [[-1.2247449, 0.0, 1.2247449]], rtol=1e-5)


def test_clip_objective_by_hand():
  old = np.zeros((1, 3), np.float32)
  log_pi = np.log([[1.5, 0.5, 1.1]]).astype(np.float32)
  advantages = np.array([[1.0, -1.0, 2.0]], np.float32)
  loss, clip_fraction = pg.clipped_surrogate_loss(log_pi, old, advantages, clip_ratio=0.2)
  # min(ρA, clip(ρ)A): min(1.5, 1.2) = 1.2; min(−0.5, −0.8) = −0.8; min(2.2, 2.2) = 2.2.
  np.testing.assert_allclose(loss, -(1.2 - 0.8 + 2.2) / 3, rtol=1e-6)
  np.testing.assert_allclose(clip_fraction, 2 / 3, rtol=1e-6)


def test_adaptive_kl_coefficient_by_hand():
  # KL 50 % over target: e clipped to 0.2; n/horizon = 2048/10000.
  assert pg.adaptive_kl_coef(0.1, 0.15, 0.1, 2048, 10000) == pytest.approx(0.104096)
  # KL 10 % under: e = −0.1.
  assert pg.adaptive_kl_coef(0.1, 0.09, 0.1, 2048, 10000) == pytest.approx(0.097952)
  assert pg.adaptive_kl_coef(0.1, 0.1, 0.1, 2048, 10000) == pytest.approx(0.1)


def test_action_log_probs_pick_the_played_note():
  logits = np.log(np.array([[[0.25, 0.75], [0.5, 0.5]]], np.float32))
  np.testing.assert_allclose(pg.action_log_probs(logits, [[1, 0]]),
                             np.log([[0.75, 0.5]]), rtol=1e-6)


@pytest.mark.parametrize('overrides, flag', [
    (dict(algorithm='ppo', reward_mode='music_theory_all'), 'reward_mode'),
    (dict(algorithm='kl_pg', reward_mode='music_theory_basic'), 'reward_mode'),
    (dict(algorithm='grpo', num_parallel_envs=10, group_size=4), 'group_size'),
    (dict(algorithm='ppo', kl_coef=-1.0), 'kl_coef'),
    (dict(algorithm='ppo', target_kl_per_note=0.0), 'target_kl_per_note'),
    (dict(algorithm='ppo', kl_horizon=0), 'kl_horizon'),
    (dict(algorithm='ppo', clip_ratio=1.5), 'clip_ratio'),
    (dict(algorithm='ppo', ppo_minibatches=0), 'ppo_minibatches'),
])
def test_bad_policy_gradient_settings_name_their_flag(overrides, flag):
  with pytest.raises(FlagError) as e:
    config_lib.check(config_lib.RLTunerConfig(output_dir='/tmp/unused', **overrides))
  assert e.value.flag == flag


def test_ppo_defaults():
  c = config_lib.RLTunerConfig(output_dir='/tmp/unused', algorithm='kl_pg')
  config_lib.check(c)
  assert c.canonical_algorithm == 'ppo'
  assert c.effective_reward_mode == 'music_theory_only'


def test_grpo_groups_share_their_first_note():
  from rl_tuner.rl import networks  # pylint: disable=g-import-not-at-top
  from rl_tuner.rl import pg_trainer  # pylint: disable=g-import-not-at-top
  model = note_rnn.build((4,), seed=0)
  net = networks.NoteRnnQNetwork(networks.observation_spec(False), (4,),
                                 initial_weights=model.get_weights())
  collector = pg_trainer.GroupedEpisodeCollector(
      net, net, group_size=4, num_envs=12, num_notes=6, semantics='corrected',
      add_prior_to_scores=False, exploration_mode='boltzmann', exploration_period=0,
      initial_epsilon=0.0, final_epsilon=0.0, seed=3)
  notes, _, _ = collector.collect(0)
  first = notes[:, 0].reshape(3, 4)
  assert (first == first[:, :1]).all()
  assert len({tuple(row) for row in notes[:, 1:]}) > 3  # members sample independently


def _flags(note_rnn_dir, run_dir, **extra):
  flags = dict(note_rnn_checkpoint=note_rnn_dir, output_dir=run_dir, num_notes=8,
               num_parallel_envs=8, num_steps=256, output_every_nth=64,
               checkpoint_every_n=64, final_eval_compositions=20, num_midi_compositions=1,
               ppo_epochs=2, ppo_minibatches=2, group_size=4, xla=False,
               target_kl_per_note=0.05, kl_hold_until_target=False, learning_rate=0.01)
  flags.update(extra)
  return ['--%s=%s' % kv for kv in flags.items()]


def _run(tool, args):
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3')
  return subprocess.run([sys.executable, tool] + args, capture_output=True, text=True,
                        env=env, timeout=600)


def _scalars(run_dir, tag):
  from tensorboard.backend.event_processing import event_accumulator  # pylint: disable=g-import-not-at-top
  acc = event_accumulator.EventAccumulator(os.path.join(run_dir, 'tb'),
                                           size_guidance={'tensors': 0})
  acc.Reload()
  return [float(tf.make_ndarray(e.tensor_proto)) for e in acc.Tensors(tag)]


@pytest.mark.slow
@pytest.mark.parametrize('algorithm', ['ppo', 'grpo'])
def test_cli_run_exports_and_evaluates(tmp_path, tiny_note_rnn, algorithm):
  run_dir = str(tmp_path / algorithm)
  out = _run(BIN, _flags(tiny_note_rnn, run_dir, algorithm=algorithm))
  assert out.returncode == 0, out.stderr[-2000:]
  # 4 rounds of 8 episodes x 8 notes, 2 epochs x 2 minibatches each.
  assert 'done: 256 env steps, 16 gradient steps' in out.stdout
  for name in ('metrics.json', 'policy', 'note_rnn_export', 'compositions'):
    assert os.path.exists(os.path.join(run_dir, name)), name
  with open(os.path.join(run_dir, 'config.json')) as f:
    assert json.load(f)['effective_reward_mode'] == 'music_theory_only'
  kl_coef = _scalars(run_dir, 'train/kl_coef')
  assert len(kl_coef) == 4 and len(_scalars(run_dir, 'reward/kl')) == 4
  assert kl_coef[0] == pytest.approx(0.1) and kl_coef[-1] != pytest.approx(0.1)
  # The tuned actor is a Note RNN: the export loads and differs from the prior.
  tuned = note_rnn.load(os.path.join(run_dir, 'note_rnn_export'))
  prior = note_rnn.load(tiny_note_rnn)
  assert any(not np.allclose(a, b) for a, b in zip(tuned.get_weights(), prior.get_weights()))
  eval_dir = str(tmp_path / 'eval')
  out = _run(EVALUATE, ['--run_dir=%s' % run_dir, '--output_dir=%s' % eval_dir,
                        '--num_compositions=16'])
  assert out.returncode == 0, out.stderr[-2000:]
  with open(os.path.join(eval_dir, 'metrics.json')) as f:
    metrics = json.load(f)
  assert metrics[algorithm]['algorithm'] == algorithm


@pytest.mark.slow
def test_kill_9_then_rerun_resumes_and_finishes_at_the_same_step(tmp_path, tiny_note_rnn):
  run_dir = tmp_path / 'run'
  args = _flags(tiny_note_rnn, str(run_dir), algorithm='ppo', num_steps=1024,
                final_eval_compositions=0, num_midi_compositions=0)
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3')
  kills = rl_testlib.kill_after_new_checkpoints(
      [sys.executable, BIN] + args, run_dir / 'checkpoints', env)
  assert kills >= 1
  out = _run(BIN, args)
  assert out.returncode == 0, out.stderr[-2000:]
  assert 'restored' in out.stdout + out.stderr
  assert 'done: 1024 env steps, %d gradient steps' % (1024 // 64 * 4) in out.stdout


@pytest.mark.slow
def test_facade_trains_ppo_and_generates(tmp_path, tiny_note_rnn):
  import rl_tuner  # pylint: disable=g-import-not-at-top
  rlt = rl_tuner.RLTuner(str(tmp_path / 'run'), algorithm='kl_pg', num_notes_in_melody=8,
                         note_rnn_checkpoint_file=tiny_note_rnn, num_parallel_envs=8,
                         output_every_nth=64, target_kl_per_note=0.05)
  assert rlt.algorithm == 'ppo' and rlt.config.effective_reward_mode == 'music_theory_only'
  rlt.train(num_steps=128)
  assert rlt.env_steps == 128
  with open(os.path.join(str(tmp_path / 'run'), 'config.json')) as f:
    assert json.load(f)['algorithm'] == 'ppo'
  rlt.generate_music_sequence(visualize_probs=False, title='ppo')
  assert len(rlt.composition) == 8


def test_pareto_front_by_hand():
  from rl_tuner.report import tradeoff  # pylint: disable=g-import-not-at-top
  score = [1.0, 2.0, 0.5, 2.0, np.nan]
  kl = [0.1, 0.5, 0.2, 0.6, 0.0]
  # Run 2 is beaten by run 0 (higher score, lower KL), run 3 by run 1; NaN is never on it.
  np.testing.assert_array_equal(
      tradeoff.pareto_front(score, kl, other_higher_is_better=False),
      [True, True, False, False, False])
  np.testing.assert_array_equal(
      tradeoff.pareto_front(score, kl, other_higher_is_better=True),
      [False, False, False, True, False])


def test_distinct_ngrams_and_rule_score():
  from rl_tuner.evaluate import tradeoff  # pylint: disable=g-import-not-at-top
  from rl_tuner.music import rules  # pylint: disable=g-import-not-at-top
  notes = np.array([[2, 3, 4, 2, 3, 4], [2, 3, 4, 5, 6, 7]])
  # Windows of 3: (2,3,4) (3,4,2) (4,2,3) (2,3,4) | (2,3,4) (3,4,5) (4,5,6) (5,6,7).
  assert tradeoff.distinct_ngrams(notes, 3) == 6
  assert tradeoff.distinct_ngrams(notes, 7) == 0
  melody = np.tile(np.array([[14, 0, 16, 0, 18, 0, 19, 0]]), (2, 4))
  expected = rules.music_theory_reward(melody, key='C', semantics='corrected',
                                       reward_mode='music_theory_only', num_notes=32).mean()
  assert tradeoff.rule_score(melody) == pytest.approx(expected)


def test_exact_kl_is_zero_for_the_prior_itself_and_positive_otherwise():
  from rl_tuner.evaluate import tradeoff  # pylint: disable=g-import-not-at-top
  prior = note_rnn.build((4,), seed=0)
  other = note_rnn.build((4,), seed=1)
  priming = np.array([5, 9])
  notes = np.array([[2, 3, 4], [7, 0, 1]])
  assert tradeoff.exact_kl_per_note(prior, prior, priming, notes) == pytest.approx(0, abs=1e-6)
  assert tradeoff.exact_kl_per_note(other, prior, priming, notes) > 0


@pytest.mark.slow
def test_sweep_writes_table_and_plot(tmp_path, tiny_note_rnn):
  configs = tmp_path / 'configs'
  configs.mkdir()
  tiny = ['--num_notes=8', '--num_parallel_envs=8', '--batch_size=8', '--replay_capacity=1024',
          '--noxla', '--ppo_epochs=1', '--ppo_minibatches=2', '--output_every_nth=64']
  for name in ('q', 'ppo'):
    (configs / (name + '.cfg')).write_text('\n'.join(tiny) + '\n')
  out_dir = tmp_path / 'sweep'
  out = _run(os.path.join(REPO, 'bin', 'sweep_rl_tuner'), [
      '--output_dir=%s' % out_dir, '--algorithms=q,ppo', '--reward_scalers=1',
      '--target_kls=0.1', '--num_steps=128', '--num_compositions=16',
      '--configs_dir=%s' % configs, '--note_rnn_checkpoint=%s' % tiny_note_rnn])
  assert out.returncode == 0, out.stderr[-2000:]
  with open(out_dir / 'sweep.json') as f:
    rows = json.load(f)['rows']
  assert [r['name'] for r in rows] == ['note_rnn', 'q_l1', 'ppo_l1_kl0.1']
  for row in rows:
    for key in ('rule_score', 'kl_to_note_rnn_per_note', 'distinct_8grams_ratio'):
      assert np.isfinite(row[key]), (row['name'], key)
  assert rows[0]['front_kl']  # the Note RNN has KL 0: nothing beats it on that axis
  assert 'ppo_l1_kl0.1' in (out_dir / 'sweep.md').read_text()
  assert (out_dir / 'sweep.png').stat().st_size > 1000

  # The report shows the sweep; it redraws a missing plot in its own dir, not the sweep's.
  (out_dir / 'sweep.png').unlink()
  report_dir = tmp_path / 'report'
  out = _run(os.path.join(REPO, 'bin', 'make_report'), [
      '--run_dir=%s' % (out_dir / 'runs' / 'ppo_l1_kl0.1'), '--sweep_dir=%s' % out_dir,
      '--output_dir=%s' % report_dir, '--noaudio', '--num_samples=1', '--num_ab_pairs=0'])
  assert out.returncode == 0, out.stderr[-2000:]
  page = (report_dir / 'report.html').read_text()
  section = page[page.index('<h2>Trade-off sweep</h2>'):]
  assert 'q_l1' in section and 'ppo_l1_kl0.1' in section and 'data:image/png' in section
  assert not (out_dir / 'sweep.png').exists() and (report_dir / 'sweep_0.png').exists()
  bad = _run(os.path.join(REPO, 'bin', 'make_report'), [
      '--run_dir=%s' % (out_dir / 'runs' / 'ppo_l1_kl0.1'), '--sweep_dir=%s' % configs,
      '--output_dir=%s' % (tmp_path / 'bad')])
  assert bad.returncode == 2 and bad.stderr.strip().splitlines()[-1].startswith(
      'make_report: --sweep_dir: %s' % (configs / 'sweep.json')), bad.stderr


def test_beta_holds_until_the_kl_first_reaches_the_target():
  import types  # pylint: disable=g-import-not-at-top
  from rl_tuner.rl import pg_trainer  # pylint: disable=g-import-not-at-top
  fake = types.SimpleNamespace(
      config=config_lib.RLTunerConfig(kl_coef=0.1, target_kl_per_note=0.5, kl_horizon=10000),
      kl_coef=tf.Variable(0.1, dtype=tf.float64), kl_reached=tf.Variable(False))
  adapt = lambda kl: pg_trainer.PolicyGradientTuner._adapt_kl_coef(fake, kl, 5000)  # pylint: disable=protected-access
  adapt(0.1)  # below the target, never reached: β stays
  assert float(fake.kl_coef.numpy()) == pytest.approx(0.1)
  adapt(0.6)  # reached: e = 0.2, β·(1 + 0.2·0.5)
  assert float(fake.kl_coef.numpy()) == pytest.approx(0.11)
  adapt(0.45)  # from now on it also goes down: e = −0.1
  assert float(fake.kl_coef.numpy()) == pytest.approx(0.11 * 0.95)
  fake.config.kl_hold_until_target = False
  fake.kl_reached.assign(False)
  adapt(0.25)  # without the hold: e = −0.2 at once
  assert float(fake.kl_coef.numpy()) == pytest.approx(0.11 * 0.95 * 0.9)


def test_policy_gradient_settings_do_not_constrain_the_dqn_family():
  config_lib.check(config_lib.RLTunerConfig(output_dir='/tmp/unused', algorithm='q',
                                            num_parallel_envs=2, group_size=4))
  with pytest.raises(FlagError):
    config_lib.check(config_lib.RLTunerConfig(output_dir='/tmp/unused', algorithm='ppo',
                                              num_parallel_envs=2))
