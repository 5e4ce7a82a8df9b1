"""`create_melody_dataset`: the melody dataset (Magenta's melody_rnn_create_dataset) with Beam.

Reads NoteSequence TFRecords and writes, in --output_dir,
training_melodies.tfrecord and eval_melodies.tfrecord (tf.train.SequenceExample,
`inputs` T x input_size floats, `labels` T ints, the records Magenta writes for
the same --config) and pipeline_stats.json (Magenta's counters, e.g.
DAGPipeline_MelodyExtractor_training_melodies_discarded_too_short).

  --config     inputs  labels  pitches
  basic_rnn        38      38  48-83, transposed to C major
  mono_rnn        130     130  0-127, as played
  lookback_rnn    121      40  48-83 in C; inputs add the events one and two
                               bars back, a step counter and repeat flags;
                               labels add "repeat 1 / 2 bars back"
  attention_rnn    74      40  48-83 in C; key-aware inputs (sounding pitch,
                               attack, direction, repeats, counter, bar start,
                               estimated keys); the same two repeat labels

  bin/create_melody_dataset --config=lookback_rnn \\
      --input=/tmp/notesequences.tfrecord --output_dir=/tmp/melody_dataset \\
      --eval_ratio=0.1 --direct_num_workers=2 --direct_running_mode=multi_processing

Filters (Magenta's): melodies of at least 7 bars, at least 5 distinct pitch
classes, monophonic tracks only (a track with two onsets on one step is dropped
from there on), truncated to 512 steps. The train/eval split is a deterministic
hash of the NoteSequence id (Magenta draws at random).
Exit status: 0 done, 1 no melody was produced, 2 a bad flag (one line naming it).
"""

import os
import sys

from absl import flags

from pipelines import cli
from pipelines import encoding
from pipelines import errors
from pipelines.errors import FlagError

TOOL = 'create_melody_dataset'
FLAGS = flags.FLAGS

flags.DEFINE_string('config', 'basic_rnn', 'The melody_rnn config whose '
                    'encoding to write: %s.' % ', '.join(encoding.CONFIG_NAMES))
flags.DEFINE_string('input', None, 'NoteSequence TFRecord file (or a glob of '
                    'files).')
flags.DEFINE_string('output_dir', None, 'Directory to write training and eval '
                    'TFRecord files and pipeline_stats.json.')
flags.DEFINE_float('eval_ratio', 0.1, 'Fraction of input NoteSequences (chosen '
                   'by a hash of their id) to set aside for evaluation.')
flags.DEFINE_integer('num_shards', 1, 'Shards per output: 1 writes exactly '
                     'the two file names; N > 1 writes NAME-0000i-of-0000N.')
flags.DEFINE_string('log', 'INFO', 'The threshold for what messages will be '
                    'logged: DEBUG, INFO, WARN, ERROR, or FATAL.')


def _check_flags():
  if FLAGS.config not in encoding.CONFIG_NAMES:
    raise FlagError('config', 'must be one of %s, got %r'
                    % (', '.join(encoding.CONFIG_NAMES), FLAGS.config))
  if not FLAGS.input:
    raise FlagError('input', 'is required')
  if not FLAGS.output_dir:
    raise FlagError('output_dir', 'is required')
  if not 0.0 <= FLAGS.eval_ratio <= 1.0:
    raise FlagError('eval_ratio', 'must be in [0, 1], got %g' % FLAGS.eval_ratio)
  if FLAGS.num_shards < 1:
    raise FlagError('num_shards', 'must be >= 1, got %d' % FLAGS.num_shards)
  from pipelines import dataset_pipeline  # pylint: disable=g-import-not-at-top
  if not dataset_pipeline.input_files(FLAGS.input):
    raise FlagError('input', '%s matches no file' % FLAGS.input)
  cli.check_log_level(FLAGS.log)
  cli.check_beam_args(cli.beam_args())


def _create(argv):
  del argv
  _check_flags()
  cli.set_log_level(FLAGS.log)
  from pipelines import dataset_pipeline  # pylint: disable=g-import-not-at-top
  config = dataset_pipeline.DatasetConfig(
      input=FLAGS.input,
      output_dir=os.path.expanduser(FLAGS.output_dir),
      eval_ratio=FLAGS.eval_ratio,
      config=FLAGS.config,
      num_shards=FLAGS.num_shards,
      beam_args=tuple(cli.beam_args()),
      command_flags=tuple(sys.argv[1:]))
  data = dataset_pipeline.run(config)
  print(dataset_pipeline.summary(data, config.output_dir))
  if dataset_pipeline.produced_nothing(data):
    errors.exit_produced_nothing(TOOL, 'no melody was extracted from %s (see the counters '
                                 'above; melodies need >= 7 bars, >= 5 pitch classes, one '
                                 'note at a time)' % FLAGS.input)


main, run = errors.entry_points(TOOL, _create, runner=cli.run_tool)


if __name__ == '__main__':
  run()
