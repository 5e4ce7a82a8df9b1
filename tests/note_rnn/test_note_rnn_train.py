"""Training: masked metrics, the tf.data input, run dir layout, resume, NaN stop, CLI end to end."""

import json
import os
import subprocess

import note_seq
import numpy as np
import pytest
import tensorflow as tf

import note_rnn
from note_rnn import config as config_lib
from note_rnn import dataset as dataset_lib
from note_rnn import train as train_lib
from pipelines import encoding
import note_rnn_testlib as lib


@pytest.fixture(scope='module')
def golden_dataset(shared_data):
  return str(shared_data / 'magenta_golden' / 'melody_dataset' / 'training_melodies.tfrecord')


def test_masked_metrics_by_hand():
  logits = np.full((2, 3, encoding.NUM_CLASSES), -10.0, np.float32)
  logits[0, 0, 5] = logits[0, 1, 0] = logits[1, 0, 0] = 10.0
  logits[0, 2, 7] = 10.0  # padding: must not count
  labels = np.array([[5, 3, 7], [0, 0, 0]])
  m = {k: float(v) for k, v in dataset_lib.masked_metrics(
      tf.constant(logits), tf.constant(labels), tf.constant([2, 1])).items()}
  assert m['steps'] == 3 and m['correct'] == 2
  assert m['accuracy'] == pytest.approx(2 / 3)
  assert m['event_accuracy'] == pytest.approx(1 / 2)  # labels 5 (right) and 3 (wrong)
  assert m['no_event_accuracy'] == pytest.approx(1.0)
  ce = tf.nn.sparse_softmax_cross_entropy_with_logits(labels, logits).numpy()
  assert m['loss'] == pytest.approx((ce[0, 0] + ce[0, 1] + ce[1, 0]) / 3, rel=1e-6)


def test_dataset_batches_pad_and_mask(golden_dataset):
  examples = lib.read_sequence_examples(golden_dataset)
  (inputs, labels, lengths), = list(dataset_lib.make_dataset([golden_dataset], 4, training=False))
  assert lengths.numpy().tolist() == [253, 287]
  assert inputs.shape == (2, 287, encoding.NUM_CLASSES)
  np.testing.assert_array_equal(inputs[0, :253].numpy(), examples[0][0])
  np.testing.assert_array_equal(labels[0, :253].numpy(), examples[0][1])
  assert not inputs[0, 253:].numpy().any()
  train = dataset_lib.make_dataset([golden_dataset], 2, training=True, seed=1)
  for x, y, n in train.take(3):
    assert x.shape[0] == 2 and set(n.numpy().tolist()) <= {253, 287}
    assert x.shape[1] == max(n.numpy())


def test_random_primer_goes_before_the_first_event():
  inputs = tf.constant([14, 0, 0, 16], tf.int32)
  labels = tf.constant([0, 0, 16, 0], tf.int32)
  x, y = dataset_lib.prepend_random_primer(inputs, labels, 1.0)
  x, y = x.numpy(), y.numpy()
  assert encoding.FIRST_PITCH_INDEX <= x[0] < encoding.NUM_CLASSES
  # The melody follows unchanged; the primer's label is the melody's first event.
  assert x[1:].tolist() == [14, 0, 0, 16] and y.tolist() == [14, 0, 0, 16, 0]
  x, y = dataset_lib.prepend_random_primer(inputs, labels, 0.0)
  assert x.numpy().tolist() == [14, 0, 0, 16] and y.numpy().tolist() == [0, 0, 16, 0]
  primed = [int(dataset_lib.prepend_random_primer(inputs, labels, 0.5)[0].shape[0] == 5)
            for _ in range(400)]
  assert 0.4 < np.mean(primed) < 0.6
  with pytest.raises(ValueError, match='random_primer_probability'):
    dataset_lib.make_dataset(['unused'], 2, training=True, random_primer_probability=1.5)


def test_dataset_with_random_primers_shifts_every_melody(golden_dataset):
  examples = lib.read_sequence_examples(golden_dataset)
  firsts = {int(np.argmax(e[0][0])) for e in examples}
  ds = dataset_lib.make_dataset([golden_dataset], 2, training=True, seed=3, bucket=False,
                                random_primer_probability=1.0)
  for x, y, n in ds.take(2):
    assert sorted(n.numpy().tolist()) == [254, 288]
    x = np.argmax(x.numpy(), -1)
    assert set(y.numpy()[:, 0].tolist()) <= firsts
    assert (x[:, 1] == y.numpy()[:, 0]).all() and (x[:, 0] >= encoding.FIRST_PITCH_INDEX).all()


