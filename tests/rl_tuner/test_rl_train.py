"""train_eval end to end on tiny configs: outputs, resume, lock, corrupt checkpoint, NaN stop."""

from pipelines.errors import FlagError
import json
import os

import numpy as np
import pytest

import note_rnn
from note_rnn import run_common
from rl_tuner import config as config_lib
from rl_tuner.policy import step_models
from rl_tuner.policy import run_dir as run_dir_lib
from rl_tuner.rl import trainer


def tiny_config(run_dir, note_rnn_dir, **overrides):
  values = dict(output_dir=str(run_dir), note_rnn_checkpoint=note_rnn_dir, num_notes=8,
                num_parallel_envs=8, num_steps=256, exploration_period=128, batch_size=16,
                train_every_n=5, replay_capacity=1024, output_every_nth=64,
                checkpoint_every_n=64, final_eval_compositions=20, num_midi_compositions=1,
                seed=3)
  values.update(overrides)
  return config_lib.RLTunerConfig(**values)


@pytest.mark.parametrize('algorithm', ['q', 'psi', 'g', 'pure_rl'])
def test_each_algorithm_trains_and_writes_the_run_dir(tmp_path, tiny_note_rnn, algorithm):
  lines = []
  result = trainer.train_eval(tiny_config(tmp_path / algorithm, tiny_note_rnn,
                                        algorithm=algorithm), log=lines.append)
  run = str(tmp_path / algorithm)
  assert result['env_steps'] == 256 and result['gradient_steps'] == 256 // 5
  assert np.isfinite(result['final_loss'])
  config = json.load(open(os.path.join(run, 'config.json')))
  assert config['algorithm'] == algorithm and config['semantics'] == 'corrected'
  assert config['note_rnn']['layer_sizes'] == [8] and 'versions' in config
  assert len(config['note_rnn']['weights_sha256']) == 64
  expected_mode = 'music_theory_all' if algorithm in ('q', 'psi') else 'music_theory_only'
  assert config['effective_reward_mode'] == expected_mode
  assert any('env-steps/s' in line for line in lines)
  policy = step_models.load_policy(run)
  logits, state = policy.step(np.eye(38, dtype=np.float32)[:2], policy.initial_state(2))
  assert logits.shape == (2, 38)
  metrics = json.load(open(os.path.join(run, 'metrics.json')))
  assert metrics[algorithm]['num_compositions'] == 20
  assert os.path.exists(os.path.join(run, 'metrics.md'))
  assert os.listdir(os.path.join(run, 'compositions'))
  assert os.listdir(os.path.join(run, 'tb'))
  export = os.path.join(run, 'note_rnn_export')
  if algorithm == 'g':
    assert not os.path.exists(export)
    assert any('not written for g' in line for line in lines)
    assert len(state) == 2  # the policy's layer, then the prior's
  else:
    exported = note_rnn.load(export)
    np.testing.assert_allclose(
        exported.step(np.eye(38, dtype=np.float32)[:2], exported.initial_state(2))[0],
        logits, atol=1e-5)


def test_resume_continues_from_the_last_checkpoint(tmp_path, tiny_note_rnn):
  run = tmp_path / 'run'
  first = trainer.train_eval(tiny_config(run, tiny_note_rnn, num_steps=128,
                                       final_eval_compositions=0, num_midi_compositions=0),
                           log=lambda _: None)
  assert first['env_steps'] == 128
  lines = []
  second = trainer.train_eval(tiny_config(run, tiny_note_rnn, num_steps=256,
                                        final_eval_compositions=0, num_midi_compositions=0),
                            log=lines.append)
  assert any('restored' in line and 'env step 128' in line for line in lines)
  assert second['env_steps'] == 256 and second['gradient_steps'] == 256 // 5
  # A finished run rerun with the same flags does no more training.
  third = trainer.train_eval(tiny_config(run, tiny_note_rnn, num_steps=256,
                                       final_eval_compositions=0, num_midi_compositions=0),
                           log=lambda _: None)
  assert third['env_steps'] == 256 and third['gradient_steps'] == 256 // 5
  # --overwrite starts fresh; a changed setting without it is refused, naming the flag.
  with pytest.raises(FlagError, match='--discount_rate'):
    trainer.train_eval(tiny_config(run, tiny_note_rnn, num_steps=64, discount_rate=0.5),
                     log=lambda _: None)
  fresh = trainer.train_eval(tiny_config(run, tiny_note_rnn, num_steps=64, overwrite=True,
                                       final_eval_compositions=0, num_midi_compositions=0),
                           log=lambda _: None)
  assert fresh['env_steps'] == 64


