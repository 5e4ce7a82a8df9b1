"""A user's rule from a file: registers, trains, evaluates, resumes after kill -9; and the
one-line errors for a missing rule module."""

import json
import os
import subprocess
import sys
import textwrap

import pytest

from pipelines.errors import FlagError
from rl_tuner import config as config_lib
from rl_tuner.evaluate import runs as runs_lib
from rl_tuner.rl import trainer
import rl_testlib

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TRAIN = os.path.join(REPO, 'bin', 'train_rl_tuner')
EVALUATE = os.path.join(REPO, 'bin', 'evaluate_rl_tuner')
RULE_FILE = textwrap.dedent('''
    import numpy as np
    import rl_tuner

    @rl_tuner.reward_rule('test_high_notes')
    def high_notes(melodies, *, context):
      """+1 for a struck note at or above the tonic's octave (MIDI 60 + tonic)."""
      return np.where(melodies >= context.tonic_pitch, 1.0, 0.0)
    ''')


@pytest.fixture()
def rule_file(tmp_path):
  path = tmp_path / 'my_test_rules.py'
  path.write_text(RULE_FILE)
  return str(path)


def _tiny(run_dir, note_rnn_dir, **overrides):
  values = dict(output_dir=str(run_dir), note_rnn_checkpoint=note_rnn_dir, num_notes=16,
                num_parallel_envs=8, num_steps=256, exploration_period=128, batch_size=16,
                train_every_n=5, replay_capacity=1024, output_every_nth=128,
                checkpoint_every_n=128, final_eval_compositions=20, num_midi_compositions=1,
                seed=3)
  values.update(overrides)
  return values


def _env():
  return dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3', PYTHONPATH=REPO)


def _flags(values):
  return ['--%s=%s' % kv for kv in values.items()]


def test_user_rule_trains_is_recorded_evaluated_and_resumed(tmp_path, tiny_note_rnn, rule_file):
  run = tmp_path / 'run'
  values = _tiny(run, tiny_note_rnn, num_steps=128, reward_rule_module=rule_file,
                 reward_rules='test_high_notes:2,repetition:1', chord_progression='C G')
  first = trainer.train_eval(config_lib.RLTunerConfig(**values), log=lambda _: None)
  with open(run / 'config.json') as f:
    config = json.load(f)
  assert config['effective_reward_rules'] == {'test_high_notes': 2.0, 'repetition': 1.0,
                                              'chord_tone': 1.0}
  assert config['reward_adds_log_p'] is True and config['reward_rule_module'] == rule_file
  entry = first['metrics']['run']
  assert set(entry['rules']) == {'test_high_notes', 'repetition', 'chord_tone'}
  for stats in entry['rules'].values():
    assert 0.0 <= stats['nonzero_share'] <= 1.0
  assert 0.0 <= entry['chord_tones_on_strong_beats'] <= 1.0
  assert first['metrics']['note_rnn']['rules'].keys() == entry['rules'].keys()
  with open(run / 'metrics.md') as f:
    assert 'rule test_high_notes: mean reward per note' in f.read()
  values['num_steps'] = 256
  second = trainer.train_eval(config_lib.RLTunerConfig(**values), log=lambda _: None)
  assert second['env_steps'] == 256
  values['reward_rules'] = 'test_high_notes:3,repetition:1'
  with pytest.raises(FlagError, match='reward_rules'):
    trainer.train_eval(config_lib.RLTunerConfig(**values), log=lambda _: None)


def test_unknown_rule_and_chord_tone_without_chords_name_the_flag(tmp_path, rule_file):
  def flag_of(**values):
    try:
      config_lib.check(config_lib.RLTunerConfig(output_dir=str(tmp_path / 'x'), **values))
    except FlagError as e:
      assert '\n' not in str(e)
      return e.flag
    return None
  assert flag_of(reward_rules='nope:1') == 'reward_rules'
  assert flag_of(reward_rules='key:1,chord_tone:1') == 'chord_progression'
  assert flag_of(chord_progression='C Hm') == 'chord_progression'
  assert flag_of(reward_rule_module='/no/such/rules.py') == 'reward_rule_module'
  assert flag_of(reward_rule_module=rule_file, reward_rules='test_high_notes:1') is None
  assert config_lib.RLTunerConfig(chord_progression='C', algorithm='g').effective_reward_rules[
      'chord_tone'] == 1.0
  assert not config_lib.RLTunerConfig(reward_rules='key:1', algorithm='g').reward_adds_log_p
  assert config_lib.RLTunerConfig(reward_rules='key:1', reward_mode='scale').reward_adds_log_p


