"""Writes report.html (tables, plots, audio, MIDI) and the blind A/B page ab.html.

Reads tuned run dirs (config.json, tb/ events, policy/) and evaluation dirs of
bin/evaluate_rl_tuner (metrics.json, compositions.npz), and writes under
--output_dir only: report.html, ab.html, the PNGs, and a MIDI and WAV per sample.
WAVs need the Debian packages fluidsynth and fluid-soundfont-gm; without them the
report says so and keeps everything else.

Example:
  bin/make_report --run_dir=runs/q --eval_dir=out/eval_corrected \
      --eval_dir=out/eval_legacy --output_dir=out/report

live.html, the play-it-live page, improvises in the browser with magenta.js: it offers each
--magenta_js_dir and each --run_dir's magenta_js/ (bin/export_magenta_js writes them), plus the
untuned Note RNN beside tuned models. It needs the vendored @magenta/music (make setup) and
works from file:// (keep magentamusic.js beside it). --magenta_js_dir alone writes only live.html.
"""

import os
import sys

from absl import flags

from pipelines import errors
from pipelines.errors import FlagError

TOOL = 'make_report'
FLAGS = flags.FLAGS
flags.DEFINE_multi_string('run_dir', [], 'A tuned RL Tuner run directory; repeat for several.')
flags.DEFINE_multi_string('eval_dir', [], 'An output dir of bin/evaluate_rl_tuner; give a '
                          'legacy and a corrected one to see them side by side.')
flags.DEFINE_string('output_dir', None, 'Where report.html, ab.html and their files go.')
flags.DEFINE_string('note_rnn_checkpoint', None, 'The untuned Note RNN (default: the runs\' '
                    'prior, else the shipped model).')
flags.DEFINE_multi_string('sweep_dir', [], 'An output dir of bin/sweep_rl_tuner: the report '
                          'shows its trade-off plot and table; repeat for several.')
flags.DEFINE_integer('num_samples', 3, 'Compositions per model to show and play.')
flags.DEFINE_integer('num_ab_pairs', 8, 'Pairs on the blind A/B page.')
flags.DEFINE_integer('seed', 0, 'Seeds the generated samples and the A/B order.')
flags.DEFINE_boolean('audio', True, 'Render WAVs with FluidSynth (when installed).')
flags.DEFINE_multi_string('magenta_js_dir', [], 'A magenta.js MusicRNN dir written by '
                          'bin/export_magenta_js, offered on live.html; repeat for several.')
flags.DEFINE_boolean('render_chords', False, 'Play the runs\' --chord_progression under each '
                     'sample (MIDI and audio), so the melody is heard over its harmony.')


def _main(argv):
  if len(argv) > 1:
    raise FlagError('run_dir', 'unexpected arguments: %s' % ' '.join(argv[1:]))
  if not FLAGS.output_dir:
    raise FlagError('output_dir', 'is required')
  if not FLAGS.run_dir and not FLAGS.eval_dir and not FLAGS.magenta_js_dir:
    raise FlagError('run_dir', 'give at least one --run_dir, --eval_dir or --magenta_js_dir')
  for name in ('run_dir', 'eval_dir', 'magenta_js_dir', 'sweep_dir'):
    for path in FLAGS[name].value:
      if not os.path.isdir(path):
        raise FlagError(name, 'no such directory: %s' % path)
  if FLAGS.sweep_dir and not (FLAGS.run_dir or FLAGS.eval_dir):
    raise FlagError('sweep_dir', 'goes into a report of --run_dir or --eval_dir (e.g. '
                    'SWEEP/runs/<name>); give at least one')
  from rl_tuner.report import tradeoff  # pylint: disable=g-import-not-at-top
  for path in FLAGS.sweep_dir:
    try:
      tradeoff.read_sweep(path)
    except ValueError as e:
      raise FlagError('sweep_dir', str(e)) from None
  if not 1 <= FLAGS.num_samples <= 50:
    raise FlagError('num_samples', 'must be in [1, 50], got %d' % FLAGS.num_samples)
  if not 0 <= FLAGS.num_ab_pairs <= 50:
    raise FlagError('num_ab_pairs', 'must be in [0, 50], got %d' % FLAGS.num_ab_pairs)
  if not 0 <= FLAGS.seed < 2**32:
    raise FlagError('seed', 'must be in [0, 2**32), got %d' % FLAGS.seed)
  if os.path.exists(FLAGS.output_dir) and not os.path.isdir(FLAGS.output_dir):
    raise FlagError('output_dir', 'exists and is not a directory: %s' % FLAGS.output_dir)
  from rl_tuner.report import live_page  # pylint: disable=g-import-not-at-top
  for path in FLAGS.magenta_js_dir:
    try:
      live_page.model_files(path)
    except ValueError as e:
      raise FlagError('magenta_js_dir', str(e)) from None
  try:
    live = live_page.for_report(
        FLAGS.output_dir, FLAGS.magenta_js_dir, FLAGS.run_dir, FLAGS.note_rnn_checkpoint,
        log=lambda line: print(line, file=sys.stderr))
  except (ValueError, FileNotFoundError) as e:
    raise FlagError('magenta_js_dir', str(e)) from None
  if FLAGS.run_dir or FLAGS.eval_dir:
    _report(os.path.basename(live) if live else None)
  if live:
    print(live)


def _report(live_page_name):
  from rl_tuner.report import pages as report_pages  # pylint: disable=g-import-not-at-top
  config = report_pages.ReportConfig(
      output_dir=FLAGS.output_dir, run_dirs=list(FLAGS.run_dir),
      eval_dirs=list(FLAGS.eval_dir), note_rnn_checkpoint=FLAGS.note_rnn_checkpoint,
      num_samples=FLAGS.num_samples, num_ab_pairs=FLAGS.num_ab_pairs, seed=FLAGS.seed,
      render_audio=FLAGS.audio, render_chords=FLAGS.render_chords,
      sweep_dirs=list(FLAGS.sweep_dir), live_page=live_page_name)
  try:
    paths = report_pages.build_report(config, log=lambda line: print(line, file=sys.stderr))
  except OSError as e:
    raise FlagError('output_dir', 'cannot write the report to %s: %s' % (FLAGS.output_dir, e))
  print(paths['report'])
  print(paths['ab'])


main, run = errors.entry_points(TOOL, _main)


if __name__ == '__main__':
  run()
