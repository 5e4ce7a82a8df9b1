#!/usr/bin/env python3
"""Times the evaluation: compositions generated and scored per second; one JSON line each.

  .venv/bin/python bench/evaluate.py
  .venv/bin/python bench/evaluate.py --baseline          # also the original, same Note RNN
  .venv/bin/python bench/evaluate.py --cli               # also the whole 100k command

"Generated and scored" is what `bin/evaluate_rl_tuner` does per model: sample 32 notes,
log p of every note under the prior Note RNN, and the Table-1 statistics. Two cases:

* `note_rnn`: the untuned model (its own log-probabilities come out of generation);
* `tuned`: a separate step model and prior (as for a tuned run: the prior is scored in a
  second pass). A copy of the Note RNN stands in for the policy, which costs the same.

Steady state: one warm-up call (tracing) first, then `--repeats` timed calls of
`--compositions` each; the median and the best are printed. `--baseline` runs the
original's `evaluate_music_theory_metrics` (`../shared/baseline/bench.py --mode=evaluate`,
which samples and scores one composition at a time) on the same Note RNN weights,
exported to the RL Tuner's TF1 checkpoint layout, and prints the ratio. The goal
(issue 6): >= 90x the original (~5,000/s on 2 cores), and the 100k command <= 30 s.

`--configs=basic_rnn,attention_rnn,lookback_rnn,mono_rnn` times both cases on a random model
(one layer of 100 units) of each melody_rnn config instead, so the other configs'
compositions/s (their classes decoded to events for the statistics) stand beside basic's.
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# bench/ holds scripts named like the packages (bench/note_rnn.py): import the packages.
sys.path[:] = [p for p in sys.path
               if os.path.abspath(p or '.') != os.path.dirname(os.path.abspath(__file__))]
sys.path.insert(0, REPO)
SHARED = os.path.join(os.path.dirname(REPO), 'shared')


def _load_note_rnn(path):
  import note_rnn  # pylint: disable=g-import-not-at-top
  if path == 'random':
    return note_rnn.build((100,), seed=1), 'random(100,)'
  try:
    return note_rnn.load(path), path or 'shipped'
  except FileNotFoundError:
    if path:
      raise
    return note_rnn.build((100,), seed=1), 'random(100,) (no shipped model yet)'


def time_ours(args, prior=None, desc=None):
  from rl_tuner.evaluate import scoring  # pylint: disable=g-import-not-at-top
  from rl_tuner.policy import encodings  # pylint: disable=g-import-not-at-top
  if prior is None:
    prior, desc = _load_note_rnn(args.note_rnn)
  policy = encodings.build_like(prior)
  results = []
  for case, step_model in (('note_rnn', prior), ('tuned', policy)):
    def run(n, seed):
      return scoring.evaluate_model(step_model, prior, num_compositions=n, seed=seed,
                                       batch_size=args.batch_size,
                                       semantics=args.semantics)
    t0 = time.perf_counter()
    run(args.compositions, 0)  # traces the batch shape the timed calls use
    warmup = time.perf_counter() - t0
    times = []
    for r in range(args.repeats):
      t0 = time.perf_counter()
      run(args.compositions, r + 1)
      times.append(time.perf_counter() - t0)
    line = dict(impl='rl_tuner', case=case, compositions=args.compositions,
                batch_size=args.batch_size, repeats=args.repeats,
                compositions_per_sec=round(args.compositions / statistics.median(times), 1),
                best_compositions_per_sec=round(args.compositions / min(times), 1),
                warmup_seconds=round(warmup, 2), note_rnn=desc, config=prior.config_name,
                semantics=args.semantics,
                load_average=round(os.getloadavg()[0], 1))
    print(json.dumps(line), flush=True)
    results.append(line)
  return prior, results


def time_baseline(args, prior):
  python = os.path.join(REPO, '.venv-baseline', 'bin', 'python')
  script = os.path.join(SHARED, 'baseline', 'bench.py')
  if not (os.path.exists(python) and os.path.exists(script)):
    print(json.dumps(dict(impl='magenta_rl_tuner', skipped='needs .venv-baseline and '
                          '../shared/baseline (bash ../shared/baseline/setup.sh '
                          '.venv-baseline)')), flush=True)
    return None
  from note_rnn import magenta_checkpoint  # pylint: disable=g-import-not-at-top
  with tempfile.TemporaryDirectory(prefix='bench_eval_') as tmp:
    prefix = magenta_checkpoint.export_rl_tuner_checkpoint(prior, os.path.join(tmp, 'model.ckpt'))
    command = [python, script, '--mode=evaluate', '--steps=0',
               '--compositions=%d' % args.baseline_compositions, '--note_rnn=' + tmp]
    done = subprocess.run(command, capture_output=True, text=True, timeout=3600, cwd=REPO)
    del prefix
  if done.returncode != 0:
    print(json.dumps(dict(impl='magenta_rl_tuner', error=done.stderr[-1500:])), flush=True)
    return None
  line = json.loads(done.stdout.strip().splitlines()[-1])
  line.pop('metrics', None)
  print(json.dumps(line), flush=True)
  return line


def time_cli(args):
  with tempfile.TemporaryDirectory(prefix='bench_eval_cli_') as tmp:
    command = [sys.executable, os.path.join(REPO, 'bin', 'evaluate_rl_tuner'),
               '--num_compositions=100000', '--save_compositions', '--output_dir=' + tmp]
    if args.note_rnn:
      command.append('--note_rnn_checkpoint=' + args.note_rnn)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, timeout=1200, cwd=REPO)
    seconds = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
  cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
  line = dict(impl='rl_tuner', case='cli_100k', command=' '.join(command[1:-1]),
              seconds=round(seconds, 2), cpu_seconds=round(cpu, 2),
              load_average=round(os.getloadavg()[0], 1), returncode=done.returncode)
  if done.returncode != 0:
    line['error'] = done.stderr[-1500:]
  print(json.dumps(line), flush=True)


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--compositions', type=int, default=50000)
  parser.add_argument('--batch_size', type=int, default=8192)
  parser.add_argument('--repeats', type=int, default=3)
  parser.add_argument('--semantics', default='corrected', choices=['corrected', 'legacy'])
  parser.add_argument('--note_rnn', default=None,
                      help='Note RNN path; default the shipped one; "random" for a random init')
  parser.add_argument('--baseline', action='store_true',
                      help='also time the original (needs .venv-baseline)')
  parser.add_argument('--baseline_compositions', type=int, default=300)
  parser.add_argument('--cli', action='store_true',
                      help='also time bin/evaluate_rl_tuner --num_compositions=100000 '
                      '--save_compositions end to end')
  parser.add_argument('--configs', default='',
                      help='comma-separated melody_rnn configs: random (100,) models of each')
  args = parser.parse_args()
  if args.configs:
    import note_rnn  # pylint: disable=g-import-not-at-top
    for config in args.configs.split(','):
      time_ours(args, note_rnn.build((100,), seed=1, config=config), 'random(100,)')
    return
  prior, ours = time_ours(args)
  if args.baseline:
    theirs = time_baseline(args, prior)
    if theirs and theirs.get('compositions_per_sec'):
      for line in ours:
        print(json.dumps(dict(
            ratio=line['case'], ours=line['compositions_per_sec'],
            original=theirs['compositions_per_sec'],
            speedup=round(line['compositions_per_sec'] / theirs['compositions_per_sec'], 1))),
              flush=True)
  if args.cli:
    time_cli(args)


if __name__ == '__main__':
  main()
