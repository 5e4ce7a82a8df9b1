"""Training under faults: kill -9, corrupt checkpoints, two runs, bad flags.

``bin/train_rl_tuner`` and ``bin/train_note_rnn`` are killed with SIGKILL at
random (seeded) moments, a few times per run; after every kill each checkpoint
that the state file lists must be complete, and rerunning the same command
must finish with the same step count. A second live run into the same
directory refuses (the first is frozen with SIGSTOP so the test is not a race);
a killed run's lock never blocks. A corrupt latest checkpoint is named and the
previous one used. Bad flag values and unusable input files are one-line
errors naming the flag, with nothing written. Outputs go only under the given
directory (the working directory and $HOME stay empty).
"""

from note_rnn import run_common
from pipelines.errors import FlagError
import dataclasses
import math
import os
import pathlib
import random
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
TRAIN_RL = REPO / 'bin' / 'train_rl_tuner'
TRAIN_NOTE_RNN = REPO / 'bin' / 'train_note_rnn'
SEED = 8


@pytest.fixture(scope='module')
def tiny_prior(tmp_path_factory):
  import note_rnn  # pylint: disable=g-import-not-at-top
  path = tmp_path_factory.mktemp('prior') / 'tiny'
  note_rnn.build((8,), seed=0).save(str(path))
  return str(path)


def _env(tmp_path):
  home = tmp_path / 'home'
  home.mkdir(exist_ok=True)
  return dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3', HOME=str(home),
              MPLCONFIGDIR=str(home / '.mpl'))


