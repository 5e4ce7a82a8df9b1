"""Time to quality: training seconds until the tuned model holds the quality bar.

  .venv/bin/python bench/time_to_quality.py                       # ours, configs/q_fast.cfg
  nice .venv/bin/python bench/time_to_quality.py --baseline --repeats=3
  nice .venv/bin/python bench/time_to_quality.py --goal=stay_music \
      --configs=q_fast,psi_fast,g_fast,ppo --json_out=bench/results/FILE.jsonl

`--goal=stay_music` (issues 13 and 15) times ours alone on the shipped configs as they
are, against issue 13's whole goal in `corrected` statistics; see bench/ttq_goal.py.
The rest of this docstring is the default, `--goal=legacy_bar`.

Issue 7. Both sides optimise the same objective (lambda 1.0, gamma 0.95,
music_theory_all, random_note priming, 32 notes, legacy rewards, the same Note
RNN weights); this script forces those values over whatever `--flagfile` says,
so only the learning machinery differs. Every `--check_every` environment steps
the training clock pauses and 2,000 compositions are sampled from the policy,
scored with `legacy` statistics (and, ours only, their mean log p under the
Note RNN), and compared with the bar of `bench/quality_bar.py` (rule figures and a
diversity floor against the untuned model drawn the same way). Time to
quality is the training time at the first of two consecutive passing checks.
The clock starts at the first environment step (imports and model
construction excluded, tracing and compilation included) and excludes the
checks, whose time is reported apart.

Ours runs `rl_tuner.rl.trainer.train_eval` in a fresh subprocess per repeat (so every
repeat pays its own tracing, and peak RSS is per run). `--baseline` also runs
the original (`bench/baseline_time_to_quality.py` under `.venv-baseline`) in
the same invocation, on our Note RNN exported to the layout the original's
NoteRNNLoader restores, and scores the original's compositions' log p with our
port of the same Note RNN. If the original misses the bar by its 400k-step cap,
its time at the cap is used and the ratio is reported as a lower bound.

Stdout gets one JSON line per check (`"side": "ours" | "baseline"`), one per
finished run, and a final line with the medians over `--repeats`.
"""

import argparse
import importlib.util
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
# bench/ holds scripts named like the packages (bench/note_rnn.py, bench/rl_tuner.py):
# keep it off the import path so `import note_rnn` finds the package.
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != HERE]
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')


def _load_bench_module(name):
  spec = importlib.util.spec_from_file_location(name, os.path.join(HERE, name + '.py'))
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


quality_bar = _load_bench_module('quality_bar')
ttq_goal = _load_bench_module('ttq_goal')

SHARED = os.path.join(os.path.dirname(REPO), 'shared')
BASELINE_PYTHON = os.path.join(REPO, '.venv-baseline', 'bin', 'python')
BASELINE_DRIVER = os.path.join(HERE, 'baseline_time_to_quality.py')

# The objective both sides optimise (issue 7), forced over any flagfile.
FORCED = {
    'reward_scaler': 1.0,
    'discount_rate': 0.95,
    'reward_mode': 'music_theory_all',
    'priming_mode': 'random_note',
    'num_notes': 32,
    'semantics': 'legacy',
    'key': 'C',
}
EVAL_SEMANTICS = 'legacy'
EVAL_POLICY = 'sample'
GOALS = ('legacy_bar', 'stay_music')
LEGACY_MAX_STEPS = 400000


def default_flagfile() -> str:
  fast = os.path.join(REPO, 'configs', 'q_fast.cfg')
  return fast if os.path.exists(fast) else os.path.join(REPO, 'configs', 'q.cfg')


