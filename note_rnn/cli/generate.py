"""`generate_melodies`: samples melodies from a Note RNN into MIDI files (melody_rnn_generate).

Example:
  bin/generate_melodies --run_dir=note_rnn/pretrained/rl_tuner_default \
    --output_dir=/tmp/melodies --num_outputs=10 --num_steps=128 \
    --primer_melody='[60, -2, 60, -2, 67, -2, 67, -2]' --temperature=1.0

Without --run_dir, --bundle_file or --checkpoint the shipped default Note RNN is used.
--checkpoint takes anything note_rnn.load reads (a run dir of ours, a Magenta checkpoint
prefix or run dir, the RL Tuner research checkpoint file, a .mag bundle) of any melody_rnn
config (basic_rnn, mono_rnn, lookback_rnn, attention_rnn); config and layer sizes come from
the checkpoint. --bundle_file is Magenta's flag name for a .mag bundle. --temperature=0 is greedy decoding (deterministic). Each MIDI file holds
the primer followed by the continuation; --num_steps counts both, as in Magenta.

Exit status: 0 done, 2 a bad flag (one line naming it; nothing written).
"""

import ast
import os

from absl import flags
from absl import logging

from pipelines import errors
from pipelines.errors import FlagError

TOOL = 'generate_melodies'
FLAGS = flags.FLAGS
flags.DEFINE_string('run_dir', None, 'A Note RNN run dir (ours, or a Magenta melody_rnn run dir).')
flags.DEFINE_string('bundle_file', None, 'A Magenta .mag GeneratorBundle.')
flags.DEFINE_string('checkpoint', None, 'Any checkpoint note_rnn.load reads.')
flags.DEFINE_string('output_dir', None, 'Where the MIDI files are written (created).')
flags.DEFINE_integer('num_outputs', 10, 'Number of melodies.')
flags.DEFINE_integer('num_steps', 128, 'Total steps per melody (16th notes), primer included.')
flags.DEFINE_string('primer_melody', '',
                    'Primer as a Python list of Melody events: -2 = hold, -1 = note off, '
                    '0..127 = MIDI pitch, e.g. "[60, -2, 60, -2, 67, -2, 67, -2]".')
flags.DEFINE_string('primer_midi', '', 'Primer MIDI file (its first tempo sets the qpm).')
flags.DEFINE_float('temperature', 1.0, 'Softmax temperature; 0 = greedy (argmax).')
flags.DEFINE_float('qpm', 120.0, 'Tempo in quarter notes per minute.')
flags.DEFINE_integer('seed', 0, 'Sampling seed.')
flags.DEFINE_integer('batch_size', 1000, 'Melodies per compiled sampling call.')
flags.DEFINE_integer('attn_length', None,
                     "attention_rnn's attention window, for checkpoints that do not record it "
                     "(a Magenta training checkpoint; bundles and our run dirs do). Default: the "
                     "config's, 40.")


def _parse_primer(text):
  try:
    events = ast.literal_eval(text)
  except (ValueError, SyntaxError):
    raise FlagError('primer_melody', 'not a Python list: %r' % text) from None
  if not isinstance(events, (list, tuple)) or not events or not all(
      isinstance(e, int) and (e in (-2, -1) or 0 <= e < 128) for e in events):
    raise FlagError('primer_melody', 'expected a non-empty list of -2, -1 or MIDI pitches '
                    '0..127, got %r' % text)
  return list(events)


