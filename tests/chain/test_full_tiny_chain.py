"""The whole chain through the command-line tools, tiny: MIDI files -> NoteSequences ->
melody dataset -> Note RNN (a few steps) -> RL Tuner (a few hundred steps) -> metrics.json.

Each stage reads only the files the stage before it wrote, as a user would run them.
"""

import json
import os
import shutil
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
STATISTICS = ('notes_excessively_repeated', 'notes_not_in_key', 'starts_with_tonic',
              'notes_in_motif', 'autocorrelation_lag1', 'mean_log_p')


def _run(tool, *args):
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3')
  proc = subprocess.run([sys.executable, os.path.join(REPO, 'bin', tool)] + list(args),
                        capture_output=True, text=True, env=env, timeout=600)
  assert proc.returncode == 0, '%s failed:\n%s' % (tool, proc.stderr[-3000:])
  return proc


@pytest.mark.slow
def test_midi_to_metrics_through_every_stage(shared_data, tmp_path):
  midi_dir = tmp_path / 'midi'
  midi_dir.mkdir()
  for name in ('english1.mid', 'english2.mid', 'example_complex.mid'):
    shutil.copyfile(shared_data / 'midi' / name, midi_dir / name)

  sequences = tmp_path / 'notesequences.tfrecord'
  _run('convert_dir_to_note_sequences', '--input_dir=%s' % midi_dir,
       '--output_file=%s' % sequences)
  assert sequences.stat().st_size > 0

  dataset = tmp_path / 'dataset'
  _run('create_melody_dataset', '--input=%s' % sequences, '--output_dir=%s' % dataset,
       '--eval_ratio=0.0')
  stats = json.loads((dataset / 'pipeline_stats.json').read_text())
  assert stats, 'pipeline_stats.json is empty'
  assert (dataset / 'training_melodies.tfrecord').stat().st_size > 0

  note_rnn_dir = tmp_path / 'note_rnn'
  _run('train_note_rnn', '--sequence_example_file=%s' % (dataset / 'training_melodies.tfrecord'),
       '--run_dir=%s' % note_rnn_dir, '--hparams=batch_size=4,rnn_layer_sizes=[16]',
       '--num_training_steps=4', '--eval_every=4', '--checkpoint_every=4', '--summary_every=2')
  assert json.loads((note_rnn_dir / 'config.json').read_text())

  tuned = tmp_path / 'tuned'
  _run('train_rl_tuner', '--flagfile=%s' % os.path.join(REPO, 'configs', 'q.cfg'),
       '--note_rnn_checkpoint=%s' % note_rnn_dir, '--output_dir=%s' % tuned,
       '--num_steps=256', '--num_parallel_envs=8', '--exploration_period=128',
       '--batch_size=16', '--replay_capacity=1024', '--output_every_nth=128',
       '--checkpoint_every_n=128', '--final_eval_compositions=50', '--num_midi_compositions=1',
       '--noxla')
  run_metrics = json.loads((tuned / 'metrics.json').read_text())
  assert run_metrics['_run']['semantics'] == 'corrected'

  evaluation = tmp_path / 'evaluation'
  _run('evaluate_rl_tuner', '--run_dir=%s' % tuned, '--output_dir=%s' % evaluation,
       '--num_compositions=200', '--semantics=legacy')
  metrics = json.loads((evaluation / 'metrics.json').read_text())
  assert set(metrics) == {'_run', 'note_rnn', 'tuned'}
  for model in ('note_rnn', 'tuned'):
    assert metrics[model]['num_compositions'] == 200
    for key in STATISTICS:
      value = metrics[model][key]
      assert value is None or -10.0 <= value <= 1.0, (model, key, value)
    assert metrics[model]['mean_log_p'] < 0