def parse_args(argv):
  p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  p.add_argument('--flagfile', default=None,
                 help='bin/train_rl_tuner flagfile for ours (default configs/q_fast.cfg, '
                      'else configs/q.cfg); the objective flags are forced over it.')
  p.add_argument('--check_every', type=int, default=5000,
                 help='Env steps between checks of ours.')
  p.add_argument('--baseline_check_every', type=int, default=10000,
                 help='Env steps between checks of the original (its output_every_nth).')
  p.add_argument('--goal', choices=GOALS, default='legacy_bar',
                 help='legacy_bar: the shared objective and the bar of bench/quality_bar.py '
                      '(side by side with the original); stay_music: ours on its shipped '
                      '--configs against issue 13\'s whole goal (bench/ttq_goal.py).')
  p.add_argument('--configs', default='q_fast,psi_fast,g_fast,ppo',
                 help='--goal=stay_music: comma-separated configs/ names or flagfiles, '
                      'timed in turn.')
  p.add_argument('--max_steps', type=int, default=None,
                 help='Cap on env steps of ours (legacy_bar: 400,000; stay_music: each '
                      'config\'s own --num_steps).')
  p.add_argument('--baseline_max_steps', type=int, default=400000,
                 help='Cap on env steps of the original.')
  p.add_argument('--num_compositions', type=int, default=quality_bar.DEFAULT_NUM_COMPOSITIONS,
                 help='Compositions per check (both sides).')
  p.add_argument('--repeats', type=int, default=1, help='Runs of each side; medians.')
  p.add_argument('--baseline', action='store_true',
                 help='Also run the original in this invocation and print the ratio.')
  p.add_argument('--baseline_only', action='store_true',
                 help='Run only the original (with its log p under our Note RNN).')
  p.add_argument('--note_rnn', default=None,
                 help='Note RNN for both sides (default: the flagfile\'s, else the '
                      'shipped one).')
  p.add_argument('--seed', type=int, default=1, help='Seed of repeat 0 (+1 per repeat).')
  p.add_argument('--run_to_cap', action='store_true',
                 help='Keep training after the bar holds (to see whether it stays).')
  p.add_argument('--work_dir', default=None,
                 help='Keep run dirs and compositions here (default: a temp dir, removed).')
  p.add_argument('--json_out', default=None, help='Also append every line to this file.')
  p.add_argument('--worker', choices=['ours'], default=None, help=argparse.SUPPRESS)
  p.add_argument('--worker_out_dir', default=None, help=argparse.SUPPRESS)
  args = p.parse_args(argv)
  for name in ('check_every', 'baseline_check_every', 'max_steps', 'baseline_max_steps',
               'num_compositions', 'repeats'):
    if getattr(args, name) is not None and getattr(args, name) < 1:
      p.error('--%s must be >= 1' % name)
  if args.goal == 'stay_music' and args.worker:
    return args  # the parent gave one resolved --flagfile
  if args.goal == 'stay_music':
    if args.baseline or args.baseline_only or args.flagfile:
      p.error('--goal=stay_music times ours on --configs alone (no --baseline, --flagfile)')
    try:
      args.flagfiles = [ttq_goal.resolve_flagfile(REPO, name)
                        for name in args.configs.split(',') if name]
    except FileNotFoundError as e:
      p.error('--configs: %s does not exist' % e)
    if not args.flagfiles:
      p.error('--configs: no config given')
    return args
  if args.max_steps is None:
    args.max_steps = LEGACY_MAX_STEPS
  if args.flagfile is None:
    args.flagfile = default_flagfile()
  if not os.path.isfile(args.flagfile):
    p.error('--flagfile=%s does not exist' % args.flagfile)
  if (args.baseline or args.baseline_only) and not os.path.exists(BASELINE_PYTHON):
    p.error('--baseline needs %s: run `bash ../shared/baseline/setup.sh .venv-baseline`'
            % BASELINE_PYTHON)
  return args


def peak_rss_mib() -> float:
  return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


# ---------------------------------------------------------------------------- ours


def build_config(flagfile: str, overrides: dict):
  """RLTunerConfig from a flagfile of bin/train_rl_tuner, with `overrides` forced."""
  from rl_tuner import config as config_lib  # pylint: disable=g-import-not-at-top
  config = config_lib.from_flagfile(flagfile, **overrides)
  if (config.canonical_algorithm in config_lib.ALGORITHMS_WITHOUT_LOG_P
      and config.reward_mode == FORCED['reward_mode']):
    # g and pure_rl optimise the same objective with log p in the target (g) or
    # nowhere (pure_rl): their reward is lambda * R_MT (music_theory_only).
    config.reward_mode = None
  return config


