"""`train_note_rnn`: trains a Note RNN on melody SequenceExamples (melody_rnn_train's counterpart).

Example:
  bin/train_note_rnn \
    --sequence_example_file=data/cache/corpus/melody_dataset/training_melodies.tfrecord \
    --eval_sequence_example_file=data/cache/corpus/melody_dataset/eval_melodies.tfrecord \
    --run_dir=/tmp/note_rnn_run --config=rl_tuner_default \
    --hparams='batch_size=128,rnn_layer_sizes=[100]' --num_training_steps=20000

Rerunning with the same --run_dir resumes from the latest checkpoint in RUN_DIR/checkpoints/.
The best weights by eval loss are in RUN_DIR/best/, which note_rnn.load(RUN_DIR) and every
--note_rnn_checkpoint / --checkpoint flag read.

Exit status: 0 done, 2 a bad flag (one line naming it), 3 the run diverged (NaN/Inf; the
last good checkpoint is kept).
"""

import os
import sys

from absl import flags
from absl import logging

from note_rnn import config as config_lib
from pipelines import errors
from pipelines.errors import FlagError

TOOL = 'train_note_rnn'
FLAGS = flags.FLAGS
flags.DEFINE_string('sequence_example_file', None,
                    'Training SequenceExample TFRecord(s): comma-separated paths or globs.')
flags.DEFINE_string('eval_sequence_example_file', '',
                    'Held-out SequenceExample TFRecord(s); empty trains without evaluation.')
flags.DEFINE_string('run_dir', None, 'Output run directory; an existing one is resumed.')
flags.DEFINE_enum('config', 'rl_tuner_default', sorted(config_lib.NAMED_CONFIGS),
                  'Named preset the hyperparameters start from.')
flags.DEFINE_string('hparams', '',
                    'Magenta-style overrides, e.g. "batch_size=64,rnn_layer_sizes=[128,128]". '
                    'Names: ' + ', '.join(config_lib.NoteRnnHParams().to_dict()))
flags.DEFINE_integer('num_training_steps', 20000, 'Total optimiser steps (resumed steps count).')
flags.DEFINE_float('learning_rate', None, 'Overrides the hparams learning_rate.')
flags.DEFINE_float('clip_norm', None, 'Overrides the hparams clip_norm (0 = no clipping).')
flags.DEFINE_integer('seed', 1, 'Seeds initialisation, dropout and shuffling.')
flags.DEFINE_integer('summary_every', 50, 'Steps between console/TensorBoard summaries.')
flags.DEFINE_integer('eval_every', 500, 'Steps between evaluations and best/ updates.')
flags.DEFINE_integer('checkpoint_every', 500, 'Steps between checkpoints.')
flags.DEFINE_integer('keep_checkpoints', 3, 'Checkpoints kept in RUN_DIR/checkpoints/.')
flags.DEFINE_integer('eval_max_batches', 0, 'Cap on evaluation batches (0 = all).')
flags.DEFINE_boolean('bucket', True, 'Bucket training batches by sequence length.')
flags.DEFINE_float('random_primer_probability', 0.0,
                   'Share of training melodies given a random priming pitch in front, so the '
                   "model learns what follows the RL Tuner's random_note priming (0 = Magenta's "
                   'training).')


def _train(argv):
  if len(argv) > 1:
    raise FlagError('flagfile', 'unexpected arguments: %s' % ' '.join(argv[1:]))
  for name in ('sequence_example_file', 'run_dir'):
    if not getattr(FLAGS, name):
      raise FlagError(name, 'is required')
  from note_rnn import dataset as dataset_lib  # pylint: disable=g-import-not-at-top
  from note_rnn import train as train_lib  # pylint: disable=g-import-not-at-top
  try:
    hparams = config_lib.parse_hparams(config_lib.named_config(FLAGS.config), FLAGS.hparams)
    overrides = {}
    if FLAGS.learning_rate is not None:
      overrides['learning_rate'] = FLAGS.learning_rate
    if FLAGS.clip_norm is not None:
      overrides['clip_norm'] = FLAGS.clip_norm
    if overrides:
      hparams = config_lib.NoteRnnHParams(**{**hparams.to_dict(), **overrides})
  except ValueError as e:
    raise FlagError('hparams', '%s (or --learning_rate/--clip_norm)' % e) from None
  for name in ('sequence_example_file', 'eval_sequence_example_file'):
    value = getattr(FLAGS, name)
    if value:
      try:
        dataset_lib.expand_file_patterns(value)
      except FileNotFoundError as e:
        raise FlagError(name, str(e)) from None
  for name in ('num_training_steps', 'summary_every', 'eval_every', 'checkpoint_every',
               'keep_checkpoints'):
    if getattr(FLAGS, name) <= 0:
      raise FlagError(name, 'must be positive, got %d' % getattr(FLAGS, name))
  if not 0.0 <= FLAGS.random_primer_probability <= 1.0:
    raise FlagError('random_primer_probability', 'must be in [0, 1], got %r'
                    % FLAGS.random_primer_probability)
  if FLAGS.eval_max_batches < 0:
    raise FlagError('eval_max_batches', 'must be >= 0')
  if not 0 <= FLAGS.seed < 2 ** 32:
    raise FlagError('seed', 'must be in [0, 2**32), got %d' % FLAGS.seed)
  if os.path.exists(FLAGS.run_dir) and not os.path.isdir(FLAGS.run_dir):
    raise FlagError('run_dir', '%s exists and is not a directory' % FLAGS.run_dir)
  cfg = train_lib.TrainConfig(
      run_dir=FLAGS.run_dir, sequence_example_file=FLAGS.sequence_example_file,
      eval_sequence_example_file=FLAGS.eval_sequence_example_file, config=FLAGS.config,
      hparams=hparams, num_training_steps=FLAGS.num_training_steps,
      summary_every=FLAGS.summary_every, eval_every=FLAGS.eval_every,
      checkpoint_every=FLAGS.checkpoint_every, keep_checkpoints=FLAGS.keep_checkpoints,
      eval_max_batches=FLAGS.eval_max_batches, seed=FLAGS.seed, bucket=FLAGS.bucket,
      random_primer_probability=FLAGS.random_primer_probability)
  try:
    result = train_lib.train(cfg)
  except train_lib.TrainingDivergedError as e:
    print('%s: %s' % (TOOL, e), file=sys.stderr)
    sys.exit(errors.EXIT_DIVERGED)
  except ValueError as e:  # the run dir or the data do not fit the flags (the message says)
    raise FlagError('run_dir' if 'run_dir' in str(e) else 'sequence_example_file',
                    str(e)) from None
  best = result.get('best') or {}
  logging.info('Done at step %d. best/ is from step %s (eval loss %s). Run dir: %s',
               result['step'], best.get('step'), best.get('eval_loss'), cfg.run_dir)


main, run = errors.entry_points(TOOL, _train)


if __name__ == '__main__':
  run()
