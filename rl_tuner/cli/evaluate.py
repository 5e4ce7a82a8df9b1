"""Evaluates the Note RNN and tuned RL Tuner runs: the paper's Table 1, side by side.

Generates compositions with every model (all batched in the graph), scores each
note under the model's own prior Note RNN, and writes under --output_dir only:
metrics.json, metrics.md (the table printed at the end) and,
with --save_compositions, compositions.npz (one int array [N, T] per model).

Example:
  bin/evaluate_rl_tuner --run_dir=runs/q --run_dir=runs/psi --output_dir=out/eval \
      --num_compositions=100000 --save_compositions

With no --run_dir it evaluates the Note RNN alone (the shipped one by default).
A tuned run's key, num_notes, priming and prior Note RNN come from its config.json;
an explicit flag that disagrees with it is an error.
"""

import os
import sys
import time

from absl import flags

from pipelines import errors
from pipelines.errors import FlagError
from rl_tuner.policy import priming as priming_lib

_START = time.perf_counter()

TOOL = 'evaluate_rl_tuner'
FLAGS = flags.FLAGS
flags.DEFINE_multi_string('run_dir', [], 'A tuned RL Tuner run directory; repeat for several.')
flags.DEFINE_string('note_rnn_checkpoint', None,
                    'The untuned Note RNN: a run dir, checkpoint prefix or .mag bundle. '
                    'Default: the tuned runs\' prior, else the shipped model.')
flags.DEFINE_enum('semantics', 'corrected', ['corrected', 'legacy'],
                  'Statistic definitions (rl_tuner/README.md); legacy is what the paper used.')
flags.DEFINE_integer('num_compositions', 100000, 'Compositions per model.')
flags.DEFINE_enum('policy', 'sample', ['sample', 'greedy'],
                  'sample: softmax at temperature 1 of the policy\'s logits (as the original '
                  'evaluates); greedy: argmax.')
flags.DEFINE_integer('seed', 1, 'Seeds priming and sampling (the same for every model).')
flags.DEFINE_string('output_dir', None, 'Where metrics.json, metrics.md and '
                    'compositions.npz go (nothing is written elsewhere).')
flags.DEFINE_boolean('save_compositions', False, 'Also write compositions.npz.')
flags.DEFINE_string('reference_melodies', None, 'A basic_rnn melody SequenceExample TFRecord '
                    '(e.g. the corpus\'s eval_melodies.tfrecord): js_*_vs_reference too.')
flags.DEFINE_integer('batch_size', 8192, 'Compositions per graph call.')
flags.DEFINE_string('key', 'C', 'Key of the statistics: C, C#, Db, ... B, or X_minor '
                    '(only for the Note RNN alone; tuned runs use their own).')
flags.DEFINE_integer('num_notes', 32, 'Notes per composition (Note RNN alone).')
flags.DEFINE_enum('priming_mode', 'random_note',
                  ['random_note', 'single_midi', 'random_midi', 'primer_melody'],
                  'How each composition is primed (Note RNN alone).')
flags.DEFINE_string('midi_primer', None, 'MIDI primer for --priming_mode=single_midi.')
flags.DEFINE_string('primer_midi', None, 'melody_rnn_generate\'s name for --midi_primer.')
flags.DEFINE_string('training_file_list', None,
                    'SequenceExample TFRecord for --priming_mode=random_midi.')
flags.DEFINE_list('primer_melody', None,
                  'Melody events for --priming_mode=primer_melody, e.g. "[60, -2, 62]".')

flags.DEFINE_string('reward_rule_module', None,
                    'A .py file or dotted module registering your own reward rules with '
                    '@rl_tuner.reward_rule (this runs its code). Needed to evaluate a run '
                    'trained with --reward_rule_module; a run dir\'s module is never imported '
                    'without this flag.')
flags.DEFINE_string('chord_progression', None,
                    'Chords, one per 16-step bar, e.g. "C G Am F" (Note RNN alone; tuned '
                    'runs use their own): adds the chord_tone statistics.')

_MAX_COMPOSITIONS = 2000000  # notes and log p of 2M x 32 take 0.5 GB
_MAX_BATCH = 65536
_RUN_SETTING_FLAGS = ('key', 'num_notes', 'priming_mode', 'midi_primer',
                      'training_file_list', 'primer_melody', 'note_rnn_checkpoint',
                      'chord_progression')