class Checker:
  """The on_check hook: pauses the training clock and asks `judge` whether the check passes.

  `judge(step_model, seed, save_to)` returns (figures, failed criteria, eval seconds);
  `record_extra` is added to every check line.
  """

  def __init__(self, *, judge, record_extra, max_steps, seed, run_to_cap, emit, out_dir):
    self.judge = judge
    self.record_extra = record_extra
    self.max_steps = max_steps
    self.seed = seed
    self.run_to_cap = run_to_cap
    self.emit = emit
    self.out_dir = out_dir
    self.checks = []
    self.start = None
    self.paused = 0.0
    self.cpu_start = None
    self.cpu_paused = 0.0

  def training_seconds(self, now: float) -> float:
    return now - self.start - self.paused

  def __call__(self, env_steps, step_model):
    entered = time.perf_counter()
    cpu_entered = time.process_time()
    if self.start is None:  # the call before the first env step starts the clock
      self.start, self.cpu_start = entered, cpu_entered
    try:
      return self._check(int(env_steps), step_model, entered, cpu_entered)
    finally:
      self.paused += time.perf_counter() - entered
      self.cpu_paused += time.process_time() - cpu_entered

  def _check(self, env_steps, step_model, entered, cpu_entered):
    figures, failed, eval_seconds = self.judge(
        step_model, self.seed * 1000 + len(self.checks),
        os.path.join(self.out_dir, 'check_%d.npz' % env_steps) if self.out_dir else None)
    record = {'side': 'ours', 'check': len(self.checks), 'steps': env_steps,
              'train_seconds': round(self.training_seconds(entered), 3),
              'train_cpu_seconds': round(cpu_entered - self.cpu_start - self.cpu_paused, 3),
              'eval_seconds': round(eval_seconds, 3), 'passed': not failed,
              'failed': failed, 'figures': figures}
    record.update(self.record_extra)
    record.update(peak_rss_mib=round(peak_rss_mib(), 1),
                  load_average=ttq_goal.load_average())
    self.checks.append(record)
    self.emit(record)
    held = quality_bar.time_to_quality(self.checks)
    return bool((held is not None and not self.run_to_cap) or env_steps >= self.max_steps)


class LegacyBarJudge:
  """The bar of bench/quality_bar.py on `legacy` statistics (the side-by-side objective)."""

  def __init__(self, prior, *, note_rnn_log_p, note_rnn_distinct_8grams, num_compositions):
    self.prior = prior
    self.note_rnn_log_p = note_rnn_log_p
    self.note_rnn_distinct_8grams = note_rnn_distinct_8grams
    self.num_compositions = num_compositions

  def __call__(self, step_model, seed, save_to=None):
    figures, eval_seconds = evaluate_step_model(
        step_model, self.prior, num_compositions=self.num_compositions, seed=seed,
        save_to=save_to)
    failed = quality_bar.failed_criteria(figures, self.note_rnn_log_p,
                                         self.note_rnn_distinct_8grams)
    figures = {k: figures[k] for k in quality_bar.BAR_KEYS + ('mean_log_p',)
               + quality_bar.DIVERSITY_KEYS}
    return figures, failed, eval_seconds


def evaluate_step_model(step_model, prior, *, num_compositions, seed, save_to=None):
  """Samples compositions, returns (bar figures + mean_log_p, seconds)."""
  import numpy as np  # pylint: disable=g-import-not-at-top
  from rl_tuner.evaluate import sampling  # pylint: disable=g-import-not-at-top
  t0 = time.perf_counter()
  priming, notes = sampling.generate_compositions(
      step_model, num_compositions, num_notes=FORCED['num_notes'],
      priming_mode='random_note', policy=EVAL_POLICY, seed=seed,
      semantics=EVAL_SEMANTICS)
  figures = composition_figures(notes)
  figures.update(quality_bar.diversity_figures(notes.tolist()))
  figures['mean_log_p'] = round(float(np.mean(
      sampling.score_log_p(prior, priming, notes))), 4)
  if save_to:
    np.savez_compressed(save_to, priming=priming, notes=notes)
  return figures, time.perf_counter() - t0


def composition_figures(notes) -> dict:
  from rl_tuner.music import statistics  # pylint: disable=g-import-not-at-top
  stats = statistics.composition_stats(notes, key=FORCED['key'], semantics=EVAL_SEMANTICS)
  return {k: (None if v is None else round(float(v), 6)) for k, v in stats.items()
          if not isinstance(v, dict)}


def note_rnn_reference(prior, num_compositions, seed):
  """(mean log p per note, distinct 8-grams) of the Note RNN's own samples (the bar's reference)."""
  import numpy as np  # pylint: disable=g-import-not-at-top
  from rl_tuner.evaluate import sampling  # pylint: disable=g-import-not-at-top
  _, notes, log_p = sampling.generate_compositions(
      prior, num_compositions, num_notes=FORCED['num_notes'], priming_mode='random_note',
      policy=EVAL_POLICY, seed=seed, semantics=EVAL_SEMANTICS, return_log_p=True)
  return (float(np.mean(log_p)),
          quality_bar.diversity_figures(notes.tolist())['distinct_8grams'])


