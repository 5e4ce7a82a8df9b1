"""bin/train_rl_tuner: flag validation, a subprocess smoke run, kill -9 and resume."""

import os
import subprocess
import sys

import pytest

from rl_tuner import config as config_lib
import rl_testlib

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.join(REPO, 'bin', 'train_rl_tuner')
CONFIGS = os.path.join(REPO, 'configs')


def _tiny_flags(note_rnn_dir, run_dir, **extra):
  flags = dict(note_rnn_checkpoint=note_rnn_dir, output_dir=run_dir, num_notes=8,
               num_parallel_envs=8, num_steps=256, exploration_period=128, batch_size=16,
               replay_capacity=1024, output_every_nth=64, checkpoint_every_n=64,
               final_eval_compositions=20, num_midi_compositions=1)
  flags.update(extra)
  return ['--%s=%s' % kv for kv in flags.items()]


def _run(args, **kwargs):
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3')
  return subprocess.run([sys.executable, BIN] + args, capture_output=True, text=True,
                        env=env, timeout=600, **kwargs)


@pytest.mark.parametrize('overrides, flag', [
    (dict(algorithm='dqn'), 'algorithm'),
    (dict(key='H'), 'key'),
    (dict(semantics='modern'), 'semantics'),
    (dict(reward_mode='nope'), 'reward_mode'),
    (dict(algorithm='g', reward_mode='music_theory_all'), 'reward_mode'),
    (dict(algorithm='rl_only', reward_mode='music_theory_basic'), 'reward_mode'),
    (dict(discount_rate=1.5), 'discount_rate'),
    (dict(learning_rate=0.0), 'learning_rate'),
    (dict(batch_size=0), 'batch_size'),
    (dict(num_parallel_envs=0), 'num_parallel_envs'),
    (dict(exploration_mode='softmax'), 'exploration_mode'),
    (dict(priming_mode='single_midi'), 'midi_primer'),
    (dict(priming_mode='single_midi', midi_primer='/no/such.mid'), 'midi_primer'),
    (dict(priming_mode='random_midi'), 'training_file_list'),
    (dict(priming_mode='primer_melody', primer_melody=[60, 84]), 'primer_melody'),
    (dict(priming_mode='primer_melody', primer_melody=[47]), 'primer_melody'),
    (dict(note_rnn_checkpoint='/no/such/checkpoint'), 'note_rnn_checkpoint'),
    (dict(num_checkpoints_to_keep=1), 'num_checkpoints_to_keep'),
    (dict(output_dir=''), 'output_dir'),
])
def test_validate_names_the_bad_flag(overrides, flag):
  values = dict(output_dir='/tmp/unused')
  values.update(overrides)
  assert _bad_flag(config_lib.RLTunerConfig(**values)) == flag


def test_aliases_and_defaults_are_valid():
  for algorithm in ('q', 'psi', 'g', 'pure_rl', 'default', 'rl_only'):
    c = config_lib.RLTunerConfig(output_dir='/tmp/unused', algorithm=algorithm)
    config_lib.check(c)
  assert config_lib.RLTunerConfig(algorithm='default').canonical_algorithm == 'q'
  assert config_lib.RLTunerConfig(algorithm='rl_only').effective_reward_mode == \
      'music_theory_only'
  c = config_lib.RLTunerConfig()
  assert (c.discount_rate, c.reward_scaler, c.batch_size, c.train_every_n,
          c.replay_capacity, c.target_network_update_rate, c.learning_rate,
          c.exploration_mode) == (0.95, 1.0, 32, 5, 100000, 0.01, 1e-3, 'egreedy')


@pytest.mark.parametrize('args, flag', [
    (['--algorithm=dqn'], '--algorithm'),
    (['--key=H#'], '--key'),
    (['--priming_mode=primer_melody', '--primer_melody=[60, 99]'], '--primer_melody'),
])
def test_bad_flags_exit_with_one_line_and_write_nothing(tmp_path, args, flag):
  run_dir = tmp_path / 'run'
  out = _run(['--output_dir=%s' % run_dir] + args)
  assert out.returncode != 0
  lines = [l for l in out.stderr.strip().splitlines() if l.startswith('train_rl_tuner')]
  assert len(lines) == 1 and flag in lines[0], out.stderr
  assert not run_dir.exists()


def test_every_shipped_config_parses(tmp_path):
  for name in ('q', 'psi', 'g', 'pure_rl', 'q_paper', 'ppo', 'grpo'):
    out = _run(['--flagfile=%s' % os.path.join(CONFIGS, name + '.cfg'),
                '--output_dir=%s' % (tmp_path / name), '--algorithm=bogus'])
    # --algorithm=bogus after the flagfile: every line of it parsed, then validation fails.
    assert out.returncode == 2 and '--algorithm' in out.stderr, (name, out.stderr)


@pytest.mark.slow
def test_cli_smoke_run_with_a_flagfile(tmp_path, tiny_note_rnn):
  run_dir = str(tmp_path / 'run')
  flagfile = tmp_path / 'tiny.cfg'
  flagfile.write_text('\n'.join(['# a tiny run'] + _tiny_flags(tiny_note_rnn, run_dir)
                                + ['--algorithm=psi']) + '\n')
  out = _run(['--flagfile=%s' % flagfile])
  assert out.returncode == 0, out.stderr[-2000:]
  assert 'done: 256 env steps' in out.stdout
  assert os.path.exists(os.path.join(run_dir, 'metrics.json'))


@pytest.mark.slow
def test_kill_9_then_rerun_resumes_and_finishes_at_the_same_step(tmp_path, tiny_note_rnn):
  run_dir = tmp_path / 'run'
  args = _tiny_flags(tiny_note_rnn, str(run_dir), num_steps=1536, final_eval_compositions=0,
                     num_midi_compositions=0)
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3')
  kills = rl_testlib.kill_after_new_checkpoints(
      [sys.executable, BIN] + args, run_dir / 'checkpoints', env)
  assert kills >= 1
  out = _run(args)
  assert out.returncode == 0, out.stderr[-2000:]
  assert 'restored' in out.stdout + out.stderr
  assert 'done: 1536 env steps, %d gradient steps' % (1536 // 5) in out.stdout


def _bad_flag(config):
  """The flag `config_lib.check` names, or None when the config is valid."""
  from pipelines.errors import FlagError  # pylint: disable=g-import-not-at-top
  from rl_tuner import config as config_lib  # pylint: disable=g-import-not-at-top
  try:
    config_lib.check(config)
  except FlagError as e:
    return e.flag
  return None
