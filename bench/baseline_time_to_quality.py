"""Time to quality of the ORIGINAL Magenta RL Tuner (run with .venv-baseline).

The baseline half of `bench/time_to_quality.py`; it can also run alone:

  nice .venv-baseline/bin/python bench/baseline_time_to_quality.py \
      --note_rnn=../shared/data/checkpoints/rl_tuner_research \
      --compositions_dir=/tmp/ttq_baseline

It imports Magenta's code from `../shared/baseline/magenta_rl_tuner` the way
`../shared/baseline/bench.py` does (and reuses that script's checkpoint
preparation and Table-1 arithmetic), builds `RLTuner` with bench.py's settings
(constructor defaults; lambda 1.0, gamma 0.95, music_theory_all, random_note
priming, 32 notes, egreedy annealed over `--exploration_period` steps), and
makes ONE `train()` call, because every call restarts the exploration counter.

The instance's `evaluate_model` (which `train()` calls at its start and every
`output_every_nth` steps) is replaced by a quality check: the clock pauses,
`actions_executed_so_far` is saved, the original's own
`evaluate_music_theory_metrics(--num_compositions)` runs, and the counter is
restored, so evaluation neither costs training time nor advances epsilon. The
checkpoint writes that follow each periodic evaluation are timed apart too
(`checkpoint_seconds`); excluding them can only flatter the original.

Training stops after the bar (bench/quality_bar.py) holds at two consecutive
checks, or at `--max_steps`. Stdout gets one JSON line per check and a final
line; everything the original prints goes to stderr. With `--compositions_dir`
each check's compositions are saved as `check_<steps>.npz` (int arrays
`priming` [N] and `notes` [N, 32], no pickle) so that the project's own port of
the Note RNN can score their log p.
"""

import argparse
import contextlib
import json
import os
import random
import resource
import shutil
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
DEFAULT_BASELINE_DIR = os.path.join(os.path.dirname(REPO), 'shared', 'baseline')
DEFAULT_NOTE_RNN = os.path.join(os.path.dirname(REPO), 'shared', 'data', 'checkpoints',
                                'rl_tuner_research')
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
sys.path.insert(0, HERE)

import quality_bar  # noqa: E402  pylint: disable=g-import-not-at-top


class _StopTraining(Exception):
  """Raised from a check to end the single train() call early."""


class PausableClock:
  """Time of a span minus the nested spans spent in `paused()`.

  Keeps wall time (what the bench ranks) and this process's CPU time (all
  threads), which stays meaningful when other jobs share the cores.
  """

  def __init__(self, timer=time.perf_counter):
    self._timer = timer
    self._start = None
    self._paused_total = 0.0
    self._depth = 0
    self._pause_start = 0.0
    self.cpu = None if timer is time.process_time else PausableClock(time.process_time)

  def start(self) -> None:
    self._start = self._timer()
    if self.cpu:
      self.cpu.start()

  @contextlib.contextmanager
  def paused(self):
    if self._depth == 0:
      self._pause_start = self._timer()
    self._depth += 1
    try:
      if self.cpu:
        with self.cpu.paused():
          yield
      else:
        yield
    finally:
      self._depth -= 1
      if self._depth == 0:
        self._paused_total += self._timer() - self._pause_start

  def running_seconds(self) -> float:
    now = self._pause_start if self._depth else self._timer()
    return now - self._start - self._paused_total


def parse_args(argv):
  p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  p.add_argument('--note_rnn', default=DEFAULT_NOTE_RNN,
                 help='Note RNN checkpoint dir or prefix in the layout RLTuner restores '
                      '(TF 0.x research names are renamed as bench.py does).')
  p.add_argument('--baseline_dir', default=DEFAULT_BASELINE_DIR,
                 help='The kit folder holding bench.py and magenta_rl_tuner/.')
  p.add_argument('--check_every', type=int, default=10000,
                 help='Env steps between checks (the original\'s output_every_nth).')
  p.add_argument('--max_steps', type=int, default=400000, help='Cap on env steps.')
  p.add_argument('--exploration_period', type=int, default=100000,
                 help='Steps over which epsilon anneals from 1.0 to 0.1.')
  p.add_argument('--num_compositions', type=int, default=quality_bar.DEFAULT_NUM_COMPOSITIONS,
                 help='Compositions per check.')
  p.add_argument('--seed', type=int, default=1, help='Seeds numpy and random.')
  p.add_argument('--compositions_dir', default=None,
                 help='Save each check\'s compositions here as check_<steps>.npz.')
  p.add_argument('--run_to_cap', action='store_true',
                 help='Keep training after the bar holds (until --max_steps).')
  args = p.parse_args(argv)
  for name in ('check_every', 'max_steps', 'num_compositions'):
    if getattr(args, name) < 1:
      p.error('--%s must be >= 1' % name)
  if args.exploration_period < 0:
    p.error('--exploration_period must be >= 0')
  if not os.path.isfile(os.path.join(args.baseline_dir, 'bench.py')):
    p.error('--baseline_dir=%s has no bench.py' % args.baseline_dir)
  if not os.path.exists(args.note_rnn) and not os.path.exists(args.note_rnn + '.index'):
    p.error('--note_rnn=%s does not exist' % args.note_rnn)
  return args


