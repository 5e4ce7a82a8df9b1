"""A run dir is data: evaluating and reporting a run never executes what its policy/ holds.

The run's policy/ is replaced by a SavedModel whose `step` and `initial_state` write a file
(a graph is code). `evaluate_rl_tuner` and `make_report` must write nothing outside their
--output_dir and give the same metrics as before the swap, because they rebuild the policy
from the checkpoint's weights.
"""

import json
import os
import shutil
import subprocess

import pytest
import tensorflow as tf

import note_rnn
from rl_tuner import config as config_lib
from rl_tuner.policy import layout
from rl_tuner.rl import trainer

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class _FileWritingPolicy(tf.Module):
  """A SavedModel with the policy's signatures whose every call writes `marker`."""

  def __init__(self, marker: str):
    super().__init__()
    self._marker = marker
    self.step = tf.function(self._step, input_signature=[
        tf.TensorSpec([None, 38], tf.float32), [tf.TensorSpec([None, 8], tf.float32)] * 2])
    self.initial_state = tf.function(self._initial_state,
                                     input_signature=[tf.TensorSpec([], tf.int32)])

  def _initial_state(self, batch_size):
    with tf.control_dependencies([tf.io.write_file(self._marker, 'initial_state ran')]):
      return [tf.zeros([batch_size, 8])] * 2

  def _step(self, inputs, state):
    with tf.control_dependencies([tf.io.write_file(self._marker, 'step ran')]):
      return tf.zeros_like(inputs) + 1.0, [tf.identity(s) for s in state]


def _run(python_exe, tool, *args):
  return subprocess.run([python_exe, os.path.join(REPO, 'bin', tool)] + list(args),
                        capture_output=True, text=True, timeout=600,
                        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3'))


def _statistics(metrics_path):
  metrics = json.loads(open(metrics_path).read())
  return {name: {k: v for k, v in entry.items() if k != 'run_dir'}
          for name, entry in metrics.items()}


@pytest.mark.parametrize('algorithm', ['q', 'g'])
def test_a_policy_savedmodel_is_never_run(tmp_path, python_exe, algorithm):
  prior = str(tmp_path / 'prior')
  note_rnn.build((8,), seed=0).save(prior)
  run = tmp_path / algorithm
  trainer.train_eval(config_lib.RLTunerConfig(
      output_dir=str(run), algorithm=algorithm, note_rnn_checkpoint=prior, num_notes=8,
      num_parallel_envs=8, num_steps=256, exploration_period=128, batch_size=16,
      replay_capacity=1024, output_every_nth=256, checkpoint_every_n=256,
      final_eval_compositions=0, num_midi_compositions=0, seed=3, xla=False),
      log=lambda _: None)
  evaluate = ['--run_dir=%s' % run, '--num_compositions=200', '--batch_size=64', '--seed=5']
  before = _run(python_exe, 'evaluate_rl_tuner', *evaluate, '--output_dir=%s' % (tmp_path / 'a'))
  assert before.returncode == 0, before.stderr

  marker = tmp_path / 'the_policy_ran.txt'
  shutil.rmtree(run / layout.POLICY_DIR)
  tf.saved_model.save(_FileWritingPolicy(str(marker)), str(run / layout.POLICY_DIR))
  loaded = tf.saved_model.load(str(run / layout.POLICY_DIR))
  loaded.initial_state(tf.constant(1))  # the trap works when the graph does run ...
  assert marker.exists()
  marker.unlink()

  listing = sorted(os.listdir(tmp_path))
  after = _run(python_exe, 'evaluate_rl_tuner', *evaluate, '--output_dir=%s' % (tmp_path / 'b'))
  assert after.returncode == 0, after.stderr
  report = _run(python_exe, 'make_report', '--run_dir=%s' % run,
                '--eval_dir=%s' % (tmp_path / 'b'), '--output_dir=%s' % (tmp_path / 'r'),
                '--num_samples=1', '--num_ab_pairs=1', '--noaudio')
  assert report.returncode == 0, report.stderr
  assert not marker.exists()  # ... and nothing here ran it
  assert sorted(os.listdir(tmp_path)) == sorted(listing + ['b', 'r'])
  assert _statistics(tmp_path / 'a' / layout.METRICS_JSON) == \
      _statistics(tmp_path / 'b' / layout.METRICS_JSON)
