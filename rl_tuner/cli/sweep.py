"""`sweep_rl_tuner`: the reward/diversity trade-off of the algorithms on one page.

Trains a grid — algorithm × reward scaler λ (× target KL per note for ppo/grpo) — for one
step budget, each run from `configs/<algorithm>.cfg` (when it exists) with the grid's
values and the budget on top, evaluates each, and writes under --output_dir:
runs/<name>/ (ordinary run dirs), sweep.json (one row per run plus the untuned Note RNN),
sweep.md (the table) and sweep.png (rule score against KL to the Note RNN and against the
distinct 8-grams ratio, the Pareto fronts marked).

Example:
  bin/sweep_rl_tuner --output_dir=out/sweep --algorithms=q,psi,g,pure_rl,ppo \\
      --reward_scalers=0.1,1 --target_kls=0.25,0.5,1 --num_steps=100000

The rule score is the mean unscaled corrected music-theory reward per note of the
sampled compositions (`rl_tuner.evaluate.tradeoff`). A rerun skips the runs that have
their row already (runs/<name>/sweep_row.json) and resumes an interrupted one.
"""

import json
import os

from absl import flags

from pipelines import errors
from pipelines import files
from pipelines.errors import FlagError

TOOL = 'sweep_rl_tuner'
FLAGS = flags.FLAGS
CONFIGS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), 'configs')
ROW_FILE = 'sweep_row.json'
PG = ('ppo', 'grpo', 'kl_pg')

flags.DEFINE_string('output_dir', None, 'Where the runs, sweep.json/.md/.png go.')
flags.DEFINE_list('algorithms', ['q', 'psi', 'g', 'pure_rl', 'ppo'], 'Algorithms of the grid.')
flags.DEFINE_list('reward_scalers', ['0.1', '1.0'], 'λ values of the grid.')
flags.DEFINE_list('target_kls', ['0.25', '0.5', '1.0'],
                  'Target KL per note (nats) values for ppo/grpo.')
flags.DEFINE_integer('num_steps', 100000, 'Environment steps of every run.')
flags.DEFINE_integer('num_compositions', 1000, 'Compositions per evaluation.')
flags.DEFINE_string('configs_dir', CONFIGS_DIR, 'Where <algorithm>.cfg base configs live.')
flags.DEFINE_string('note_rnn_checkpoint', None, 'The Note RNN to tune (default: shipped).')
flags.DEFINE_integer('num_parallel_envs', None, 'Override the configs\' value.')
flags.DEFINE_integer('seed', 1, 'Seed of every run and evaluation.')


def _floats(name: str):
  try:
    return [float(v) for v in FLAGS[name].value]
  except ValueError:
    raise FlagError(name, 'expects numbers, got %s' % ','.join(FLAGS[name].value)) from None