def _explicit_settings():
  """The run settings the user gave (flags that are present), by config.json name."""
  if FLAGS['primer_midi'].present and FLAGS['midi_primer'].present:
    raise FlagError('primer_midi', 'give --midi_primer or --primer_midi, not both')
  explicit = {}
  for name in _RUN_SETTING_FLAGS:
    if FLAGS[name].present:
      explicit[name] = FLAGS[name].value
  if FLAGS['primer_midi'].present:
    explicit['midi_primer'] = FLAGS.primer_midi
  if 'primer_melody' in explicit:
    explicit['primer_melody'] = priming_lib.parse_primer_melody(FLAGS.primer_melody)
  return explicit


def _check_writable(path):
  """Creates the output dir and writes a probe, so a bad dir fails before the work."""
  try:
    os.makedirs(path, exist_ok=True)
    probe = os.path.join(path, '.write_probe')
    with open(probe, 'w') as f:
      f.write('')
    os.remove(probe)
  except OSError as e:
    raise FlagError('output_dir', 'cannot write to %s: %s' % (path, e.strerror or e))


def _main(argv):
  if len(argv) > 1:
    raise FlagError('run_dir', 'unexpected arguments: %s' % ' '.join(argv[1:]))
  if not FLAGS.output_dir:
    raise FlagError('output_dir', 'is required')
  if not 1 <= FLAGS.num_compositions <= _MAX_COMPOSITIONS:
    raise FlagError('num_compositions', 'must be in [1, %d], got %d' % (_MAX_COMPOSITIONS,
                                                              FLAGS.num_compositions))
  if not 1 <= FLAGS.batch_size <= _MAX_BATCH:
    raise FlagError('batch_size', 'must be in [1, %d], got %d' % (_MAX_BATCH, FLAGS.batch_size))
  if not 0 <= FLAGS.seed < 2**63:
    raise FlagError('seed', 'must be in [0, 2**63), got %d' % FLAGS.seed)
  if os.path.exists(FLAGS.output_dir) and not os.path.isdir(FLAGS.output_dir):
    raise FlagError('output_dir', 'exists and is not a directory: %s' % FLAGS.output_dir)
  if not 1 <= FLAGS.num_notes <= 512:
    raise FlagError('num_notes', 'must be in [1, 512], got %d' % FLAGS.num_notes)
  from rl_tuner.evaluate import runs as runs_lib  # pylint: disable=g-import-not-at-top
  from rl_tuner.music import rules  # pylint: disable=g-import-not-at-top
  try:
    rules.parse_key(FLAGS.key)
  except ValueError as e:
    raise FlagError('key', str(e))
  for name in ('midi_primer', 'primer_midi', 'training_file_list', 'reference_melodies'):
    if FLAGS[name].value and not os.path.isfile(FLAGS[name].value):
      raise FlagError(name, 'no such file: %s' % FLAGS[name].value)
  if FLAGS.note_rnn_checkpoint:
    path = FLAGS.note_rnn_checkpoint
    if not (os.path.exists(path) or os.path.exists(path + '.index')):
      raise FlagError('note_rnn_checkpoint', 'no such file, directory or checkpoint prefix: %s' % path)
  config = runs_lib.EvaluationConfig(
      output_dir=FLAGS.output_dir, run_dirs=list(FLAGS.run_dir),
      explicit=_explicit_settings(), semantics=FLAGS.semantics, policy=FLAGS.policy,
      num_compositions=FLAGS.num_compositions, seed=FLAGS.seed,
      save_compositions=FLAGS.save_compositions,
      reference_melodies=FLAGS.reference_melodies, batch_size=FLAGS.batch_size,
      reward_rule_module=FLAGS.reward_rule_module)
  if FLAGS.chord_progression:
    from rl_tuner.music import chords  # pylint: disable=g-import-not-at-top
    chords.parse_progression(FLAGS.chord_progression)
  try:
    # every conflict, and every run's rules, before anything is loaded
    runs_lib.active_rules(config, runs_lib.resolve_models(config))
    _check_writable(FLAGS.output_dir)
    result = runs_lib.run_evaluation(
        config, log=lambda line: print(line, file=sys.stderr, flush=True))
  except OSError as e:
    raise FlagError('output_dir', 'cannot write the results to %s: %s' % (FLAGS.output_dir, e))
  from rl_tuner.evaluate import scoring  # pylint: disable=g-import-not-at-top
  print(scoring.markdown_table(result))
  print('Wrote %s (%.1f s in all)' % (FLAGS.output_dir, time.perf_counter() - _START),
        file=sys.stderr)


main, run = errors.entry_points(TOOL, _main)


if __name__ == '__main__':
  run()