def note_rnn_location(value):
  """A `--note_rnn_checkpoint` value -> a `note_rnn.load` path (None: shipped)."""
  return None if value in (None, '', 'shipped') else value


def run_ours_worker(args, emit) -> dict:
  """One run of ours in this process; returns the run's summary record."""
  import note_rnn  # pylint: disable=g-import-not-at-top
  from rl_tuner.rl import trainer  # pylint: disable=g-import-not-at-top
  overrides = dict(FORCED)
  overrides['seed'] = args.seed
  overrides['num_steps'] = args.max_steps
  overrides['output_dir'] = os.path.join(args.worker_out_dir, 'run')
  overrides['overwrite'] = True
  if args.note_rnn:
    overrides['note_rnn_checkpoint'] = args.note_rnn
  config = build_config(args.flagfile, overrides)
  prior = note_rnn.load(note_rnn_location(config.note_rnn_checkpoint))
  reference, reference_8grams = note_rnn_reference(prior, args.num_compositions,
                                                   seed=args.seed + 7919)
  judge = LegacyBarJudge(prior, note_rnn_log_p=reference,
                         note_rnn_distinct_8grams=reference_8grams,
                         num_compositions=args.num_compositions)
  checker = Checker(judge=judge, record_extra={
      'note_rnn_log_p': round(reference, 4), 'note_rnn_distinct_8grams': reference_8grams},
                    max_steps=args.max_steps, seed=args.seed, run_to_cap=args.run_to_cap,
                    emit=emit, out_dir=args.worker_out_dir)
  t0 = time.perf_counter()
  trainer.train_eval(config, on_check=checker, check_every=args.check_every)
  wall = time.perf_counter() - t0
  return summarise('ours', checker.checks, extra={
      'flagfile': os.path.relpath(args.flagfile, REPO), 'seed': args.seed,
      'note_rnn_log_p': round(reference, 4), 'wall_seconds_train_eval': round(wall, 3),
      'peak_rss_mib': round(peak_rss_mib(), 1)})


def summarise(side, checks, extra) -> dict:
  ttq = quality_bar.time_to_quality(checks)
  closest = quality_bar.closest_check(checks)
  # The five figures alone (without ours-only log-p criterion): the part of the
  # bar the original is judged on, so the like-for-like comparison.
  five = quality_bar.time_to_quality(
      [{'passed': not [f for f in c['failed'] if f != 'mean_log_p']} for c in checks])
  out = {'side': side, 'run': True, 'reached': ttq is not None,
         'time_to_quality_s': checks[ttq]['train_seconds'] if ttq is not None else None,
         'time_to_quality_cpu_s': (checks[ttq].get('train_cpu_seconds')
                                   if ttq is not None else None),
         'steps_to_quality': checks[ttq]['steps'] if ttq is not None else None,
         'passing_checks': [checks[ttq], checks[ttq + 1]] if ttq is not None else [],
         'closest_check': checks[closest] if ttq is None and checks else None,
         'train_seconds_total': checks[-1]['train_seconds'] if checks else None,
         'steps_total': checks[-1]['steps'] if checks else None,
         'eval_seconds_total': round(sum(c['eval_seconds'] for c in checks), 3),
         'five_figures_reached': five is not None,
         'five_figures_time_s': checks[five]['train_seconds'] if five is not None else None,
         'five_figures_cpu_s': (checks[five].get('train_cpu_seconds')
                                if five is not None else None),
         'five_figures_steps': checks[five]['steps'] if five is not None else None,
         'five_figures_checks': [checks[five], checks[five + 1]] if five is not None else []}
  out.update(extra)
  return out


# ------------------------------------------------------------------------ baseline


def export_note_rnn_for_baseline(note_rnn_path, work_dir) -> str:
  """Our Note RNN in the original's checkpoint layout; returns the prefix."""
  import note_rnn  # pylint: disable=g-import-not-at-top
  from note_rnn import magenta_checkpoint  # pylint: disable=g-import-not-at-top
  model = note_rnn.load(note_rnn_path)
  out = os.path.join(work_dir, 'note_rnn_for_baseline')
  os.makedirs(out, exist_ok=True)
  prefix = os.path.join(out, 'model.ckpt')
  magenta_checkpoint.export_rl_tuner_checkpoint(model, prefix)
  return prefix


