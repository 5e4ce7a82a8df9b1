#!/usr/bin/env python3
"""Exports a Note RNN to Magenta's melody_rnn layout: a training-style checkpoint and a .mag bundle.

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
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

from absl import app  # noqa: E402
from absl import flags  # noqa: E402
from absl import logging  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_string('checkpoint', None,
                    'Source model: anything note_rnn.load reads (run dir, checkpoint, bundle). '
                    'Default: the shipped Note RNN.')
flags.DEFINE_string('run_dir', None, 'Alias of --checkpoint for a run dir.')
flags.DEFINE_string('output_dir', None, 'Where train/ and the bundle are written.')
flags.DEFINE_string('bundle_file', None, 'Bundle path (default OUTPUT_DIR/basic_rnn.mag).')
flags.DEFINE_boolean('write_checkpoint', True, 'Also write OUTPUT_DIR/train/model.ckpt-<step>.')
flags.DEFINE_string('bundle_description', '', 'Text stored in bundle_details.description.')
flags.DEFINE_integer('batch_size', 128, 'Batch size baked into the generation graph '
                     '(Magenta generates this many sequences per session run).')


def _fail(message):
  sys.stderr.write('export_magenta_bundle: %s\n' % message)
  sys.exit(2)


def main(argv):
  if len(argv) > 1:
    _fail('unexpected arguments: %s' % ' '.join(argv[1:]))
  if FLAGS.checkpoint and FLAGS.run_dir:
    _fail('give --checkpoint or --run_dir, not both')
  source = FLAGS.checkpoint or FLAGS.run_dir
  if source and not (os.path.exists(source) or os.path.exists(source + '.index')):
    _fail('--%s=%s does not exist' % ('checkpoint' if FLAGS.checkpoint else 'run_dir', source))
  if FLAGS.batch_size <= 0:
    _fail('--batch_size must be positive')
  if os.path.exists(FLAGS.output_dir) and not os.path.isdir(FLAGS.output_dir):
    _fail('--output_dir=%s exists and is not a directory' % FLAGS.output_dir)
  from note_rnn import export  # pylint: disable=g-import-not-at-top
  try:
    written = export.export_to_magenta(
        export.ExportConfig(source=source, output_dir=FLAGS.output_dir,
                            bundle_file=FLAGS.bundle_file,
                            write_checkpoint=FLAGS.write_checkpoint,
                            bundle_description=FLAGS.bundle_description,
                            batch_size=FLAGS.batch_size))
  except (FileNotFoundError, ValueError) as e:
    _fail(str(e))
  for key, path in sorted(written.items()):
    logging.info('Wrote %s: %s', key, path)


if __name__ == '__main__':
  flags.mark_flag_as_required('output_dir')
  app.run(main)