def test_hparams_overrides():
  hp = config_lib.parse_hparams(config_lib.named_config('basic_rnn'),
                                'batch_size=64, rnn_layer_sizes=[64,32],learning_rate=0.01')
  assert hp.rnn_layer_sizes == (64, 32) and hp.batch_size == 64 and hp.learning_rate == 0.01
  assert config_lib.named_config('rl_tuner_default').rnn_layer_sizes == (100,)
  with pytest.raises(ValueError, match="unknown name 'nope'"):
    config_lib.parse_hparams(hp, 'nope=1')
  with pytest.raises(ValueError, match='rnn_layer_sizes'):
    config_lib.parse_hparams(hp, 'rnn_layer_sizes=[]')
  with pytest.raises(ValueError, match='unknown Note RNN config'):
    config_lib.named_config('polyphony_rnn')
  attention = config_lib.named_config('attention_rnn')
  assert (attention.rnn_layer_sizes, attention.clip_norm, attention.attn_length) == (
      (128, 128), 3.0, 40)
  assert config_lib.melody_config_name('rl_tuner_default') == 'basic_rnn'


def _config(run_dir, data, eval_data='', steps=4, **kw):
  hp = config_lib.NoteRnnHParams(rnn_layer_sizes=(16,), batch_size=2, learning_rate=0.02)
  return train_lib.TrainConfig(run_dir=str(run_dir), sequence_example_file=data,
                               eval_sequence_example_file=eval_data, hparams=hp,
                               num_training_steps=steps, summary_every=2, eval_every=2,
                               checkpoint_every=2, **kw)


def test_train_run_dir_resume_and_best(tmp_path, golden_dataset):
  run_dir = tmp_path / 'run'
  result = train_lib.train(_config(run_dir, golden_dataset, golden_dataset, steps=4))
  assert result['step'] == 4 and result['eval']['loss'] < np.log(encoding.NUM_CLASSES)
  # (.lock is the live-run lock file; it stays, unlocked, after the run.)
  assert sorted(f for f in os.listdir(run_dir) if f != '.lock') == [
      'best', 'checkpoints', 'config.json', 'metrics.json', 'tb']
  cfg = json.loads((run_dir / 'config.json').read_text())
  assert cfg['layer_sizes'] == [16] and cfg['status'] == 'done'
  assert cfg['hparams']['batch_size'] == 2
  info = json.loads((run_dir / 'best' / 'info.json').read_text())
  assert info['selected_by'] == 'eval loss' and info['eval_loss'] == pytest.approx(
      min(info['eval_loss'], result['eval']['loss']))
  assert os.listdir(run_dir / 'tb')
  # Resume: the same run dir continues from step 4 to 6.
  result = train_lib.train(_config(run_dir, golden_dataset, golden_dataset, steps=6))
  assert result['step'] == 6
  assert tf.train.latest_checkpoint(str(run_dir / 'checkpoints')).endswith('ckpt-6')
  model = note_rnn.load(str(run_dir))
  assert model.layer_sizes == (16,)
  assert all(np.isfinite(w).all() for w in model.get_weights())
  with pytest.raises(ValueError, match='rnn_layer_sizes'):
    bad = _config(run_dir, golden_dataset, steps=8)
    bad.hparams = config_lib.NoteRnnHParams(rnn_layer_sizes=(8,), batch_size=2)
    train_lib.train(bad)


def test_resume_with_random_primers_records_it_and_restarts_best(tmp_path, golden_dataset):
  run_dir = tmp_path / 'run'
  train_lib.train(_config(run_dir, golden_dataset, golden_dataset, steps=2))
  train_lib.train(_config(run_dir, golden_dataset, golden_dataset, steps=4,
                                   random_primer_probability=0.5))
  cfg = json.loads((run_dir / 'config.json').read_text())
  assert [h.get('random_primer_probability', 0.0) for h in cfg['data_history']] == [0.0, 0.5]
  assert cfg['data_history'][1]['from_step'] == 2
  assert cfg['train_config']['random_primer_probability'] == 0.5
  assert train_lib._best_is_stale(cfg['data_history'], 2)
  # The same priming again is not a new phase.
  train_lib.train(_config(run_dir, golden_dataset, golden_dataset, steps=6,
                          random_primer_probability=0.5))
  cfg = json.loads((run_dir / 'config.json').read_text())
  assert len(cfg['data_history']) == 2
  assert not train_lib._best_is_stale(cfg['data_history'], 4)