def _listed_checkpoints_are_complete(ckpt_dir: pathlib.Path) -> int:
  """Reads every tensor of every checkpoint the state file lists."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  if not (ckpt_dir / 'checkpoint').exists():
    return 0
  state = tf.train.get_checkpoint_state(str(ckpt_dir))
  prefixes = list(state.all_model_checkpoint_paths)
  for prefix in prefixes:
    if not os.path.isabs(prefix):
      prefix = str(ckpt_dir / prefix)
    reader = tf.train.load_checkpoint(prefix)
    for name in reader.get_variable_to_shape_map():
      reader.get_tensor(name)
  return len(prefixes)


# ---------------------------------------------------------------------------
# Flags and input files (in-process).


def _base_config(**overrides):
  from rl_tuner import config as config_lib  # pylint: disable=g-import-not-at-top
  values = dict(output_dir='/nonexistent/unused')
  values.update(overrides)
  return config_lib.RLTunerConfig(**values)


def _numeric_fields():
  from rl_tuner import config as config_lib  # pylint: disable=g-import-not-at-top
  base = config_lib.RLTunerConfig()
  out = []
  for field in dataclasses.fields(config_lib.RLTunerConfig):
    value = getattr(base, field.name)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
      continue
    out.append((field.name, type(value)))
  return out


def test_every_numeric_flag_rejects_out_of_range_values():
  fields = _numeric_fields()
  assert len(fields) >= 20
  accepted = []
  for name, kind in fields:
    bad_values = [-1]
    if kind is float:
      bad_values += [math.nan, math.inf, -math.inf]
    for bad in bad_values:
      problem = _bad_flag(_base_config(**{name: bad}))
      if problem != name:
        accepted.append((name, bad, problem))
  # Sizes that would exhaust memory or never finish are refused up front.
  for name, bad in (('replay_capacity', 10 ** 12), ('batch_size', 10 ** 9),
                    ('final_eval_compositions', 10 ** 12),
                    ('num_parallel_envs', 10 ** 9), ('num_notes', 10 ** 6),
                    ('seed', 2 ** 40)):
    problem = _bad_flag(_base_config(**{name: bad}))
    if problem != name:
      accepted.append((name, bad, problem))
  assert not accepted, accepted
  assert _bad_flag(_base_config()) is None


def test_note_rnn_hparams_reject_bad_values():
  from note_rnn import config as note_rnn_config  # pylint: disable=g-import-not-at-top
  accepted = []
  for name, bad in (('learning_rate', math.nan), ('learning_rate', math.inf),
                    ('learning_rate', -1.0), ('clip_norm', math.nan),
                    ('clip_norm', math.inf), ('clip_norm', -1.0),
                    ('dropout_keep_prob', math.nan), ('dropout_keep_prob', 0.0),
                    ('batch_size', 0), ('batch_size', 10 ** 9),
                    ('rnn_layer_sizes', (0,)), ('rnn_layer_sizes', (10 ** 7,)),
                    ('rnn_layer_sizes', ())):
    try:
      note_rnn_config.NoteRnnHParams(**{name: bad})
    except ValueError as e:
      assert name in str(e), (name, str(e))
      continue
    accepted.append((name, bad))
  assert not accepted, accepted
  with pytest.raises(ValueError, match='learning_rate'):
    note_rnn_config.parse_hparams(note_rnn_config.NoteRnnHParams(),
                                  'learning_rate=nan')


@pytest.mark.parametrize('overrides, flag', [
    (dict(priming_mode='single_midi', midi_primer='BAD:text_renamed.mid'),
     'midi_primer'),
    (dict(priming_mode='single_midi', midi_primer='BAD:truncated_english1.mid'),
     'midi_primer'),
    (dict(priming_mode='random_midi',
          training_file_list='NS:tfrecord_iterator_test.tfrecord'),
     'training_file_list'),
    (dict(note_rnn_checkpoint='BAD:text_renamed.mid'), 'note_rnn_checkpoint'),
    (dict(note_rnn_checkpoint='NS:notesequences.tfrecord'),
     'note_rnn_checkpoint'),
])
def test_unusable_input_files_are_flag_errors_and_write_nothing(
    shared_data, tmp_path, tiny_prior, overrides, flag):
  from rl_tuner.rl import trainer  # pylint: disable=g-import-not-at-top
  resolved = {}
  for key, value in overrides.items():
    if isinstance(value, str) and value.startswith('BAD:'):
      value = str(shared_data / 'bad' / value[4:])
    elif isinstance(value, str) and value.startswith('NS:'):
      value = str(shared_data / 'notesequences' / value[3:])
    resolved[key] = value
  resolved.setdefault('note_rnn_checkpoint', tiny_prior)
  run_dir = tmp_path / 'run'
  config = _base_config(output_dir=str(run_dir), num_notes=8,
                        num_parallel_envs=8, num_steps=64, **resolved)
  with pytest.raises(FlagError) as info:
    trainer.train_eval(config, log=lambda _: None)
  assert info.value.flag == flag, str(info.value)
  assert '\n' not in str(info.value)
  assert not run_dir.exists()


def test_output_dir_that_is_a_file_is_a_flag_error(tmp_path, tiny_prior):
  from rl_tuner.rl import trainer  # pylint: disable=g-import-not-at-top
  path = tmp_path / 'not_a_dir'
  path.write_text('user data')
  with pytest.raises(FlagError) as info:
    trainer.train_eval(_base_config(output_dir=str(path),
                                  note_rnn_checkpoint=tiny_prior),
                     log=lambda _: None)
  assert info.value.flag == 'output_dir', str(info.value)
  assert path.read_text() == 'user data'


def test_bad_flags_in_a_subprocess_exit_with_one_line(shared_data, tmp_path,
                                                      tiny_prior):
  run_dir = tmp_path / 'run'
  cwd = tmp_path / 'cwd'
  cwd.mkdir()
  for args, flag in (
      (['--priming_mode=single_midi',
        '--midi_primer=%s' % (shared_data / 'bad' / 'text_renamed.mid')],
       '--midi_primer'),
      (['--seed=-1'], '--seed'),
      (['--replay_capacity=1000000000000'], '--replay_capacity')):
    done = subprocess.run(
        [sys.executable, str(TRAIN_RL), '--output_dir=%s' % run_dir,
         '--note_rnn_checkpoint=%s' % tiny_prior] + args,
        capture_output=True, text=True, env=_env(tmp_path), cwd=cwd,
        timeout=300)
    assert done.returncode != 0, (args, done.stdout[-500:])
    lines = [l for l in done.stderr.splitlines()
             if l.startswith('train_rl_tuner')]
    assert len(lines) == 1 and flag in lines[0], (args, done.stderr[-2000:])
    assert 'Traceback' not in done.stderr, done.stderr[-2000:]
    assert not run_dir.exists()
  assert not os.listdir(cwd)


# ---------------------------------------------------------------------------
# kill -9 at random moments, two live runs, outputs only under --output_dir.


def _wait_for(predicate, proc, timeout=300.0, poll=0.05):
  deadline = time.time() + timeout
  while time.time() < deadline:
    if predicate():
      return True
    if proc.poll() is not None:
      return False
    time.sleep(poll)
  raise AssertionError('timed out')


def _index_files(ckpt_dir):
  if not ckpt_dir.exists():
    return set()
  return {n for n in os.listdir(ckpt_dir) if n.endswith('.index')}


@pytest.mark.slow
def test_train_rl_tuner_survives_kill_9_at_random_moments(tmp_path, tiny_prior):
  rng = random.Random(SEED)
  run_dir = tmp_path / 'run'
  cwd = tmp_path / 'cwd'
  cwd.mkdir()
  ckpt_dir = run_dir / 'checkpoints'
  num_steps = 768
  args = [sys.executable, str(TRAIN_RL), '--output_dir=%s' % run_dir,
          '--note_rnn_checkpoint=%s' % tiny_prior, '--num_notes=8',
          '--num_parallel_envs=8', '--num_steps=%d' % num_steps,
          '--exploration_period=512', '--batch_size=16',
          '--replay_capacity=1024', '--output_every_nth=64',
          '--checkpoint_every_n=64', '--final_eval_compositions=0',
          '--num_midi_compositions=0', '--seed=3']
  env = _env(tmp_path)
  kills = refused = 0
  for attempt in range(2):
    log = tmp_path / ('attempt%d.log' % attempt)
    with open(log, 'w') as out:
      proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT,
                              env=env, cwd=cwd)
    try:
      before = _index_files(ckpt_dir)
      # A random number (1 or 2) of this attempt's checkpoints, then a random
      # fraction of a round: the kill lands anywhere, checkpoint writes included.
      need = 1 + rng.randrange(2)
      _wait_for(lambda: len(_index_files(ckpt_dir) - before) >= need, proc)
      time.sleep(rng.uniform(0.0, 0.4))
      if attempt == 0 and proc.poll() is None:
        # A second live run into the same directory refuses at once.
        os.kill(proc.pid, signal.SIGSTOP)
        second = subprocess.run(args, capture_output=True, text=True, env=env,
                                cwd=cwd, timeout=300)
        assert second.returncode != 0, second.stdout[-1000:]
        assert 'live run' in second.stderr and '--output_dir' in second.stderr, (
            second.stderr[-2000:])
        refused += 1
      if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
        kills += 1
    finally:
      if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
      proc.wait()
    _listed_checkpoints_are_complete(ckpt_dir)
  assert kills >= 2 and refused == 1
  done = subprocess.run(args, capture_output=True, text=True, env=env, cwd=cwd,
                        timeout=600)
  assert done.returncode == 0, done.stderr[-3000:]
  assert 'restored' in done.stdout + done.stderr
  assert 'done: %d env steps, %d gradient steps' % (
      num_steps, num_steps // 5) in done.stdout
  assert _listed_checkpoints_are_complete(ckpt_dir) >= 2
  # Outputs only under --output_dir: the working directory and $HOME are
  # untouched, and the run dir holds only the run's own names.
  assert not os.listdir(cwd)
  # (Keras itself writes ~/.keras/keras.json on import; nothing else may.)
  home = pathlib.Path(env['HOME'])
  assert not [p for p in home.rglob('*') if p.is_file() and
              p != home / '.keras' / 'keras.json']
  from rl_tuner.policy import run_dir as run_dir_lib  # pylint: disable=g-import-not-at-top
  from rl_tuner.policy import layout  # pylint: disable=g-import-not-at-top
  allowed = set(layout.RUN_OUTPUTS) | {run_dir_lib.LOCK_FILE}
  assert set(os.listdir(run_dir)) <= allowed, os.listdir(run_dir)


@pytest.fixture(scope='module')
def melody_file(shared_data):
  return str(shared_data / 'magenta_golden' / 'melody_dataset' /
             'training_melodies.tfrecord')


def _note_rnn_args(run_dir, melody_file, steps, **extra):
  flags = dict(sequence_example_file=melody_file, run_dir=str(run_dir),
               hparams='batch_size=2,rnn_layer_sizes=[8]',
               num_training_steps=steps, checkpoint_every=20, eval_every=40,
               summary_every=20, keep_checkpoints=3, seed=1)
  flags.update(extra)
  return [sys.executable, str(TRAIN_NOTE_RNN)] + [
      '--%s=%s' % kv for kv in flags.items()]


@pytest.mark.slow
def test_train_note_rnn_survives_kill_9_and_refuses_a_second_live_run(
    tmp_path, melody_file):
  rng = random.Random(SEED + 1)
  run_dir = tmp_path / 'nr'
  ckpt_dir = run_dir / 'checkpoints'
  cwd = tmp_path / 'cwd'
  cwd.mkdir()
  env = _env(tmp_path)
  steps = 400
  args = _note_rnn_args(run_dir, melody_file, steps)
  kills = refused = 0
  for attempt in range(2):
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=env, cwd=cwd)
    try:
      before = _index_files(ckpt_dir)
      need = 1 + rng.randrange(3)
      _wait_for(lambda: len(_index_files(ckpt_dir) - before) >= need, proc)
      time.sleep(rng.uniform(0.0, 0.3))
      if attempt == 0 and proc.poll() is None:
        os.kill(proc.pid, signal.SIGSTOP)
        second = subprocess.run(args, capture_output=True, text=True, env=env,
                                cwd=cwd, timeout=300)
        refused += second.returncode != 0 and str(run_dir) in second.stderr
        assert second.returncode != 0 and 'in use' in second.stderr, (
            second.returncode, second.stderr[-2000:])
      if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
        kills += 1
    finally:
      if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
      proc.wait()
    _listed_checkpoints_are_complete(ckpt_dir)
    if (run_dir / 'best').exists():  # best/ too is never half-written
      import note_rnn  # pylint: disable=g-import-not-at-top
      assert note_rnn.load(str(run_dir)).layer_sizes == (8,)
  assert kills >= 1 and refused == 1
  done = subprocess.run(args, capture_output=True, text=True, env=env, cwd=cwd,
                        timeout=600)
  assert done.returncode == 0, done.stderr[-3000:]
  assert 'Resuming' in done.stderr
  assert 'Done at step %d' % steps in done.stderr
  assert not os.listdir(cwd)


@pytest.mark.slow
def test_train_note_rnn_corrupt_latest_checkpoint_falls_back(tmp_path,
                                                             melody_file):
  run_dir = tmp_path / 'nr'
  env = _env(tmp_path)
  first = subprocess.run(_note_rnn_args(run_dir, melody_file, 60),
                         capture_output=True, text=True, env=env, timeout=600)
  assert first.returncode == 0, first.stderr[-2000:]
  ckpt_dir = run_dir / 'checkpoints'
  data = sorted(ckpt_dir.glob('ckpt-60.data*'))
  assert data, os.listdir(ckpt_dir)
  with open(data[0], 'r+b') as f:
    f.truncate(64)
  done = subprocess.run(_note_rnn_args(run_dir, melody_file, 80),
                        capture_output=True, text=True, env=env, timeout=600)
  assert done.returncode == 0, done.stderr[-3000:]
  assert str(data[0]) in done.stderr, done.stderr[-3000:]
  assert 'step 40' in done.stderr  # resumed from the previous checkpoint
  assert 'Done at step 80' in done.stderr


def test_rl_tuner_nan_in_the_log_p_term_stops_naming_it(tmp_path, tiny_prior,
                                                       monkeypatch):
  """An Inf from the prior (not only the reward rules) stops the run."""
  from rl_tuner.rl import trainer  # pylint: disable=g-import-not-at-top
  run_dir = tmp_path / 'run'
  cfg = dict(output_dir=str(run_dir), note_rnn_checkpoint=tiny_prior,
             num_notes=8, num_parallel_envs=8, num_steps=64,
             exploration_period=32, batch_size=8, replay_capacity=512,
             output_every_nth=32, checkpoint_every_n=64,
             final_eval_compositions=0, num_midi_compositions=0, seed=3)
  trainer.train_eval(_base_config(**cfg), log=lambda _: None)
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  real = tf.nn.log_softmax

  def poisoned_log_softmax(logits, *args, **kwargs):
    return real(logits, *args, **kwargs) - np.inf

  monkeypatch.setattr(tf.nn, 'log_softmax', poisoned_log_softmax)
  cfg['num_steps'] = 128
  with pytest.raises(run_common.TrainingDivergedError) as info:
    trainer.train_eval(_base_config(**cfg), log=lambda _: None)
  message = str(info.value)
  assert 'env step 64' in message and 'log_p' in message, message
  names = sorted(p for p in os.listdir(run_dir / 'checkpoints')
                 if p.endswith('.index'))
  assert names == ['ckpt-64.index'], names
  _listed_checkpoints_are_complete(run_dir / 'checkpoints')


def _bad_flag(config):
  """The flag `config_lib.check` names, or None when the config is valid."""
  from pipelines.errors import FlagError  # pylint: disable=g-import-not-at-top
  from rl_tuner import config as config_lib  # pylint: disable=g-import-not-at-top
  try:
    config_lib.check(config)
  except FlagError as e:
    return e.flag
  return None