def run_baseline(args, seed, note_rnn_prefix, comp_dir, emit) -> dict:
  cmd = ['nice', BASELINE_PYTHON, BASELINE_DRIVER, '--note_rnn=' + note_rnn_prefix,
         '--check_every=%d' % args.baseline_check_every,
         '--max_steps=%d' % args.baseline_max_steps,
         '--num_compositions=%d' % args.num_compositions, '--seed=%d' % seed,
         '--compositions_dir=' + comp_dir]
  if args.run_to_cap:
    cmd.append('--run_to_cap')
  proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          cwd=REPO)
  final = None
  checks = []
  for line in proc.stdout:
    record = json.loads(line)
    if record.get('final'):
      final = record
    else:
      checks.append(record)
      emit(record)
  stderr = proc.stderr.read()
  if proc.wait() != 0 or final is None:
    raise RuntimeError('baseline driver failed (exit %s):\n%s' % (proc.returncode,
                                                                 stderr[-3000:]))
  return final


def score_baseline_log_p(final, note_rnn_path) -> None:
  """Adds the mean log p under our port of the Note RNN to the passing/closest checks."""
  import numpy as np  # pylint: disable=g-import-not-at-top
  import note_rnn  # pylint: disable=g-import-not-at-top
  from rl_tuner.evaluate import sampling  # pylint: disable=g-import-not-at-top
  prior = note_rnn.load(note_rnn_path)
  for check in final['passing_checks'] + ([final['closest_check']]
                                          if final.get('closest_check') else []):
    with np.load(check['compositions'], allow_pickle=False) as data:
      log_p = sampling.score_log_p(prior, data['priming'], data['notes'])
    check['figures']['mean_log_p'] = round(float(np.mean(log_p)), 4)


# ---------------------------------------------------------------------- orchestration


def median_or_none(values):
  values = [v for v in values if v is not None]
  return statistics.median(values) if values else None


def spawn_worker(cmd, emit, what) -> dict:
  """Runs a `--worker` subprocess, emits its lines, returns its run line."""
  proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, cwd=REPO)
  run = None
  for line in proc.stdout:
    if not line.startswith('{'):
      continue
    record = json.loads(line)
    if record.get('run'):
      run = record
    emit(record)
  if proc.wait() != 0 or run is None:
    raise SystemExit('%s failed with exit %s' % (what, proc.returncode))
  return run


