"""Note RNN training: ``train(TrainConfig) -> dict`` (what ``bin/train_note_rnn`` calls).

Follows Magenta's melody_rnn trainer where it matters for the result: Adam, per-tensor
gradient-norm clipping (Keras ``clipnorm``), dropout after each LSTM layer, mean
cross-entropy over the real steps of zero-padded batches. The run dir layout is
the README's Note RNN section:

  config.json     everything needed to rebuild and judge the model (rewritten atomically)
  checkpoints/    the latest few ``tf.train.CheckpointManager`` checkpoints (model, optimizer,
                  step, best eval loss); rerunning with the same run dir resumes from them
  best/           the weights with the lowest eval loss so far, plus ``info.json``
  tb/             TensorBoard scalars ``train/*`` and ``eval/*``
  metrics.json    the final train and eval metrics

Every file is written through a temporary name and a rename (CheckpointManager does the same
for its state file), so a kill -9 at any moment leaves a loadable run dir.
"""

import dataclasses
import glob
import json
import math
import os
import platform
import time
from typing import Optional

from absl import logging
import numpy as np
import tensorflow as tf

from note_rnn import config as config_lib
from note_rnn import dataset as dataset_lib
from note_rnn import melody_configs
from note_rnn import model as model_lib
from note_rnn import run_common

METRIC_NAMES = ('loss', 'perplexity', 'accuracy', 'event_accuracy', 'no_event_accuracy')


TrainingDivergedError = run_common.TrainingDivergedError


@dataclasses.dataclass
class TrainConfig:
  """Everything one training run needs (one field per ``bin/train_note_rnn`` flag).

  Attributes:
    run_dir: output directory; an existing one is resumed.
    sequence_example_file: training SequenceExamples (comma-separated paths or globs).
    eval_sequence_example_file: held-out SequenceExamples; '' trains without evaluation
      (then ``best/`` follows the latest checkpoint).
    config: the named preset the hparams started from (recorded in config.json).
    hparams: model and optimiser hyperparameters.
    num_training_steps: total optimiser steps (counting the steps of a resumed run).
    summary_every: steps between console / TensorBoard training summaries.
    eval_every: steps between evaluations (and ``best/`` updates).
    checkpoint_every: steps between checkpoints in ``checkpoints/``.
    keep_checkpoints: how many checkpoints to keep.
    eval_max_batches: cap on evaluation batches (0 = the whole eval set).
    seed: seeds initialisation, dropout and shuffling.
    bucket: bucket training batches by length (less padding, same loss).
    random_primer_probability: share of training melodies given a random priming pitch in
      front (``dataset.prepend_random_primer``); 0 trains exactly as Magenta does.
  """
  run_dir: str
  sequence_example_file: str
  eval_sequence_example_file: str = ''
  config: str = 'rl_tuner_default'
  hparams: config_lib.NoteRnnHParams = dataclasses.field(
      default_factory=config_lib.NoteRnnHParams)
  num_training_steps: int = 20000
  summary_every: int = 50
  eval_every: int = 500
  checkpoint_every: int = 500
  keep_checkpoints: int = 3
  eval_max_batches: int = 0
  seed: int = 1
  bucket: bool = True
  random_primer_probability: float = 0.0

  def to_dict(self) -> dict:
    d = dataclasses.asdict(self)
    d['hparams'] = self.hparams.to_dict()
    return d


def _finalise(sums: dict) -> dict:
  """Numpy sums -> the reported metrics (floats)."""
  out = {k: float(v) for k, v in dataset_lib.ratios(sums).items()}
  out['perplexity'] = float(math.exp(min(out['loss'], 50.0)))
  return out


