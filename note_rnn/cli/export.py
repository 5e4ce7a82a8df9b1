"""`export_magenta_bundle`: a Note RNN in Magenta's melody_rnn layout (checkpoint + .mag bundle).

Any config exports as itself: a basic_rnn, mono_rnn, lookback_rnn or attention_rnn model
becomes a bundle of that generator id (OUTPUT_DIR/<config>.mag), which Magenta's
melody_rnn_generate loads and runs with that config's own input encoding.

Example:
  bin/export_magenta_bundle --checkpoint=note_rnn/pretrained/rl_tuner_default \
    --output_dir=/tmp/magenta_export

writes
  /tmp/magenta_export/basic_rnn.mag               a GeneratorBundle (id basic_rnn)
  /tmp/magenta_export/train/model.ckpt-<step>.*   a V2 checkpoint with melody_rnn names

which Magenta's own generator reads:
  melody_rnn_generate --bundle_file=/tmp/magenta_export/basic_rnn.mag --output_dir=... \
    --num_outputs=10 --num_steps=128 --primer_melody='[60]'
  melody_rnn_generate --config=basic_rnn --run_dir=/tmp/magenta_export \
    --hparams='rnn_layer_sizes=[100]' --output_dir=...
The bundle carries its own generation graph, so no hparams are needed with --bundle_file.

Exit status: 0 done, 2 a bad flag (one line naming it).
"""

import os

from absl import flags
from absl import logging

from pipelines import errors
from pipelines.errors import FlagError

TOOL = 'export_magenta_bundle'
FLAGS = flags.FLAGS
flags.DEFINE_string('checkpoint', None,
                    'Source model: anything note_rnn.load reads (run dir, checkpoint, bundle). '
                    'Default: the shipped Note RNN.')
flags.DEFINE_string('run_dir', None, 'Alias of --checkpoint for a run dir.')
flags.DEFINE_string('output_dir', None, 'Where train/ and the bundle are written.')
flags.DEFINE_string('bundle_file', None, 'Bundle path (default OUTPUT_DIR/<config>.mag).')
flags.DEFINE_boolean('write_checkpoint', True, 'Also write OUTPUT_DIR/train/model.ckpt-<step>.')
flags.DEFINE_string('bundle_description', '', 'Text stored in bundle_details.description.')
flags.DEFINE_integer('attn_length', None,
                     "attention_rnn's attention window, for a source that does not record it (a "
                     "Magenta training checkpoint). Default: the config's, 40.")
flags.DEFINE_integer('batch_size', 128, 'Batch size baked into the generation graph '
                     '(Magenta generates this many sequences per session run).')


def _export(argv):
  if len(argv) > 1:
    raise FlagError('output_dir', 'unexpected arguments: %s' % ' '.join(argv[1:]))
  if not FLAGS.output_dir:
    raise FlagError('output_dir', 'is required')
  if FLAGS.checkpoint and FLAGS.run_dir:
    raise FlagError('run_dir', 'give --checkpoint or --run_dir, not both')
  source = FLAGS.checkpoint or FLAGS.run_dir
  source_flag = 'checkpoint' if FLAGS.checkpoint else 'run_dir'
  if source and not (os.path.exists(source) or os.path.exists(source + '.index')):
    raise FlagError(source_flag, '%s does not exist' % source)
  if FLAGS.batch_size <= 0:
    raise FlagError('batch_size', 'must be positive')
  if os.path.exists(FLAGS.output_dir) and not os.path.isdir(FLAGS.output_dir):
    raise FlagError('output_dir', '%s exists and is not a directory' % FLAGS.output_dir)
  from note_rnn import export  # pylint: disable=g-import-not-at-top
  try:
    written = export.export_to_magenta(
        export.ExportConfig(source=source, output_dir=FLAGS.output_dir,
                            bundle_file=FLAGS.bundle_file,
                            write_checkpoint=FLAGS.write_checkpoint,
                            bundle_description=FLAGS.bundle_description,
                            batch_size=FLAGS.batch_size, attn_length=FLAGS.attn_length))
  except (FileNotFoundError, ValueError) as e:
    raise FlagError(source_flag, str(e)) from None
  for key, path in sorted(written.items()):
    logging.info('Wrote %s: %s', key, path)


main, run = errors.entry_points(TOOL, _export)


if __name__ == '__main__':
  run()