def test_evaluation_of_a_user_rule_run_needs_the_module_flag(tmp_path, tiny_note_rnn,
                                                              rule_file):
  run = tmp_path / 'run'
  values = _tiny(run, tiny_note_rnn, num_steps=64, final_eval_compositions=0,
                 num_midi_compositions=0, reward_rule_module=rule_file,
                 reward_rules='test_high_notes:1')
  trainer.train_eval(config_lib.RLTunerConfig(**values), log=lambda _: None)
  base = [sys.executable, EVALUATE, '--run_dir=%s' % run, '--num_compositions=8',
          '--output_dir=%s' % (tmp_path / 'eval')]
  out = subprocess.run(base, capture_output=True, text=True, env=_env(), timeout=600)
  lines = [l for l in out.stderr.splitlines() if l.startswith('evaluate_rl_tuner')]
  assert out.returncode == 2 and len(lines) == 1, out.stderr[-2000:]
  assert "'test_high_notes'" in lines[0] and rule_file in lines[0]
  assert '--reward_rule_module' in lines[0]
  assert not os.path.exists(tmp_path / 'eval' / 'metrics.json')
  out = subprocess.run(base + ['--reward_rule_module=%s' % rule_file], capture_output=True,
                       text=True, env=_env(), timeout=600)
  assert out.returncode == 0, out.stderr[-2000:]
  with open(tmp_path / 'eval' / 'metrics.json') as f:
    assert 'test_high_notes' in json.load(f)['run']['rules']
  os.remove(rule_file)
  out = subprocess.run(base + ['--reward_rule_module=%s' % rule_file], capture_output=True,
                       text=True, env=_env(), timeout=600)
  lines = [l for l in out.stderr.splitlines() if l.startswith('evaluate_rl_tuner')]
  assert out.returncode == 2 and len(lines) == 1 and 'no such file' in lines[0], out.stderr


def test_evaluation_in_process_names_rule_and_module(tmp_path):
  spec = runs_lib.ModelSpec(name='r', settings=dict(runs_lib.DEFAULT_SETTINGS),
                            run_dir='runs/r', reward_rules={'test_never_registered': 1.0},
                            reward_rule_module='their_rules.py')
  with pytest.raises(FlagError) as info:
    runs_lib.active_rules(runs_lib.EvaluationConfig(output_dir=str(tmp_path)), [spec])
  assert info.value.flag == 'reward_rule_module'
  assert "'test_never_registered'" in info.value.message
  assert 'their_rules.py' in info.value.message


@pytest.mark.slow
def test_user_rule_run_survives_kill_9(tmp_path, tiny_note_rnn, rule_file):
  run = tmp_path / 'run'
  args = _flags(_tiny(run, tiny_note_rnn, num_steps=1536, checkpoint_every_n=64,
                      final_eval_compositions=0, num_midi_compositions=0,
                      reward_rule_module=rule_file, reward_rules='test_high_notes:1,key:1'))
  kills = rl_testlib.kill_after_new_checkpoints(
      [sys.executable, TRAIN] + args, run / 'checkpoints', _env())
  assert kills >= 1
  out = subprocess.run([sys.executable, TRAIN] + args, capture_output=True, text=True,
                       env=_env(), timeout=600)
  assert out.returncode == 0, out.stderr[-2000:]
  assert 'restored' in out.stdout + out.stderr
  assert 'done: 1536 env steps' in out.stdout


def test_facade_takes_reward_rules_and_a_rule_module(tmp_path, rule_file):
  import rl_tuner  # pylint: disable=g-import-not-at-top
  rlt = rl_tuner.RLTuner(str(tmp_path / 'facade'), reward_rules={'test_high_notes': 2.0,
                                                                 'key': 1},
                         reward_rule_module=rule_file, chord_progression='C G Am F',
                         initialize_immediately=False)
  assert rlt.config.effective_reward_rules == {'test_high_notes': 2.0, 'key': 1.0,
                                               'chord_tone': 1.0}
  assert rlt.config.reward_rule_module == rule_file
  with pytest.raises(FlagError, match='unknown reward rule'):
    rl_tuner.RLTuner(str(tmp_path / 'bad'), reward_rules={'test_nobody_registered': 1.0},
                     initialize_immediately=False)