class _Trainer:
  """Holds the model, optimiser, checkpoints and compiled steps of one run."""

  def __init__(self, cfg: TrainConfig):
    self.cfg = cfg
    hp = cfg.hparams
    self.model = model_lib.build(hp.rnn_layer_sizes, seed=cfg.seed,
                                 config=config_lib.melody_config_name(cfg.config),
                                 attn_length=hp.attn_length or None)
    no_event = self.model.melody_config.no_event_label
    self.optimizer = tf.keras.optimizers.Adam(
        learning_rate=hp.learning_rate, clipnorm=hp.clip_norm or None)
    self.optimizer.build(self.model.trainable_variables)
    self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name='step')
    self.best_eval_loss = tf.Variable(np.inf, dtype=tf.float64, trainable=False,
                                      name='best_eval_loss')
    self.checkpoint = tf.train.Checkpoint(model=self.model, optimizer=self.optimizer,
                                          step=self.step, best_eval_loss=self.best_eval_loss)
    self.manager = tf.train.CheckpointManager(
        self.checkpoint, os.path.join(cfg.run_dir, model_lib.CHECKPOINTS_DIR),
        max_to_keep=cfg.keep_checkpoints, checkpoint_name='ckpt')
    dropout_rate = 1.0 - hp.dropout_keep_prob
    spec = (tf.TensorSpec([None, None, self.model.input_size], tf.float32),
            tf.TensorSpec([None, None], tf.int32), tf.TensorSpec([None], tf.int32))

    @tf.function(input_signature=spec)
    def train_step(inputs, labels, lengths):
      with tf.GradientTape() as tape:
        logits = self.model.logits(inputs, training=dropout_rate > 0,
                                   dropout_rate=dropout_rate)
        metrics = dataset_lib.masked_metrics(logits, labels, lengths, no_event)
      variables = self.model.trainable_variables
      grads = tape.gradient(metrics['loss'], variables)
      self.optimizer.apply_gradients(zip(grads, variables))
      self.step.assign_add(1)
      return metrics

    @tf.function(input_signature=spec)
    def eval_step(inputs, labels, lengths):
      return dataset_lib.masked_metrics(self.model.logits(inputs), labels, lengths, no_event)

    self.train_step = train_step
    self.eval_step = eval_step

  def restore(self) -> bool:
    latest = None
    for prefix in reversed(list(self.manager.checkpoints)):
      try:
        self.checkpoint.restore(prefix).assert_existing_objects_matched()
      except Exception as e:  # pylint: disable=broad-except  (any damaged file)
        files = sorted(glob.glob(glob.escape(prefix) + '.data-*')) or [prefix + '.index']
        logging.warning('Checkpoint %s is unreadable (%s); falling back to the previous one.',
                        files[0], (str(e).strip().splitlines() or [type(e).__name__])[0][:200])
        continue
      latest = prefix
      break
    if not latest:
      if self.manager.checkpoints:
        raise ValueError('no readable checkpoint in %s; remove it or choose another --run_dir'
                         % self.manager.directory)
      return False
    # The checkpoint restores the optimizer's learning-rate variable too; the configured
    # value wins, so a resumed run can continue with another --learning_rate.
    restored_lr = float(self.optimizer.learning_rate.numpy())
    if restored_lr != np.float32(self.cfg.hparams.learning_rate):
      logging.info('Learning rate %g from the checkpoint replaced by the configured %g.',
                   restored_lr, self.cfg.hparams.learning_rate)
      self.optimizer.learning_rate.assign(self.cfg.hparams.learning_rate)
    info = model_lib.read_best_info(self.cfg.run_dir)
    if info and info.get('eval_loss') is not None:
      # best/ may be newer than the last checkpoint (a kill in between): never regress it.
      self.best_eval_loss.assign(min(float(self.best_eval_loss.numpy()), info['eval_loss']))
    logging.info('Resuming %s from %s (step %d).', self.cfg.run_dir, latest,
                 int(self.step.numpy()))
    return True

  def evaluate(self, dataset) -> dict:
    sums = None
    for n, (inputs, labels, lengths) in enumerate(dataset):
      if self.cfg.eval_max_batches and n >= self.cfg.eval_max_batches:
        break
      m = self.eval_step(inputs, labels, lengths)
      batch = {k: float(m[k]) for k in ('loss_sum', 'steps', 'correct', 'events',
                                         'event_correct', 'no_events', 'no_event_correct')}
      sums = batch if sums is None else {k: sums[k] + batch[k] for k in sums}
    if sums is None or sums['steps'] == 0:
      raise ValueError('%s: no evaluation examples' % self.cfg.eval_sequence_example_file)
    out = _finalise(sums)
    out['eval_steps'] = sums['steps']
    return out


class RunLock(run_common.RunLock):
  """The Note RNN's live-run lock on ``run_dir/.lock`` (see `note_rnn.run_common`)."""

  def busy_error(self, run_dir: str, owner: str) -> Exception:
    return ValueError('--run_dir=%s is in use by a live run (pid %s holds %s); wait for it '
                      'or choose another --run_dir' % (run_dir, owner, self.path))


def _check_run_dir(cfg: TrainConfig) -> dict:
  """Reads an existing config.json and refuses a run dir built with other layer sizes."""
  path = os.path.join(cfg.run_dir, model_lib.CONFIG_FILE)
  if not os.path.exists(path):
    return {}
  with open(path) as f:
    old = json.load(f)
  old_config = old.get('config_name') or 'basic_rnn'
  if old_config != config_lib.melody_config_name(cfg.config):
    raise ValueError('--run_dir=%s holds a %s model, but this run asks for --config=%s; use a '
                     'new --run_dir' % (cfg.run_dir, old_config, cfg.config))
  old_sizes = tuple(old.get('layer_sizes') or ())
  if old_sizes and old_sizes != cfg.hparams.rnn_layer_sizes:
    raise ValueError('--run_dir=%s holds a model with rnn_layer_sizes %s, but this run asks for '
                     '%s; use a new --run_dir' % (cfg.run_dir, list(old_sizes),
                                                  list(cfg.hparams.rnn_layer_sizes)))
  return old