def main(argv=None):
  args = parse_args(argv)
  lines_out = open(args.json_out, 'a') if args.json_out else None

  def emit(record):
    line = json.dumps(record)
    print(line, flush=True)
    if lines_out:
      lines_out.write(line + '\n')
      lines_out.flush()

  if args.worker == 'ours':
    emit(ttq_goal.run_worker(args, emit, sys.modules[__name__])
         if args.goal == 'stay_music' else run_ours_worker(args, emit))
    return

  work_dir = args.work_dir or tempfile.mkdtemp(prefix='ttq_')
  os.makedirs(work_dir, exist_ok=True)
  if args.goal == 'stay_music':
    ttq_goal.main(args, work_dir, emit, sys.modules[__name__])
    return
  note_rnn_path = note_rnn_location(
      args.note_rnn or build_config(args.flagfile, {}).note_rnn_checkpoint)
  ours_runs, base_runs = [], []
  prefix = None
  if args.baseline or args.baseline_only:
    prefix = export_note_rnn_for_baseline(note_rnn_path, work_dir)
  for r in range(args.repeats):
    seed = args.seed + r
    if not args.baseline_only:
      out_dir = os.path.join(work_dir, 'ours_%d' % r)
      os.makedirs(out_dir, exist_ok=True)
      cmd = [sys.executable, os.path.abspath(__file__), '--worker=ours',
             '--worker_out_dir=' + out_dir, '--flagfile=' + args.flagfile,
             '--check_every=%d' % args.check_every, '--max_steps=%d' % args.max_steps,
             '--num_compositions=%d' % args.num_compositions, '--seed=%d' % seed]
      if args.note_rnn:
        cmd.append('--note_rnn=' + args.note_rnn)
      if args.run_to_cap:
        cmd.append('--run_to_cap')
      run = spawn_worker(cmd, emit, 'ours (repeat %d)' % r)
      ours_runs.append(run)
    if args.baseline or args.baseline_only:
      comp_dir = os.path.join(work_dir, 'baseline_%d' % r)
      final = run_baseline(args, seed, prefix, comp_dir, emit)
      score_baseline_log_p(final, note_rnn_path)
      final.update(run=True)
      if not final['reached']:
        final['time_to_quality_s'] = final['train_seconds_total']  # a lower bound
      emit(final)
      base_runs.append(final)

  summary = {'final': True, 'flagfile': os.path.relpath(args.flagfile, REPO),
             'repeats': args.repeats, 'check_every': args.check_every,
             'num_compositions': args.num_compositions,
             'note_rnn': note_rnn_path or 'shipped (note_rnn/pretrained/rl_tuner_default)'}
  if ours_runs:
    summary.update(
        time_to_quality_s=(median_or_none([r['time_to_quality_s'] for r in ours_runs])
                           if all(r['reached'] for r in ours_runs) else None),
        ours_times=[r['time_to_quality_s'] for r in ours_runs],
        ours_steps_to_quality=[r['steps_to_quality'] for r in ours_runs],
        ours_reached=[r['reached'] for r in ours_runs],
        ours_passing_figures=[[c['figures'] for c in r['passing_checks']]
                              for r in ours_runs],
        ours_times_cpu=[r.get('time_to_quality_cpu_s') for r in ours_runs],
        ours_five_figures_time_s=median_or_none([r['five_figures_time_s'] for r in ours_runs])
        if all(r['five_figures_reached'] for r in ours_runs) else None,
        ours_five_figures_times=[r['five_figures_time_s'] for r in ours_runs],
        ours_five_figures_cpu=[r['five_figures_cpu_s'] for r in ours_runs],
        ours_five_figures_steps=[r['five_figures_steps'] for r in ours_runs],
        ours_five_figures=[[c['figures'] for c in r['five_figures_checks']]
                           for r in ours_runs],
        ours_closest_figures=[r['closest_check']['figures'] if r.get('closest_check') else None
                              for r in ours_runs],
        ours_peak_rss_mib=max(r['peak_rss_mib'] for r in ours_runs),
        ours_eval_seconds=[r['eval_seconds_total'] for r in ours_runs])
  if base_runs:
    summary.update(
        baseline_time_to_quality_s=median_or_none([r['time_to_quality_s']
                                                   for r in base_runs]),
        baseline_times=[r['time_to_quality_s'] for r in base_runs],
        baseline_steps_to_quality=[r['steps_to_quality'] for r in base_runs],
        baseline_reached=[r['reached'] for r in base_runs],
        baseline_passing_figures=[[c['figures'] for c in r['passing_checks']]
                                  or [r['closest_check']['figures']] for r in base_runs],
        baseline_times_cpu=[r.get('time_to_quality_cpu_s') or r.get('train_cpu_seconds_total')
                            for r in base_runs],
        baseline_mean_log_p=[[c['figures'].get('mean_log_p') for c in r['passing_checks']]
                             for r in base_runs],
        baseline_peak_rss_mib=max(r['peak_rss_mib'] for r in base_runs),
        baseline_eval_seconds=[r['eval_seconds_total'] for r in base_runs])
  if ours_runs and base_runs:
    ours_t = summary['time_to_quality_s']
    base_t = summary['baseline_time_to_quality_s']
    summary['ratio'] = round(base_t / ours_t, 2) if ours_t and base_t else None
    summary['ratio_is_lower_bound'] = not all(r['reached'] for r in base_runs)
    five_t = summary.get('ours_five_figures_time_s')
    summary['ratio_five_figures'] = round(base_t / five_t, 2) if five_t and base_t else None
    summary['ratios_five_figures'] = [
        round(b['time_to_quality_s'] / o['five_figures_time_s'], 2)
        if o['five_figures_reached'] and b['time_to_quality_s'] else None
        for o, b in zip(ours_runs, base_runs)]
    summary['ratios_five_figures_cpu'] = [
        round((b.get('time_to_quality_cpu_s') or b.get('train_cpu_seconds_total'))
              / o['five_figures_cpu_s'], 2)
        if o['five_figures_reached'] and o['five_figures_cpu_s'] else None
        for o, b in zip(ours_runs, base_runs)]
    summary['ratios'] = [round(b['time_to_quality_s'] / o['time_to_quality_s'], 2)
                         if o['reached'] and b['time_to_quality_s'] else None
                         for o, b in zip(ours_runs, base_runs)]
  emit(summary)


if __name__ == '__main__':
  main()
