"""Exports a Note RNN or a tuned model as a magenta.js MusicRNN checkpoint directory.

Examples:
  bin/export_magenta_js --checkpoint=runs/q                # tuned run -> runs/q/magenta_js/
  bin/export_magenta_js --checkpoint=runs/my_note_rnn      # Note RNN run -> .../magenta_js/
  bin/export_magenta_js --output_dir=out/note_rnn_js       # the shipped Note RNN
  bin/export_magenta_js --checkpoint=basic_rnn.mag --output_dir=out/basic_rnn_js

The directory holds config.json ("type": "MusicRNN", MelodyConverter 48-83),
weights_manifest.json and group1-shard*.bin, which magenta.js loads with
  new mm.MusicRNN(URL_OF_THE_DIR).continueSequence(quantizedPrimer, steps, temperature)
A tuned RL Tuner run exports its note_rnn_export/ (q, psi, pure_rl); a g run is refused, as
is any model magenta.js's MusicRNN cannot run (the message says why). bin/make_report
--magenta_js_dir=DIR puts it on the report's live.html page.
"""

from absl import flags

from pipelines import errors
from pipelines.errors import FlagError

TOOL = 'export_magenta_js'
FLAGS = flags.FLAGS
flags.DEFINE_string('checkpoint', None,
                    'A tuned RL Tuner run dir, a Note RNN run dir, or anything note_rnn.load '
                    'reads (checkpoint, .mag bundle). Default: the shipped Note RNN.')
flags.DEFINE_string('output_dir', None,
                    'The MusicRNN directory to write (replaced if it is an earlier export). '
                    'Default for a run dir: RUN_DIR/magenta_js.')


def _main(argv):
  if len(argv) > 1:
    raise FlagError('checkpoint', 'unexpected arguments: %s' % ' '.join(argv[1:]))
  from note_rnn import magenta_js  # pylint: disable=g-import-not-at-top
  try:
    path = magenta_js.export_magenta_js(FLAGS.checkpoint, FLAGS.output_dir)
  except magenta_js.ExportRefused as e:
    raise FlagError('checkpoint', 'refused: %s' % e) from None
  except magenta_js.OutputDirError as e:
    raise FlagError('output_dir', str(e)) from None
  except (FileNotFoundError, ValueError) as e:
    raise FlagError('checkpoint', str(e)) from None
  print(path)


main, run = errors.entry_points(TOOL, _main)


if __name__ == '__main__':
  run()
