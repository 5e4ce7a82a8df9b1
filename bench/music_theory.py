#!/usr/bin/env python3
"""Times the music-theory rewards and statistics; prints one JSON line per measurement.

  .venv/bin/python bench/music_theory.py
  .venv/bin/python bench/music_theory.py --batch=1024 --stats_compositions=100000 --repeats=7

Targets (issue 5/6 briefs): reward_components on [1024, 32] well under 30 ms;
composition_stats on [100000, 32] within a few seconds. Times are the median and
the minimum of `--repeats` runs after one warm-up, plus the minimum CPU time (the
machine is shared; numpy runs these single-threaded).
"""

import argparse
import json
import statistics
import time

import numpy as np

from rl_tuner.music import statistics as composition_statistics
from rl_tuner.music import rules


def melodies(num, length, seed):
  """Note-RNN-like rows: walks with holds and note-offs, some repeated bars."""
  rng = np.random.default_rng(seed)
  walk = np.clip(18 + np.cumsum(rng.integers(-4, 5, (num, length)), axis=1), 2, 37)
  specials = rng.integers(0, 2, (num, length))
  x = np.where(rng.random((num, length)) < 0.4, specials, walk)
  x[: num // 10, 16:] = x[: num // 10, :16]
  return x


def timed(fn, repeats):
  """Wall-clock median and minimum, and the minimum process CPU time (less
  sensitive to other processes on a shared machine)."""
  fn()
  times, cpu = [], []
  for _ in range(repeats):
    start, start_cpu = time.perf_counter(), time.process_time()
    fn()
    times.append(time.perf_counter() - start)
    cpu.append(time.process_time() - start_cpu)
  return {'median_ms': round(1e3 * statistics.median(times), 2),
          'min_ms': round(1e3 * min(times), 2), 'min_cpu_ms': round(1e3 * min(cpu), 2)}


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--batch', type=int, default=1024)
  parser.add_argument('--num_notes', type=int, default=32)
  parser.add_argument('--stats_compositions', type=int, default=100000)
  parser.add_argument('--repeats', type=int, default=7)
  args = parser.parse_args()
  x = melodies(args.batch, args.num_notes, seed=0)
  for semantics in rules.SEMANTICS:
    line = {'bench': 'reward_components', 'shape': list(x.shape), 'semantics': semantics}
    line.update(timed(lambda: rules.reward_components(
        x, key='C', semantics=semantics, num_notes=args.num_notes), args.repeats))
    print(json.dumps(line), flush=True)


  big = melodies(args.stats_compositions, args.num_notes, seed=1)
  for semantics in rules.SEMANTICS:
    line = {'bench': 'composition_stats', 'shape': list(big.shape), 'semantics': semantics}
    line.update(timed(lambda: composition_statistics.composition_stats(big, key='C', semantics=semantics),
                      max(1, args.repeats // 3)))
    print(json.dumps(line), flush=True)


if __name__ == '__main__':
  main()
