#!/usr/bin/env python3
"""Training throughput of the RL Tuner: env-steps/s and gradient updates/s; JSON lines.

  .venv/bin/python bench/rl_tuner.py                 # ours, two batchings, same replay ratio
  nice .venv/bin/python bench/rl_tuner.py --baseline # also the original, in the same invocation

Each case builds `rl_tuner.rl.trainer.Tuner` (the networks, agent, batched collector
and episode replay buffer `train_eval` uses) on the same Note RNN and runs the
training loop's two halves for `--steps` environment steps: collect
`num_parallel_envs` whole episodes in one graph, score them with the vectorised
music-theory rules, add them to the replay buffer, then run the gradient steps
owed. Every case keeps the original's replay ratio, `batch_size /
train_every_n` = 32 / 5 = 6.4 transition-updates per env step:

  * `magenta_batching`: batch 32 (one episode) every 5 steps, as the original;
  * `large_batches`: batch 1,024 (32 episodes) every 160 steps: fewer, larger updates.

One warm-up round (tracing, and XLA compilation with `--xla`) runs first and is
reported apart (`warmup_seconds`); `steps_per_sec` is steady state, the way
`../shared/baseline/bench.py` times the original (after its graph is built).
`--baseline` runs `../shared/baseline/bench.py --algorithm=ALG --steps=N` under
`.venv-baseline` and prints `ratio` = ours / original env-steps/s for each case.
`peak_rss_mib` is the process's ru_maxrss (each case runs in its own process).

`--configs=basic_rnn,attention_rnn,lookback_rnn,mono_rnn` runs each case once per melody_rnn
config on a random model of that config with `--layer_sizes` (default 100: the basic model's),
so every config's env-steps/s stands beside basic's (`config` in each line);
`--note_rnns=a.mag,b.mag` adds trained checkpoints or bundles of any config (e.g. Magenta's
lookback_rnn and attention_rnn bundles) to the same invocation.

`--algorithm=ppo|grpo` times the on-policy tuner (`pg_trainer.PolicyGradientTuner`): one
case, `on_policy`: a round of `num_parallel_envs` episodes, then ppo_epochs x ppo_minibatches
PPO-clip steps (4 x 4, configs/ppo.cfg's), each on a quarter of the round's episodes:

  nice .venv/bin/python bench/rl_tuner.py --algorithm=ppo --xla --configs=basic_rnn \\
      --layer_sizes=32,32 --note_rnns=LOOKBACK.mag,ATTENTION.mag
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
SHARED = os.path.join(os.path.dirname(REPO), 'shared')
RESEARCH_CKPT = os.path.join(SHARED, 'data', 'checkpoints', 'rl_tuner_research',
                             'model.ckpt-1994')
CASES = {
    'magenta_batching': dict(batch_size=32, train_every_n=5),
    'large_batches': dict(batch_size=1024, train_every_n=160),
}
# ppo/grpo: one round = num_parallel_envs episodes, then ppo_epochs x ppo_minibatches steps.
PG_CASES = {'on_policy': dict(ppo_epochs=4, ppo_minibatches=4)}
PG_ALGORITHMS = ('ppo', 'grpo')


def peak_rss_mib() -> float:
  return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_case(args) -> dict:
  """One case in this process (the `--worker` mode)."""
  os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')
  sys.path.insert(0, REPO)
  import numpy as np  # pylint: disable=g-import-not-at-top
  import note_rnn  # pylint: disable=g-import-not-at-top
  from rl_tuner import config as config_lib  # pylint: disable=g-import-not-at-top
  from rl_tuner.rl import trainer  # pylint: disable=g-import-not-at-top
  on_policy = args.algorithm in PG_ALGORITHMS
  case = (PG_CASES if on_policy else CASES)[args.case]
  sizes = [int(u) for u in args.layer_sizes.split(',')]
  prior = (note_rnn.build(sizes, seed=args.seed, config=args.config)
           if args.note_rnn == 'random' else note_rnn.load(args.note_rnn))
  config = config_lib.RLTunerConfig(
      output_dir='/nonexistent', algorithm=args.algorithm, num_steps=args.steps,
      exploration_period=args.steps // 2, num_parallel_envs=args.num_parallel_envs,
      xla=args.xla, seed=args.seed, **case)
  config_lib.check(config)
  tuner = trainer.make_tuner(config, prior, None)
  round_steps = config.num_parallel_envs * config.num_notes

  def one_round():
    _, losses, _ = tuner.run_round()
    if losses.size and not np.all(np.isfinite(losses)):
      raise RuntimeError('non-finite loss')

  t0 = time.perf_counter()
  one_round()
  warmup = time.perf_counter() - t0
  updates0, steps0 = int(tuner.train_step.numpy()), int(tuner.env_steps.numpy())
  t0 = time.perf_counter()
  while int(tuner.env_steps.numpy()) - steps0 < args.steps:
    one_round()
  seconds = time.perf_counter() - t0
  steps = int(tuner.env_steps.numpy()) - steps0
  updates = int(tuner.train_step.numpy()) - updates0
  if on_policy:
    # Each gradient step trains on one minibatch of the round's episodes.
    transitions_per_update = round_steps // config.ppo_minibatches
    batching = dict(case, transition_updates_per_env_step=config.ppo_epochs)
  else:
    transitions_per_update = case['batch_size']
    batching = dict(case, transition_updates_per_env_step=case['batch_size']
                    / case['train_every_n'])
  return {
      'impl': 'rl_tuner', 'case': args.case, 'algorithm': args.algorithm, **batching,
      'num_parallel_envs': args.num_parallel_envs, 'xla': args.xla, 'steps': steps,
      'round_steps': round_steps, 'seconds': round(seconds, 3),
      'steps_per_sec': round(steps / seconds, 1),
      'gradient_updates': updates, 'updates_per_sec': round(updates / seconds, 1),
      'transition_updates_per_sec': round(updates * transitions_per_update / seconds, 1),
      'warmup_seconds': round(warmup, 3), 'peak_rss_mib': round(peak_rss_mib(), 1),
      'note_rnn': args.note_rnn, 'config': prior.config_name,
      'layer_sizes': list(prior.layer_sizes)}


def run_subprocess(argv) -> dict:
  out = subprocess.run(argv, capture_output=True, text=True, check=False)
  lines = [l for l in out.stdout.splitlines() if l.startswith('{')]
  if out.returncode != 0 or not lines:
    raise RuntimeError('%s failed (%d): %s' % (' '.join(argv[:3]), out.returncode,
                                               out.stderr[-2000:]))
  return json.loads(lines[-1])


def baseline(args) -> dict:
  python = os.path.join(REPO, '.venv-baseline', 'bin', 'python')
  if not os.path.exists(python):
    raise SystemExit('--baseline needs .venv-baseline: bash ../shared/baseline/setup.sh '
                     '.venv-baseline')
  argv = [python, os.path.join(SHARED, 'baseline', 'bench.py'), '--algorithm=%s'
          % args.algorithm, '--steps=%d' % args.baseline_steps, '--seed=%d' % args.seed]
  if args.note_rnn != 'random':
    argv.append('--note_rnn=%s' % args.note_rnn)
  return run_subprocess(argv)


def main():
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--algorithm', default='q',
                      choices=['q', 'psi', 'g', 'pure_rl'] + list(PG_ALGORITHMS))
  parser.add_argument('--steps', type=int, default=65536, help='timed env steps per case')
  parser.add_argument('--num_parallel_envs', type=int, default=256)
  parser.add_argument('--xla', action='store_true', help='XLA-compile the gradient steps')
  parser.add_argument('--cases', default=None,
                      help='default: %s (q, psi, g, pure_rl), %s (ppo, grpo)'
                      % (','.join(CASES), ','.join(PG_CASES)))
  parser.add_argument('--note_rnn', default=RESEARCH_CKPT if os.path.exists(
      RESEARCH_CKPT) else 'random', help='a checkpoint for note_rnn.load, or random')
  parser.add_argument('--seed', type=int, default=1)
  parser.add_argument('--configs', default='',
                      help='comma-separated melody_rnn configs: random models of each')
  parser.add_argument('--config', default='basic_rnn', help=argparse.SUPPRESS)
  parser.add_argument('--layer_sizes', default='100', help='of the random models')
  parser.add_argument('--note_rnns', default='',
                      help='comma-separated checkpoints/bundles (any config), each run beside '
                      'the --configs models in the same invocation')
  parser.add_argument('--baseline', action='store_true')
  parser.add_argument('--baseline_steps', type=int, default=10000)
  parser.add_argument('--case', help=argparse.SUPPRESS)
  parser.add_argument('--worker', action='store_true', help=argparse.SUPPRESS)
  args = parser.parse_args()
  if args.worker:
    print(json.dumps(run_case(args)))
    return
  if args.baseline and args.algorithm in PG_ALGORITHMS:
    parser.error('--baseline: the original has no %s' % args.algorithm)
  if args.cases is None:
    args.cases = ','.join(PG_CASES if args.algorithm in PG_ALGORITHMS else CASES)
  results = []
  models = [('random', config) for config in args.configs.split(',') if config]
  models += [(path, 'basic_rnn') for path in args.note_rnns.split(',') if path]
  if not models:
    models = [(args.note_rnn, args.config)]
  for note_rnn_arg, config in models:
    for case in args.cases.split(','):
      argv = [sys.executable, os.path.abspath(__file__), '--worker', '--case=%s' % case,
              '--algorithm=%s' % args.algorithm, '--steps=%d' % args.steps,
              '--num_parallel_envs=%d' % args.num_parallel_envs,
              '--note_rnn=%s' % note_rnn_arg, '--config=%s' % config,
              '--layer_sizes=%s' % args.layer_sizes,
              '--seed=%d' % args.seed] + (['--xla'] if args.xla else [])
      result = run_subprocess(argv)
      results.append(result)
      print(json.dumps(result), flush=True)
  if args.baseline:
    base = baseline(args)
    print(json.dumps(base), flush=True)
    for result in results:
      print(json.dumps({'ratio': round(result['steps_per_sec'] / base['steps_per_sec'], 2),
                        'case': result['case'], 'ours_steps_per_sec': result['steps_per_sec'],
                        'baseline_steps_per_sec': base['steps_per_sec'],
                        'ours_peak_rss_mib': result['peak_rss_mib'],
                        'baseline_peak_rss_mib': base['peak_rss_mib']}), flush=True)


if __name__ == '__main__':
  main()
