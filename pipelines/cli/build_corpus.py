"""`build_corpus`: the bundled corpus, music21's own scores -> NoteSequences -> melodies.

Uses only what the music21 wheel ships (nothing is downloaded): Bach chorale
soprano lines and the essenFolksong, oneills1850 and ryansMammoth ABC tunes.
Writes OUTPUT_DIR/notesequences.tfrecord, OUTPUT_DIR/melody_dataset/
{training,eval}_melodies.tfrecord + pipeline_stats.json, and build.json.
Runs on two worker processes by default; a rerun converts only what changed.

  bin/build_corpus                                  # everything (~20 CPU-min)
  bin/build_corpus --max_tunes=300 --output_dir=/tmp/corpus_slice
  bin/build_corpus --collections=bach,oneills1850 --direct_num_workers=1

Parse failures are counted (music21_parse_errors, ...) and skipped.
Exit status: 0 done, 1 no melody was produced, 2 a bad flag (one line naming it).
"""

import os

from absl import flags

from pipelines import cli
from pipelines import corpus
from pipelines import errors
from pipelines.errors import FlagError

TOOL = 'build_corpus'
FLAGS = flags.FLAGS

flags.DEFINE_string('output_dir', corpus.DEFAULT_CORPUS_DIR,
                    'Where the NoteSequences, the melody dataset and the '
                    'cache go.')
flags.DEFINE_list('collections', list(corpus.COLLECTIONS),
                  'Which bundled collections to use: %s.'
                  % ', '.join(corpus.COLLECTIONS))
flags.DEFINE_integer('max_tunes', None, 'Use at most this many tunes/chorales '
                     '(taken in turn from each collection); default all.')
flags.DEFINE_float('eval_ratio', 0.1, 'Fraction of tunes (by id hash) in the '
                   'eval set.')
flags.DEFINE_float('max_seconds_per_file', 60.0, 'Time bound per tune; a tune '
                   'over it is counted as conversion_timeout and skipped.')
flags.DEFINE_bool('cache', True, 'Reuse cached conversions and skip unchanged '
                  'stages (--nocache redoes everything).')
flags.DEFINE_string('log', 'INFO', 'DEBUG, INFO, WARN, ERROR, or FATAL.')


def _check_flags():
  unknown = [c for c in FLAGS.collections if c not in corpus.COLLECTIONS]
  if unknown:
    raise FlagError('collections', 'unknown collection %r (valid: %s)'
                    % (unknown[0], ', '.join(corpus.COLLECTIONS)))
  if not FLAGS.collections:
    raise FlagError('collections', 'is empty')
  if FLAGS.max_tunes is not None and FLAGS.max_tunes < 1:
    raise FlagError('max_tunes', 'must be >= 1, got %d' % FLAGS.max_tunes)
  if not 0.0 <= FLAGS.eval_ratio <= 1.0:
    raise FlagError('eval_ratio', 'must be in [0, 1], got %g' % FLAGS.eval_ratio)
  if FLAGS.max_seconds_per_file < 0:
    raise FlagError('max_seconds_per_file', 'must be >= 0')
  cli.check_log_level(FLAGS.log)
  cli.check_beam_args(cli.beam_args())


def _build(argv):
  del argv
  _check_flags()
  cli.set_log_level(FLAGS.log)
  from pipelines import corpus_pipeline  # pylint: disable=g-import-not-at-top
  config = corpus_pipeline.CorpusConfig(
      output_dir=os.path.expanduser(FLAGS.output_dir),
      collections=tuple(FLAGS.collections),
      max_tunes=FLAGS.max_tunes,
      eval_ratio=FLAGS.eval_ratio,
      max_seconds_per_file=FLAGS.max_seconds_per_file,
      use_cache=FLAGS.cache,
      beam_args=tuple(cli.beam_args()))
  summary = corpus_pipeline.build(config)
  print(corpus_pipeline.format_summary(summary))
  if not summary['training_melodies'] + summary['eval_melodies']:
    errors.exit_produced_nothing(TOOL, 'the corpus build produced no melody')


main, run = errors.entry_points(TOOL, _build, runner=cli.run_tool)


if __name__ == '__main__':
  run()