def test_corrupt_latest_checkpoint_falls_back_to_the_previous(tmp_path, tiny_note_rnn):
  run = tmp_path / 'run'
  cfg = dict(final_eval_compositions=0, num_midi_compositions=0)
  trainer.train_eval(tiny_config(run, tiny_note_rnn, num_steps=128, **cfg), log=lambda _: None)
  ckpt_dir = run / 'checkpoints'
  data = sorted(p for p in os.listdir(ckpt_dir) if p.startswith('ckpt-128.data'))
  assert data, os.listdir(ckpt_dir)
  path = ckpt_dir / data[0]
  with open(path, 'r+b') as f:  # truncate the newest checkpoint's data
    f.truncate(100)
  lines = []
  result = trainer.train_eval(tiny_config(run, tiny_note_rnn, num_steps=192, **cfg),
                            log=lines.append)
  assert any(str(path) in line and 'unreadable' in line for line in lines), lines
  assert any('env step 64' in line for line in lines), lines
  assert result['env_steps'] == 192


def test_live_lock_refuses_a_second_run(tmp_path, tiny_note_rnn):
  run = tmp_path / 'run'
  with run_dir_lib.RunLock(str(run)):
    with pytest.raises(FlagError, match='live run'):
      trainer.train_eval(tiny_config(run, tiny_note_rnn), log=lambda _: None)
  assert not (run / 'config.json').exists()
  # A stale .lock file (its process gone, no flock held) does not block.
  (run / '.lock').write_text('999999\n')
  with run_dir_lib.RunLock(str(run)):
    pass


def test_nan_reward_stops_and_keeps_the_last_good_checkpoint(tmp_path, tiny_note_rnn,
                                                             monkeypatch):
  run = tmp_path / 'run'
  cfg = dict(final_eval_compositions=0, num_midi_compositions=0)
  trainer.train_eval(tiny_config(run, tiny_note_rnn, num_steps=64, **cfg), log=lambda _: None)
  from rl_tuner.music import rule_api  # the trainer's rewards go through the rule API
  real = rule_api.weighted_reward
  monkeypatch.setattr(rule_api, 'weighted_reward', lambda *a, **k: real(*a, **k) * np.nan)
  with pytest.raises(run_common.TrainingDivergedError, match=r'env step 64: the music_theory reward'):
    trainer.train_eval(tiny_config(run, tiny_note_rnn, num_steps=128, **cfg), log=lambda _: None)
  assert sorted(p for p in os.listdir(run / 'checkpoints') if p.endswith('.index')) == [
      'ckpt-64.index']


def test_nan_loss_stops_naming_the_step(tmp_path, tiny_note_rnn, monkeypatch):
  run = tmp_path / 'run'
  monkeypatch.setattr(trainer.Tuner, 'train',
                      lambda self, n: np.full(max(n, 1), np.nan, np.float32))
  with pytest.raises(run_common.TrainingDivergedError, match=r'gradient step \d+ \(env step 64\): the TD '
                     'loss is NaN/Inf'):
    trainer.train_eval(tiny_config(run, tiny_note_rnn, num_steps=128), log=lambda _: None)


@pytest.mark.slow
def test_same_seed_and_flags_give_the_same_metrics(tmp_path, tiny_note_rnn):
  results = []
  for name in ('a', 'b'):
    out = trainer.train_eval(tiny_config(tmp_path / name / 'run', tiny_note_rnn, num_steps=128),
                           log=lambda _: None)
    entry = dict(out['metrics']['run'])
    entry.pop('run_dir')
    results.append(entry)
  assert results[0] == results[1]


def test_num_steps_not_whole_rounds_rounds_up_and_says_so_once(tmp_path, tiny_note_rnn):
  lines = []
  config = tiny_config(tmp_path / 'r', tiny_note_rnn, num_steps=100, final_eval_compositions=0,
                       output_every_nth=64)
  assert trainer.rounded_budget(config) == 128  # rounds of 8 envs x 8 notes = 64 steps
  result = trainer.train_eval(config, log=lines.append)
  assert result['env_steps'] == 128
  said = [line for line in lines if 'whole rounds' in line]
  assert said == ['--num_steps=100 \u2192 128 steps: whole rounds of 64']
  assert lines.index(said[0]) < min(i for i, l in enumerate(lines) if 'env-steps/s' in l)
  assert all('/128 ' in l for l in lines if 'env-steps/s' in l)
  assert trainer.rounded_budget(tiny_config(tmp_path, tiny_note_rnn, num_steps=128)) == 128
