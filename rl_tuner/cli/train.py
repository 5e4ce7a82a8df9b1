"""`train_rl_tuner`: tunes a Note RNN with Q, Ψ, G or RL-only learning (Magenta's RL Tuner).

Writes under --output_dir only: config.json, checkpoints/, tb/, policy/ (a SavedModel export
for serving), note_rnn_export/ (not for g), compositions/*.mid, metrics.json and metrics.md.
Rerunning with the same --output_dir resumes from the last checkpoint; --overwrite starts
fresh.

Example:
  bin/train_rl_tuner --flagfile=configs/q.cfg --output_dir=runs/q \\
      --final_eval_compositions=10000

Your own reward rules (README "Write your own rule"):
  bin/train_rl_tuner --flagfile=configs/q_fast.cfg --output_dir=runs/penta \\
      --reward_rule_module=examples/my_rules.py --reward_rules=pentatonic:2,repetition:1

Every flag but --primer_midi is a field of `rl_tuner.config.RLTunerConfig`, which holds its
default and help. The defaults are Magenta's RLTuner constructor defaults (γ 0.95, λ 1.0,
ε-greedy 1.0 → 0.1, train every 5 steps, batch 32, replay 100k, Adam 1e-3, τ 0.01);
configs/q_paper.cfg holds the original script's values.

Exit status: 0 done, 2 a bad flag (one line naming it; nothing written), 3 the run diverged
(NaN/Inf; the last good checkpoint is kept).
"""

import os
import sys

from absl import flags

from pipelines import errors
from pipelines.errors import FlagError
from rl_tuner import config as config_lib
from rl_tuner.cli import config_flags
from rl_tuner.policy import priming as priming_lib

TOOL = 'train_rl_tuner'
EXIT_DIVERGED = 3
FLAGS = flags.FLAGS

config_flags.define_flags(config_lib.RLTunerConfig)
flags.DEFINE_string('primer_midi', None, 'melody_rnn_generate\'s name for --midi_primer.')


def build_config() -> config_lib.RLTunerConfig:
  """FLAGS -> a validated RLTunerConfig (FlagError naming the flag otherwise)."""
  if FLAGS.primer_midi and FLAGS.midi_primer:
    raise FlagError('primer_midi', 'give --midi_primer or --primer_midi, not both')
  values = config_flags.values_from_flags(config_lib.RLTunerConfig)
  values['midi_primer'] = FLAGS.midi_primer or FLAGS.primer_midi
  values['primer_melody'] = priming_lib.parse_primer_melody(FLAGS.primer_melody)
  values['output_dir'] = FLAGS.output_dir or ''
  config = config_lib.RLTunerConfig(**values)
  config_lib.check(config)
  return config


def _train(argv):
  if len(argv) > 1:
    raise FlagError('flagfile', 'unexpected arguments %s (flags need --)' % argv[1:])
  config = build_config()
  from note_rnn import run_common  # pylint: disable=g-import-not-at-top
  from rl_tuner.policy import layout  # pylint: disable=g-import-not-at-top
  from rl_tuner.rl import trainer  # pylint: disable=g-import-not-at-top
  try:
    result = trainer.train_eval(config)
  except run_common.TrainingDivergedError as e:
    print('%s: %s' % (TOOL, e), file=sys.stderr)
    sys.exit(EXIT_DIVERGED)
  print('done: %d env steps, %d gradient steps, %.1f s of training; outputs in %s' % (
      result['env_steps'], result['gradient_steps'], result['train_seconds'],
      result['run_dir']))
  if result['metrics']:
    with open(os.path.join(result['run_dir'], layout.METRICS_MD)) as f:
      print(f.read())


main, run = errors.entry_points(TOOL, _train, quiet_absl=True)


if __name__ == '__main__':
  run()
