"""`convert_dir_to_note_sequences`: a directory of MIDI, MusicXML and ABC files -> NoteSequences.

Magenta's `convert_dir_to_note_sequences` as an Apache Beam pipeline: same
flags, ids and records, plus Beam options passed through, `--num_shards`, and
per-file limits. Writes OUTPUT_FILE and OUTPUT_FILE.stats.json (the counters).

  bin/convert_dir_to_note_sequences --input_dir=../shared/data/midi \\
      --output_file=/tmp/notesequences.tfrecord --recursive \\
      --direct_num_workers=2 --direct_running_mode=multi_processing

Bad files are logged with their path and reason, counted (e.g.
midi_conversion_errors, file_too_large, conversion_timeout) and skipped; each
converted file is a DEBUG line (--log=DEBUG shows them).
Exit status: 0 done, 1 no NoteSequence was produced, 2 a bad flag (one line naming it).
"""

import os

from absl import flags

from pipelines import cli
from pipelines import errors
from pipelines.errors import FlagError

TOOL = 'convert_dir_to_note_sequences'
FLAGS = flags.FLAGS

flags.DEFINE_string('input_dir', None, 'Directory containing files to convert '
                    '(its base name becomes the collection name).')
flags.DEFINE_string('output_file', None, 'Path to output TFRecord file. Will be '
                    'overwritten if it already exists.')
flags.DEFINE_bool('recursive', False,
                  'Whether or not to recurse into subdirectories.')
flags.DEFINE_string('log', 'INFO', 'The threshold for what messages will be '
                    'logged: DEBUG, INFO, WARN, ERROR, or FATAL.')
flags.DEFINE_integer('num_shards', 1, 'Output shards: 1 writes exactly '
                     '--output_file; N > 1 writes OUTPUT_FILE-0000i-of-0000N.')
flags.DEFINE_integer('max_file_bytes', 64 * 1024 * 1024, 'Files larger than '
                     'this are skipped before reading (counter '
                     'file_too_large); 0 disables the cap.')
flags.DEFINE_float('max_seconds_per_file', 60.0, 'A file whose conversion '
                   'takes longer is abandoned (counter conversion_timeout); '
                   '0 disables the bound.')


def _check_flags():
  if not FLAGS.input_dir:
    raise FlagError('input_dir', 'is required')
  if not FLAGS.output_file:
    raise FlagError('output_file', 'is required')
  if not os.path.isdir(os.path.expanduser(FLAGS.input_dir)):
    raise FlagError('input_dir', '%s is not a directory' % FLAGS.input_dir)
  if FLAGS.num_shards < 1:
    raise FlagError('num_shards', 'must be >= 1, got %d' % FLAGS.num_shards)
  if FLAGS.max_file_bytes < 0:
    raise FlagError('max_file_bytes', 'must be >= 0')
  if FLAGS.max_seconds_per_file < 0:
    raise FlagError('max_seconds_per_file', 'must be >= 0')
  cli.check_log_level(FLAGS.log)
  cli.check_beam_args(cli.beam_args())


def _convert(argv):
  del argv
  _check_flags()
  cli.set_log_level(FLAGS.log)
  from pipelines import convert_pipeline  # pylint: disable=g-import-not-at-top
  from pipelines import converters  # pylint: disable=g-import-not-at-top
  config = convert_pipeline.ConvertConfig(
      input_dir=os.path.expanduser(FLAGS.input_dir),
      output_file=os.path.expanduser(FLAGS.output_file),
      recursive=FLAGS.recursive,
      num_shards=FLAGS.num_shards,
      limits=converters.ConversionLimits(
          max_file_bytes=FLAGS.max_file_bytes,
          max_seconds_per_file=FLAGS.max_seconds_per_file),
      beam_args=tuple(cli.beam_args()))
  data = convert_pipeline.run(config)
  print(convert_pipeline.summary(data, config.output_file))
  if convert_pipeline.produced_nothing(data):
    errors.exit_produced_nothing(TOOL, 'no NoteSequence was produced from %s (see the '
                                 'counters above)' % FLAGS.input_dir)


main, run = errors.entry_points(TOOL, _convert, runner=cli.run_tool)


if __name__ == '__main__':
  run()