def test_best_is_stale_only_when_eval_data_or_priming_change_at_this_resume():
  first = {'from_step': 0, 'sequence_example_file': 'a', 'eval_sequence_example_file': 'e'}
  more_data = dict(first, from_step=5, sequence_example_file='b')
  new_eval = dict(more_data, eval_sequence_example_file='f')
  primed = dict(first, from_step=5, random_primer_probability=0.5)
  assert not train_lib._best_is_stale([first], 0)
  assert not train_lib._best_is_stale([first, more_data], 5)
  assert train_lib._best_is_stale([first, new_eval], 5)
  assert train_lib._best_is_stale([first, primed], 5)
  assert not train_lib._best_is_stale([first, primed], 7)  # a later resume of that phase


def test_nan_loss_stops_and_keeps_last_good_checkpoint(tmp_path, golden_dataset, monkeypatch):
  calls = tf.Variable(0)
  original = dataset_lib.masked_metrics

  def poisoned(logits, labels, lengths, *no_event_label):
    out = dict(original(logits, labels, lengths, *no_event_label))
    calls.assign_add(1)
    out['loss'] = tf.where(calls > 3, tf.constant(np.nan, tf.float32), out['loss'])
    return out

  monkeypatch.setattr(dataset_lib, 'masked_metrics', poisoned)
  run_dir = tmp_path / 'nan'
  with pytest.raises(train_lib.TrainingDivergedError, match='ckpt-2'):
    train_lib.train(_config(run_dir, golden_dataset, steps=10))
  assert tf.train.latest_checkpoint(str(run_dir / 'checkpoints')).endswith('ckpt-2')
  model = note_rnn.load(str(run_dir))
  assert all(np.isfinite(w).all() for w in model.get_weights())


def test_cli_train_then_generate_end_to_end(tmp_path, golden_dataset, python_exe):
  run_dir = tmp_path / 'run'
  flagfile = tmp_path / 'train.cfg'
  flagfile.write_text('\n'.join([
      '--sequence_example_file=%s' % golden_dataset, '--run_dir=%s' % run_dir,
      '--hparams=batch_size=2,rnn_layer_sizes=[12]', '--num_training_steps=3',
      '--summary_every=1', '--eval_every=3', '--checkpoint_every=3']) + '\n')
  proc = subprocess.run([python_exe, str(lib.REPO_ROOT / 'bin' / 'train_note_rnn'),
                         '--flagfile=%s' % flagfile], capture_output=True, text=True,
                        timeout=300, env=lib.quiet_env())
  assert proc.returncode == 0, proc.stderr[-3000:]
  assert 'step 3/3' in proc.stderr
  out = tmp_path / 'midi'
  proc = subprocess.run([python_exe, str(lib.REPO_ROOT / 'bin' / 'generate_melodies'),
                         '--run_dir=%s' % run_dir, '--output_dir=%s' % out, '--num_outputs=2',
                         '--num_steps=32', '--primer_melody=[62, -2, 65]'],
                        capture_output=True, text=True, timeout=300, env=lib.quiet_env())
  assert proc.returncode == 0, proc.stderr[-3000:]
  files = sorted(out.glob('*.mid'))
  assert len(files) == 2
  for f in files:
    seq = note_seq.midi_file_to_note_sequence(str(f))
    assert [n.pitch for n in seq.notes[:2]] == [62, 65]
  bad = subprocess.run([python_exe, str(lib.REPO_ROOT / 'bin' / 'train_note_rnn'),
                        '--sequence_example_file=%s' % (tmp_path / 'none.tfrecord'),
                        '--run_dir=%s' % (tmp_path / 'x')], capture_output=True, text=True,
                       timeout=120, env=lib.quiet_env())
  assert bad.returncode != 0 and '--sequence_example_file' in bad.stderr
  assert not (tmp_path / 'x').exists()
