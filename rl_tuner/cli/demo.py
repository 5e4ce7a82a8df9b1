"""`rl_tuner_demo` (`bin/demo`): the bundled corpus through the whole chain, into demo_output/.

  bin/demo                       # 300 tunes, about 3 minutes on 2 cores
  bin/demo --max_tunes=100 --output_dir=/tmp/demo

Stage 1 (data): a slice of music21's bundled corpus -> NoteSequences -> MIDI
files -> convert_dir_to_note_sequences -> create_melody_dataset, with both
pipelines' counters printed. Then (rl_tuner.demo): the shipped Note RNN
(trained on the whole corpus) is tuned with q for a short budget, the Note RNN
and the tuned model are evaluated on 10,000 compositions each, and the report
(report.html, ab.html and, with magenta.js vendored, live.html) is written. It ends with the table and the pages' paths.

Exit status: 0 done, 1 a stage produced nothing (no melody, a failed stage), 2 a bad flag.
"""

import os
import sys

from absl import flags

from pipelines import cli
from pipelines import errors
from pipelines.errors import FlagError
from rl_tuner import demo as rl_demo

TOOL = 'rl_tuner_demo'
FLAGS = flags.FLAGS

flags.DEFINE_string('output_dir', 'demo_output', 'Where the demo writes.')
flags.DEFINE_integer('max_tunes', 300, 'Size of the bundled-corpus slice.')
flags.DEFINE_float('eval_ratio', 0.1, 'Eval fraction of the melody dataset.')
flags.DEFINE_string('log', 'INFO', 'DEBUG, INFO, WARN, ERROR, or FATAL.')
flags.DEFINE_integer('num_steps', rl_demo.DEFAULT_NUM_STEPS,
                     'Environment steps of q tuning (rounded up to whole collection rounds).')
flags.DEFINE_integer('num_compositions', rl_demo.DEFAULT_NUM_COMPOSITIONS,
                     'Compositions per model in the evaluation.')
flags.DEFINE_string('note_rnn_checkpoint', None, 'Tune this Note RNN instead of the '
                    'shipped one.')


def _check_flags():
  if FLAGS.max_tunes < 1:
    raise FlagError('max_tunes', 'must be >= 1, got %d' % FLAGS.max_tunes)
  if not 0.0 <= FLAGS.eval_ratio <= 1.0:
    raise FlagError('eval_ratio', 'must be in [0, 1], got %g' % FLAGS.eval_ratio)
  if FLAGS.num_steps < 1:
    raise FlagError('num_steps', 'must be >= 1, got %d' % FLAGS.num_steps)
  if FLAGS.num_compositions < 1:
    raise FlagError('num_compositions', 'must be >= 1, got %d' % FLAGS.num_compositions)
  if os.path.exists(FLAGS.output_dir) and not os.path.isdir(FLAGS.output_dir):
    raise FlagError('output_dir', 'exists and is not a directory: %s' % FLAGS.output_dir)
  cli.check_log_level(FLAGS.log)
  cli.check_beam_args(cli.beam_args())


def _demo(argv):
  del argv
  _check_flags()
  cli.set_log_level(FLAGS.log)
  from pipelines import demo  # pylint: disable=g-import-not-at-top
  print('[1/5] running both pipelines on %d tunes of the bundled corpus ...' % FLAGS.max_tunes,
        flush=True)
  data = demo.run_data_stage(demo.DataStageConfig(
      output_dir=FLAGS.output_dir, max_tunes=FLAGS.max_tunes,
      eval_ratio=FLAGS.eval_ratio, beam_args=tuple(cli.beam_args())))
  print(demo.format_data_stage(data))
  if not data['dataset_stats'].get('outputs_total'):
    errors.exit_produced_nothing(TOOL, 'the data stage produced no melody')
  try:
    result = rl_demo.tune_evaluate_report(
        FLAGS.output_dir, num_steps=FLAGS.num_steps, num_compositions=FLAGS.num_compositions,
        first_stage=2, total_stages=5, note_rnn_checkpoint=FLAGS.note_rnn_checkpoint,
        log=lambda line: print(line, flush=True))
  except rl_demo.DemoError as e:
    errors.exit_produced_nothing(TOOL, str(e))
  print()
  print(result['table'])
  print('Report:          %s' % os.path.abspath(result['report']))
  print('Blind A/B test:  %s' % os.path.abspath(result['ab']))
  sys.stdout.flush()


main, run = errors.entry_points(TOOL, _demo, runner=cli.run_tool)


if __name__ == '__main__':
  run()