def _check_flags(argv):
  """FLAGS -> (checkpoint or None, primer events or None); FlagError naming a bad flag."""
  if len(argv) > 1:
    raise FlagError('output_dir', 'unexpected arguments: %s' % ' '.join(argv[1:]))
  if not FLAGS.output_dir:
    raise FlagError('output_dir', 'is required')
  if os.path.exists(FLAGS.output_dir) and not os.path.isdir(FLAGS.output_dir):
    raise FlagError('output_dir', '%s exists and is not a directory' % FLAGS.output_dir)
  sources = [(n, getattr(FLAGS, n)) for n in ('run_dir', 'bundle_file', 'checkpoint')
             if getattr(FLAGS, n)]
  if len(sources) > 1:
    raise FlagError(sources[1][0], 'give at most one of --run_dir, --bundle_file, '
                    '--checkpoint (got %s)' % ', '.join('--' + n for n, _ in sources))
  checkpoint = sources[0][1] if sources else None
  if sources and not (os.path.exists(checkpoint) or os.path.exists(checkpoint + '.index')):
    raise FlagError(sources[0][0], '%s does not exist' % checkpoint)
  if FLAGS.primer_melody and FLAGS.primer_midi:
    raise FlagError('primer_midi', 'give --primer_melody or --primer_midi, not both')
  primer = _parse_primer(FLAGS.primer_melody) if FLAGS.primer_melody else None
  if FLAGS.primer_midi and not os.path.isfile(FLAGS.primer_midi):
    raise FlagError('primer_midi', '%s: no such file' % FLAGS.primer_midi)
  if FLAGS.num_outputs <= 0:
    raise FlagError('num_outputs', 'must be positive, got %d' % FLAGS.num_outputs)
  if FLAGS.num_steps <= 1:
    raise FlagError('num_steps', 'must be at least 2, got %d' % FLAGS.num_steps)
  if FLAGS.temperature < 0:
    raise FlagError('temperature', 'must be >= 0, got %g' % FLAGS.temperature)
  if FLAGS.qpm <= 0:
    raise FlagError('qpm', 'must be positive, got %g' % FLAGS.qpm)
  if FLAGS.batch_size <= 0:
    raise FlagError('batch_size', 'must be positive')
  if FLAGS.attn_length is not None and not 0 < FLAGS.attn_length <= 4096:
    raise FlagError('attn_length', 'must be in [1, 4096], got %d' % FLAGS.attn_length)
  return checkpoint, primer


def _generate(argv):
  checkpoint, primer = _check_flags(argv)
  from note_rnn import generate  # pylint: disable=g-import-not-at-top
  from note_rnn import loading  # pylint: disable=g-import-not-at-top
  cfg = generate.GenerateConfig(
      checkpoint=checkpoint, output_dir=FLAGS.output_dir, num_outputs=FLAGS.num_outputs,
      num_steps=FLAGS.num_steps, primer_melody=primer, primer_midi=FLAGS.primer_midi or None,
      temperature=FLAGS.temperature, qpm=FLAGS.qpm, seed=FLAGS.seed,
      batch_size=FLAGS.batch_size)
  try:
    model = loading.load(checkpoint, attn_length=FLAGS.attn_length)
  except (FileNotFoundError, ValueError) as e:
    raise FlagError(_source_flag(), str(e)) from None
  try:
    seq, qpm = generate.primer_sequence(cfg.primer_melody, cfg.primer_midi, cfg.qpm)
    generate.prepare_primer(seq, qpm, cfg.num_steps, model.config_name)  # validates before anything is written
  except ValueError as e:
    raise FlagError('num_steps' if 'num_steps' in str(e) else _primer_flag(), str(e)) from None
  except Exception as e:  # pylint: disable=broad-except  # note_seq's MIDIConversionError...
    raise FlagError('primer_midi', '%s: %s' % (FLAGS.primer_midi, e)) from None
  paths = generate.run(cfg, model=model)
  logging.info('Wrote %d MIDI files to %s (model %s: %s, %d layers %s).', len(paths),
               cfg.output_dir, checkpoint or loading.default_model_dir(), model.config_name,
               len(model.layer_sizes), list(model.layer_sizes))


def _source_flag():
  """The flag naming the model (--checkpoint when none is given: the shipped one)."""
  return next((n for n in ('run_dir', 'bundle_file', 'checkpoint') if getattr(FLAGS, n)),
              'checkpoint')


def _primer_flag():
  return 'primer_midi' if FLAGS.primer_midi else 'primer_melody'


main, run = errors.entry_points(TOOL, _generate)


if __name__ == '__main__':
  run()