def grid():
  """[(name, config overrides, base flagfile or None)] of the sweep, checked."""
  from rl_tuner import config as config_lib  # pylint: disable=g-import-not-at-top
  if not FLAGS.output_dir:
    raise FlagError('output_dir', 'is required')
  out = []
  for algorithm in FLAGS.algorithms:
    if algorithm not in config_lib.ALGORITHMS + tuple(config_lib.ALGORITHM_ALIASES):
      raise FlagError('algorithms', 'unknown algorithm %r' % algorithm)
    targets = _floats('target_kls') if algorithm in PG else [None]
    base = os.path.join(FLAGS.configs_dir, algorithm + '.cfg')
    for scaler in _floats('reward_scalers'):
      for target in targets:
        name = '%s_l%g' % (algorithm, scaler) + ('' if target is None else '_kl%g' % target)
        overrides = dict(
            algorithm=algorithm, reward_scaler=scaler, num_steps=FLAGS.num_steps,
            output_dir=os.path.join(FLAGS.output_dir, 'runs', name), seed=FLAGS.seed,
            final_eval_compositions=FLAGS.num_compositions, num_midi_compositions=0,
            exploration_period=max(1, FLAGS.num_steps // 2))
        if target is not None:
          overrides['target_kl_per_note'] = target
        if FLAGS.note_rnn_checkpoint:
          overrides['note_rnn_checkpoint'] = FLAGS.note_rnn_checkpoint
        if FLAGS.num_parallel_envs:
          overrides['num_parallel_envs'] = FLAGS.num_parallel_envs
        config = (config_lib.from_flagfile(base, **overrides) if os.path.isfile(base)
                  else config_lib.RLTunerConfig(**overrides))
        config_lib.check(config)
        out.append((name, config))
  return out


def _sample(model, prior, settings, primers):
  from rl_tuner.evaluate import scoring  # pylint: disable=g-import-not-at-top
  return scoring.evaluate_model(
      model, prior, num_compositions=FLAGS.num_compositions, key=settings['key'],
      semantics='corrected', seed=FLAGS.seed, num_notes=int(settings['num_notes']),
      priming_mode=settings['priming_mode'], primers=primers, return_compositions=True)


def run_row(name, config, note_rnn_notes, log) -> dict:
  """Trains (or resumes) one run and measures it: its row of the table."""
  from rl_tuner.evaluate import tradeoff  # pylint: disable=g-import-not-at-top
  from rl_tuner.policy import layout  # pylint: disable=g-import-not-at-top
  from rl_tuner.policy import priming as priming_lib  # pylint: disable=g-import-not-at-top
  from rl_tuner.policy import step_models  # pylint: disable=g-import-not-at-top
  from rl_tuner.rl import trainer  # pylint: disable=g-import-not-at-top
  row_path = os.path.join(config.output_dir, ROW_FILE)
  if os.path.exists(row_path):
    with open(row_path) as f:
      return json.load(f)
  log('sweep: training %s' % name)
  result = trainer.train_eval(config, log=lambda line: log('  %s: %s' % (name, line)))
  entry = result['metrics'][os.path.basename(os.path.normpath(config.output_dir))]
  policy = step_models.load_policy(config.output_dir)
  settings = layout.read_run_config(config.output_dir)
  _, priming, notes = _sample(policy, policy.prior, settings,
                                    priming_lib.load_primers(settings))
  row = dict(name=name, algorithm=config.canonical_algorithm,
             reward_scaler=config.reward_scaler, target_kl_per_note=config.target_kl_per_note,
             train_seconds=result['train_seconds'], env_steps=result['env_steps'])
  row.update({k: v for k, v in entry.items() if isinstance(v, (int, float))})
  row['rule_score'] = tradeoff.rule_score(notes, key=settings['key'])
  row.update(tradeoff.fallback_figures(entry, policy=policy, prior=policy.prior,
                                       priming=priming, notes=notes,
                                       note_rnn_notes=note_rnn_notes(settings)))
  files.write_json_atomic(row_path, row)
  log('sweep: %s rule score %.3f, KL %.3f, distinct 8-grams ratio %.3f' % (
      name, row['rule_score'], row['kl_to_note_rnn_per_note'], row['distinct_8grams_ratio']))
  return row


class _NoteRnnReference:
  """The untuned Note RNN's compositions and row (computed once per Note RNN)."""

  def __init__(self):
    self._cache = {}

  def _get(self, settings):
    from rl_tuner.evaluate import tradeoff  # pylint: disable=g-import-not-at-top
    from rl_tuner.policy import priming as priming_lib  # pylint: disable=g-import-not-at-top
    from rl_tuner.policy import run_dir as run_dir_lib  # pylint: disable=g-import-not-at-top
    key = (str(settings.get('note_rnn_checkpoint')), settings['key'],
           int(settings['num_notes']), settings['priming_mode'])
    if key not in self._cache:
      prior = run_dir_lib.load_run_prior(settings)
      entry, _, notes = _sample(prior, prior, settings, priming_lib.load_primers(settings))
      row = dict(name='note_rnn', algorithm='note_rnn',
                 rule_score=tradeoff.rule_score(notes, key=settings['key']),
                 kl_to_note_rnn_per_note=0.0, distinct_8grams_ratio=1.0)
      row.update({k: v for k, v in entry.items()
                  if isinstance(v, (int, float)) and k not in row})
      self._cache[key] = (notes, row)
    return self._cache[key]

  def notes(self, settings):
    return self._get(settings)[0]

  def rows(self):
    return [row for _, row in self._cache.values()]


def sweep(log=print) -> list:
  """Runs the grid; writes sweep.json, sweep.md and sweep.png; returns the rows."""
  from rl_tuner.report import tradeoff as tradeoff_report  # pylint: disable=g-import-not-at-top
  runs = grid()
  os.makedirs(FLAGS.output_dir, exist_ok=True)
  reference = _NoteRnnReference()
  rows = [run_row(name, config, reference.notes, log) for name, config in runs]
  rows = reference.rows() + rows
  tradeoff_report.mark_fronts(rows)
  out = FLAGS.output_dir
  files.write_json_atomic(os.path.join(out, tradeoff_report.SWEEP_JSON), {
      'num_steps': FLAGS.num_steps, 'num_compositions': FLAGS.num_compositions,
      'seed': FLAGS.seed, 'rows': rows})
  title = ('Sweep: %d env steps per run, %d compositions per evaluation (corrected, '
           'sampled), seed %d.' % (FLAGS.num_steps, FLAGS.num_compositions, FLAGS.seed))
  files.write_text_atomic(os.path.join(out, tradeoff_report.SWEEP_MD),
                          tradeoff_report.markdown_table(rows, title=title))
  tradeoff_report.plot_tradeoff(rows, os.path.join(out, tradeoff_report.SWEEP_PNG))
  log('sweep: wrote %s' % ', '.join(os.path.join(out, n)
                                    for n in (tradeoff_report.SWEEP_JSON, tradeoff_report.SWEEP_MD,
                                              tradeoff_report.SWEEP_PNG)))
  return rows


def _main(argv):
  if len(argv) > 1:
    raise FlagError('output_dir', 'unexpected arguments %s (flags need --)' % argv[1:])
  sweep()


main, run = errors.entry_points(TOOL, _main, quiet_absl=True)


if __name__ == '__main__':
  run()