_DATA_KEYS = ('sequence_example_file', 'eval_sequence_example_file',
              'random_primer_probability')


def _history_entry(entry: dict) -> dict:
  """A data_history entry with the fields that entries written before them lack."""
  return {'random_primer_probability': 0.0, **entry}


def _data_history(previous: dict, cfg: TrainConfig, start_step: int) -> list:
  """Which data trained which steps: a resumed run may continue on other files or priming."""
  current = {'from_step': start_step, 'sequence_example_file': cfg.sequence_example_file,
             'eval_sequence_example_file': cfg.eval_sequence_example_file,
             'random_primer_probability': cfg.random_primer_probability}
  history = list(previous.get('data_history') or [])
  if not history:
    return [current]
  last = _history_entry(history[-1])
  if any(last[k] != current[k] for k in _DATA_KEYS):
    history.append(current)
  return history


def _best_is_stale(history: list, start_step: int) -> bool:
  """True when this resume changed the eval set or the training objective.

  Eval losses on another eval set are not comparable, and a new objective (random priming)
  trades a little held-out loss for what it teaches, so the next evaluation sets best/ afresh.
  """
  if len(history) < 2 or history[-1]['from_step'] != start_step:
    return False
  before, now = (_history_entry(h) for h in history[-2:])
  return any(before[k] != now[k] for k in ('eval_sequence_example_file',
                                           'random_primer_probability'))


def _write_config(cfg: TrainConfig, trainer: _Trainer, extra: dict) -> None:
  record = trainer.model.config_dict()
  record.update({
      'hparams': cfg.hparams.to_dict(), 'config': cfg.config, 'train_config': cfg.to_dict(),
      'data': {'sequence_example_file': cfg.sequence_example_file,
               'eval_sequence_example_file': cfg.eval_sequence_example_file},
      'versions': {'tensorflow': tf.__version__, 'python': platform.python_version(),
                   'git_sha': run_common.git_sha()},
  })
  record.update(extra)
  config_lib.write_json_atomic(os.path.join(cfg.run_dir, model_lib.CONFIG_FILE), record)


def train(cfg: TrainConfig) -> dict:
  """Trains (or resumes) a Note RNN in ``cfg.run_dir``.

  Returns:
    dict with ``step``, ``train`` metrics of the last summary window, ``eval`` metrics of the
    last evaluation (or None), ``best`` (info of best/) and ``steps_per_sec``.

  Raises:
    FileNotFoundError: a data file is missing.
    ValueError: bad configuration, empty data, or a run dir built with other layer sizes.
    TrainingDivergedError: the loss became NaN/inf; the last good checkpoint is kept.
  """
  train_files = dataset_lib.expand_file_patterns(cfg.sequence_example_file)
  eval_files = (dataset_lib.expand_file_patterns(cfg.eval_sequence_example_file)
                if cfg.eval_sequence_example_file else [])
  if dataset_lib.count_records(train_files) == 0:
    raise ValueError('no training examples in %s' % ', '.join(train_files))
  melody_config = melody_configs.get(config_lib.melody_config_name(cfg.config))
  for path in train_files + eval_files:
    dataset_lib.check_input_size(path, melody_config.input_size, cfg.config)
  if eval_files and dataset_lib.count_records(eval_files) == 0:
    logging.warning('No examples in %s: training without evaluation.', ', '.join(eval_files))
    eval_files = []
  os.makedirs(cfg.run_dir, exist_ok=True)
  lock = RunLock(cfg.run_dir).acquire()
  try:
    return _train_in_run_dir(cfg, train_files, eval_files)
  finally:
    lock.release()