def run(args, work_dir, emit):
  """Builds the original RLTuner, trains it once with checks; returns the final record."""
  sys.path.insert(0, args.baseline_dir)
  sys.path.insert(0, os.path.join(args.baseline_dir, 'magenta_rl_tuner'))
  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use('Agg')
  import numpy as np  # pylint: disable=g-import-not-at-top
  import tensorflow.compat.v1 as tf  # pylint: disable=g-import-not-at-top
  tf.disable_v2_behavior()
  tf.logging.set_verbosity(tf.logging.ERROR)
  import bench as kit_bench  # pylint: disable=g-import-not-at-top
  from magenta.models.rl_tuner import note_rnn_loader  # pylint: disable=g-import-not-at-top
  from magenta.models.rl_tuner import rl_tuner  # pylint: disable=g-import-not-at-top
  from magenta.models.rl_tuner import rl_tuner_ops  # pylint: disable=g-import-not-at-top

  np.random.seed(args.seed)
  random.seed(args.seed)
  ckpt_dir, sizes, prefix, _ = kit_bench.prepare_checkpoint(
      tf, note_rnn_loader, rl_tuner_ops, args.note_rnn, work_dir)
  hparams = None
  if sizes != rl_tuner_ops.default_hparams().rnn_layer_sizes:
    hparams = rl_tuner_ops.default_hparams()
    hparams.rnn_layer_sizes = sizes
  rlt = rl_tuner.RLTuner(
      os.path.join(work_dir, 'rl_tuner'),
      algorithm='q',
      note_rnn_checkpoint_dir=ckpt_dir,
      note_rnn_hparams=hparams,
      num_notes_in_melody=32,
      reward_scaler=1.0,
      output_every_nth=args.check_every)
  assert rlt.reward_mode == 'music_theory_all' and rlt.priming_mode == 'random_note'
  assert rlt.exploration_mode == 'egreedy' and rlt.dqn_hparams.discount_rate == 0.95

  clock = PausableClock()
  checks = []
  capture = {'on': False, 'priming': [], 'notes': []}
  if args.compositions_dir:
    os.makedirs(args.compositions_dir, exist_ok=True)

  original_prime = rlt.prime_internal_models

  def prime_and_record():
    # compose_and_evaluate_piece primes once per composition; the composition
    # left in rlt.composition at that moment is the previous one, complete.
    if capture['on'] and len(capture['priming']) > len(capture['notes']):
      capture['notes'].append(list(rlt.composition))
    obs = original_prime()
    if capture['on']:
      capture['priming'].append(int(np.argmax(obs)))
    return obs

  def check(*unused_args, **unused_kwargs):
    with clock.paused():
      steps = len(checks) * args.check_every
      t0 = time.perf_counter()
      saved_counter = rlt.actions_executed_so_far
      capture.update(on=True, priming=[], notes=[])
      try:
        stat_dict = rlt.evaluate_music_theory_metrics(num_compositions=args.num_compositions)
      finally:
        capture['on'] = False
        rlt.actions_executed_so_far = saved_counter
      capture['notes'].append(list(rlt.composition))
      eval_seconds = time.perf_counter() - t0
      figures = kit_bench.table1_metrics(stat_dict)
      figures.update(quality_bar.diversity_figures(capture['notes']))
      # Check 0 (step 0) samples the untuned Note RNN: the diversity floor's reference.
      reference_8grams = (checks[0]['figures']['distinct_8grams'] if checks
                          else figures['distinct_8grams'])
      failed = quality_bar.failed_criteria(figures, note_rnn_distinct_8grams=reference_8grams)
      record = {'side': 'baseline', 'check': len(checks), 'steps': steps,
                'train_seconds': round(clock.running_seconds(), 3),
                'train_cpu_seconds': round(clock.cpu.running_seconds(), 3),
                'eval_seconds': round(eval_seconds, 3),
                'checkpoint_seconds': round(checkpoint_seconds[0], 3),
                'epsilon': round(rl_tuner_ops.linear_annealing(
                    saved_counter if steps else 0, args.exploration_period, 1.0,
                    rlt.dqn_hparams.random_action_probability), 4),
                'passed': not failed, 'failed': failed,
                'figures': {k: figures[k] for k in quality_bar.BAR_KEYS
                            + quality_bar.DIVERSITY_KEYS},
                'other_figures': {k: v for k, v in figures.items()
                                  if k not in quality_bar.BAR_KEYS + quality_bar.DIVERSITY_KEYS},
                'peak_rss_mib': round(peak_rss_mib(), 1)}
      if args.compositions_dir:
        priming = np.asarray(capture['priming'], np.int32)
        notes = np.asarray(capture['notes'], np.int32)
        if priming.shape != (args.num_compositions,) or notes.shape != (
            args.num_compositions, 32):
          raise RuntimeError('captured compositions have shapes %s, %s'
                             % (priming.shape, notes.shape))
        path = os.path.join(args.compositions_dir, 'check_%d.npz' % steps)
        np.savez_compressed(path, priming=priming, notes=notes)
        record['compositions'] = path
      checks.append(record)
      emit(record)
      held = quality_bar.time_to_quality(checks)
      if (held is not None and not args.run_to_cap) or steps >= args.max_steps:
        raise _StopTraining()

  checkpoint_seconds = [0.0]

  def timed_apart(fn):
    def wrapper(*a, **kw):
      t0 = time.perf_counter()
      with clock.paused():
        try:
          return fn(*a, **kw)
        finally:
          checkpoint_seconds[0] += time.perf_counter() - t0
    return wrapper

  rlt.prime_internal_models = prime_and_record
  rlt.evaluate_model = check
  rlt.save_model = timed_apart(rlt.save_model)
  rlt.saver.save = timed_apart(rlt.saver.save)

  clock.start()
  try:
    # One call; +1 so that the check at exactly --max_steps runs (checks fire at
    # i % output_every_nth == 0 for 0 < i < num_steps).
    rlt.train(num_steps=args.max_steps + 1, exploration_period=args.exploration_period)
  except _StopTraining:
    pass
  rlt.session.close()

  ttq = quality_bar.time_to_quality(checks)
  closest = quality_bar.closest_check(checks)
  final = {'side': 'baseline', 'final': True, 'impl': 'magenta_rl_tuner',
           'note_rnn': prefix, 'check_every': args.check_every,
           'max_steps': args.max_steps, 'exploration_period': args.exploration_period,
           'num_compositions': args.num_compositions, 'seed': args.seed,
           'reached': ttq is not None,
           'time_to_quality_s': checks[ttq]['train_seconds'] if ttq is not None else None,
           'time_to_quality_cpu_s': (checks[ttq]['train_cpu_seconds']
                                     if ttq is not None else None),
           'steps_to_quality': checks[ttq]['steps'] if ttq is not None else None,
           'passing_checks': ([checks[ttq], checks[ttq + 1]] if ttq is not None else []),
           'closest_check': checks[closest] if ttq is None else None,
           'train_seconds_total': checks[-1]['train_seconds'],
           'train_cpu_seconds_total': checks[-1]['train_cpu_seconds'],
           'steps_total': checks[-1]['steps'],
           'eval_seconds_total': round(sum(c['eval_seconds'] for c in checks), 3),
           'checkpoint_seconds': round(checkpoint_seconds[0], 3),
           'peak_rss_mib': round(peak_rss_mib(), 1),
           'tensorflow': tf.__version__}
  return final


def peak_rss_mib():
  return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main(argv=None):
  args = parse_args(argv)
  out = sys.stdout

  def emit(record):
    out.write(json.dumps(record) + '\n')
    out.flush()

  work_dir = tempfile.mkdtemp(prefix='ttq_baseline_')
  try:
    with contextlib.redirect_stdout(sys.stderr):
      final = run(args, work_dir, emit)
  finally:
    shutil.rmtree(work_dir, ignore_errors=True)
  emit(final)


if __name__ == '__main__':
  main()