def _train_in_run_dir(cfg: TrainConfig, train_files, eval_files) -> dict:
  """The body of ``train`` once the run dir is locked."""
  previous = _check_run_dir(cfg)
  tf.keras.utils.set_random_seed(cfg.seed)
  trainer = _Trainer(cfg)
  trainer.restore()
  start_step = int(trainer.step.numpy())
  history = _data_history(previous, cfg, start_step)
  if _best_is_stale(history, start_step):
    logging.info('Eval data or random priming changed at step %d: best/ will be replaced by '
                 'the next evaluation.', start_step)
    trainer.best_eval_loss.assign(np.inf)
  _write_config(cfg, trainer, {'status': 'training', 'data_history': history})

  train_ds = dataset_lib.make_dataset(train_files, cfg.hparams.batch_size, training=True,
                                      seed=cfg.seed + start_step, bucket=cfg.bucket,
                                      random_primer_probability=cfg.random_primer_probability,
                                      config=trainer.model.config_name)
  eval_ds = (dataset_lib.make_dataset(eval_files, cfg.hparams.batch_size, training=False,
                                      config=trainer.model.config_name)
             if eval_files else None)
  writer = tf.summary.create_file_writer(os.path.join(cfg.run_dir, 'tb'))

  last_train, last_eval = None, None
  window, window_steps, window_seqs = None, 0, 0
  t_window = time.perf_counter()
  t_start, steps_run = time.perf_counter(), 0
  step = start_step
  iterator = iter(train_ds)
  while step < cfg.num_training_steps:
    inputs, labels, lengths = next(iterator)
    m = trainer.train_step(inputs, labels, lengths)
    step = int(trainer.step.numpy())
    steps_run += 1
    loss = float(m['loss'])
    if not math.isfinite(loss):
      raise TrainingDivergedError(
          'training loss became %s at step %d; stopped without saving. The last good '
          'checkpoint is %s and best/ is unchanged (try a lower --learning_rate or '
          '--clip_norm).' % (loss, step, trainer.manager.latest_checkpoint or '(none yet)'))
    batch = {k: float(m[k]) for k in ('loss_sum', 'steps', 'correct', 'events',
                                       'event_correct', 'no_events', 'no_event_correct')}
    window = batch if window is None else {k: window[k] + batch[k] for k in window}
    window_steps += 1
    window_seqs += int(inputs.shape[0])
    done = step >= cfg.num_training_steps
    if step % cfg.summary_every == 0 or done:
      elapsed = max(time.perf_counter() - t_window, 1e-9)
      last_train = _finalise(window)
      last_train['steps_per_sec'] = window_steps / elapsed
      last_train['sequences_per_sec'] = window_seqs / elapsed
      with writer.as_default(step=step):
        for k, v in last_train.items():
          tf.summary.scalar('train/' + k, v)
      eta = (cfg.num_training_steps - step) / max(last_train['steps_per_sec'], 1e-9)
      logging.info('step %d/%d  loss %.4f  ppl %.3f  acc %.3f  event_acc %.3f  '
                   '%.1f steps/s  %.0f seq/s  ETA %s', step, cfg.num_training_steps,
                   last_train['loss'], last_train['perplexity'], last_train['accuracy'],
                   last_train['event_accuracy'], last_train['steps_per_sec'],
                   last_train['sequences_per_sec'], _fmt_seconds(eta))
      window, window_steps, window_seqs = None, 0, 0
      t_window = time.perf_counter()
    if eval_ds is not None and (step % cfg.eval_every == 0 or done):
      last_eval = trainer.evaluate(eval_ds)
      with writer.as_default(step=step):
        for k, v in last_eval.items():
          tf.summary.scalar('eval/' + k, v)
      improved = last_eval['loss'] < float(trainer.best_eval_loss.numpy())
      logging.info('eval at step %d: loss %.4f  ppl %.3f  acc %.3f  event_acc %.3f%s', step,
                   last_eval['loss'], last_eval['perplexity'], last_eval['accuracy'],
                   last_eval['event_accuracy'], '  (new best)' if improved else '')
      if improved:
        trainer.best_eval_loss.assign(last_eval['loss'])
        model_lib.write_best(trainer.model, cfg.run_dir, _best_info(step, last_eval, last_train))
    if step % cfg.checkpoint_every == 0 or done:
      trainer.manager.save(checkpoint_number=step)
      if eval_ds is None:
        model_lib.write_best(trainer.model, cfg.run_dir, _best_info(step, None, last_train))
    writer.flush()

  if not os.path.exists(os.path.join(cfg.run_dir, model_lib.BEST_DIR,
                                     model_lib.WEIGHTS_PREFIX + '.index')):
    model_lib.write_best(trainer.model, cfg.run_dir, _best_info(step, last_eval, last_train))
  elapsed = time.perf_counter() - t_start
  result = {'step': step, 'train': last_train, 'eval': last_eval,
            'best': model_lib.read_best_info(cfg.run_dir),
            'steps_per_sec': steps_run / elapsed if steps_run else None}
  config_lib.write_json_atomic(os.path.join(cfg.run_dir, 'metrics.json'), result)
  _write_config(cfg, trainer, {'status': 'done', 'final': result, 'data_history': history})
  writer.close()
  return result


def _best_info(step: int, eval_metrics: Optional[dict], train_metrics: Optional[dict]) -> dict:
  return {'step': step,
          'selected_by': 'eval loss' if eval_metrics else 'latest (no eval data)',
          'eval_loss': eval_metrics['loss'] if eval_metrics else None,
          'eval': eval_metrics, 'train': train_metrics}


def _fmt_seconds(s: float) -> str:
  s = int(s)
  return '%dh%02dm%02ds' % (s // 3600, s // 60 % 60, s % 60) if s >= 3600 else (
      '%dm%02ds' % (s // 60, s % 60))
