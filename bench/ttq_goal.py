"""`bench/time_to_quality.py --goal=stay_music`: ours on its shipped configs, whole goal.

Issues 13 and 15. Each config of `--configs` (names in configs/, e.g.
q_fast,psi_fast,g_fast,ppo, or flagfile paths) trains exactly as shipped — its own
rewards (`corrected`), algorithm, machinery and budget; only the seed, the run dir
and the end-of-run work (no final evaluation, no MIDI) are set — and every
`--check_every` env steps the training clock pauses while `--num_compositions`
compositions are sampled from the live policy and scored with the evaluation's own
code (`rl_tuner.evaluate.scoring.evaluate_model` and `add_figures_vs_note_rnn`,
`corrected` statistics) against the untuned Note RNN's drawn the same way once per
run. A check passes when `rl_tuner.music.goal.failed_criteria` is empty: the
acceptance figures, the diversity and realism floors, mean log p within 1.5 nats of
the Note RNN's, and for a run with a KL target (ppo) `kl_to_note_rnn_per_note`
within ±20 % of it. Time to quality is the training time at the first of two
consecutive passing checks (`quality_bar.time_to_quality`).

Every config runs in its own subprocess, in turn, in one invocation; every line
carries the load average, since the 2-core machine is shared.
"""

import os
import sys
import time


def load_average():
  return [round(x, 2) for x in os.getloadavg()]


def resolve_flagfile(repo: str, name: str) -> str:
  """A `--configs` item: a path, or the name of a file in configs/ (with or without .cfg)."""
  if os.path.isfile(name):
    return name
  path = os.path.join(repo, 'configs', name if name.endswith('.cfg') else name + '.cfg')
  if not os.path.isfile(path):
    raise FileNotFoundError(path)
  return path


def config_label(flagfile: str) -> str:
  return os.path.splitext(os.path.basename(flagfile))[0]


def build_config(flagfile: str, *, seed: int, output_dir: str, max_steps=None):
  """The shipped config, with only the run's bookkeeping set (no final evaluation)."""
  from rl_tuner import config as config_lib  # pylint: disable=g-import-not-at-top
  overrides = dict(seed=seed, output_dir=output_dir, overwrite=True,
                   final_eval_compositions=0, num_midi_compositions=0)
  if max_steps is not None:
    overrides['num_steps'] = max_steps
  return config_lib.from_flagfile(flagfile, **overrides)


def target_kl(config):
  from rl_tuner import config as config_lib  # pylint: disable=g-import-not-at-top
  if config.canonical_algorithm in config_lib.POLICY_GRADIENT_ALGORITHMS:
    return config.target_kl_per_note
  return None


class GoalJudge:
  """Scores a step model's compositions as the evaluation does and judges the goal."""

  SEMANTICS = 'corrected'

  def __init__(self, config, prior, *, num_compositions: int, seed: int):
    from rl_tuner.evaluate import scoring  # pylint: disable=g-import-not-at-top
    from rl_tuner.policy import priming  # pylint: disable=g-import-not-at-top
    self._scoring = scoring
    self.prior = prior
    self.num_compositions = num_compositions
    self.target_kl = target_kl(config)
    self._draw = dict(key=config.key, semantics=self.SEMANTICS, policy='sample',
                      num_notes=config.num_notes, priming_mode=config.priming_mode,
                      primers=priming.primer_rows(config.to_dict()),
                      num_compositions=num_compositions)
    self.note_rnn, self._note_rnn_notes = self._entry(prior, seed)
    scoring.add_figures_vs_note_rnn(self.note_rnn, self._note_rnn_notes, self.note_rnn,
                                    self._note_rnn_notes, is_note_rnn=True)

  def _entry(self, step_model, seed):
    entry, priming, notes = self._scoring.evaluate_model(
        step_model, self.prior, seed=seed, return_compositions=True, **self._draw)
    return entry, self._scoring.rule_layout_notes(step_model, priming, notes)

  def __call__(self, step_model, seed, save_to=None):
    """(figures, failed criteria, seconds) of one check."""
    from rl_tuner.music import goal  # pylint: disable=g-import-not-at-top
    t0 = time.perf_counter()
    entry, notes = self._entry(step_model, seed)
    self._scoring.add_figures_vs_note_rnn(entry, notes, self.note_rnn, self._note_rnn_notes,
                                          is_note_rnn=False)
    failed = goal.failed_criteria(entry, note_rnn_mean_log_p=self.note_rnn['mean_log_p'],
                                  target_kl_per_note=self.target_kl)
    if save_to:
      import numpy as np  # pylint: disable=g-import-not-at-top
      np.savez_compressed(save_to, notes=notes)
    figures = {k: _rounded(entry.get(k)) for k in figure_keys()}
    return figures, failed, time.perf_counter() - t0


def goal_criteria(target_kl_per_note):
  from rl_tuner.music import goal  # pylint: disable=g-import-not-at-top
  return goal.criteria(target_kl_per_note)


def figure_keys():
  """What each check line shows: every criterion's figure (the KL always), and a few more."""
  return goal_criteria(1.0) + ('entropy_per_note', 'distinct_8grams', 'js_pitch_classes',
                               'leaps_resolved')


def _rounded(value):
  return round(float(value), 6) if isinstance(value, (int, float)) else value


def criterion_progress(checks, ttq, keys):
  """(last_to_pass, held_from_steps) of a run whose goal held from check `ttq`.

  last_to_pass: the criteria that still failed at the check before the first passing
  one (that check always failed); held_from_steps: per criterion of `keys`, the env
  steps from which it passed at every check up to the two passing ones.
  """
  last = checks[ttq - 1]['failed'] if ttq > 0 else []
  held = {}
  for key in keys:
    start = ttq + 1
    while start > 0 and key not in checks[start - 1]['failed']:
      start -= 1
    held[key] = checks[start]['steps']
  return list(last), held


def summarise(label, checks, criteria, bar, extra) -> dict:
  """The run line of one config (`criteria`: the keys judged; `bar`: bench/quality_bar.py)."""
  ttq = bar.time_to_quality(checks)
  out = {'side': 'ours', 'goal': 'stay_music', 'config': label, 'run': True,
         'reached': ttq is not None}
  if ttq is not None:
    last, held = criterion_progress(checks, ttq, criteria)
    out.update(steps_to_quality=checks[ttq]['steps'],
               time_to_quality_s=checks[ttq]['train_seconds'],
               time_to_quality_cpu_s=checks[ttq]['train_cpu_seconds'],
               last_to_pass=last, held_from_steps=held,
               passing_checks=[checks[ttq], checks[ttq + 1]])
  else:
    closest = bar.closest_check(checks)
    out.update(closest_check=checks[closest] if closest is not None else None)
  out.update(steps_total=checks[-1]['steps'] if checks else None,
             train_seconds_total=checks[-1]['train_seconds'] if checks else None,
             train_cpu_seconds_total=checks[-1]['train_cpu_seconds'] if checks else None,
             eval_seconds_total=round(sum(c['eval_seconds'] for c in checks), 3),
             num_checks=len(checks), load_average_end=load_average())
  out.update(extra)
  return out


def final_summary(runs, args, note_rnn_path) -> dict:
  """The last line: one row per config and repeat, side by side."""
  rows = []
  for run in runs:
    row = {k: run.get(k) for k in ('config', 'seed', 'reached', 'steps_to_quality',
                                   'time_to_quality_s', 'time_to_quality_cpu_s',
                                   'last_to_pass', 'steps_total', 'train_seconds_total',
                                   'peak_rss_mib', 'load_average_start', 'load_average_end')}
    if run.get('passing_checks'):
      row['figures'] = run['passing_checks'][0]['figures']
    elif run.get('closest_check'):
      row['closest_failed'] = run['closest_check']['failed']
      row['closest_steps'] = run['closest_check']['steps']
      row['figures'] = run['closest_check']['figures']
    rows.append(row)
  return {'final': True, 'goal': 'stay_music', 'configs': [r['config'] for r in runs],
          'repeats': args.repeats, 'check_every': args.check_every,
          'num_compositions': args.num_compositions, 'semantics': GoalJudge.SEMANTICS,
          'note_rnn': note_rnn_path or 'shipped (note_rnn/pretrained/rl_tuner_default)',
          'note_rnn_mean_log_p': runs[0].get('note_rnn_mean_log_p') if runs else None,
          'load_average_end': load_average(), 'runs': rows}


# ------------------------------------------------------------ run and orchestrate
# `harness` is bench/time_to_quality.py itself (its clock, Checker and worker spawning).


def run_worker(args, emit, harness) -> dict:
  """One run of a shipped config against the whole goal, in this process."""
  import note_rnn  # pylint: disable=g-import-not-at-top
  from rl_tuner.rl import trainer  # pylint: disable=g-import-not-at-top
  load_start = load_average()
  config = build_config(args.flagfile, seed=args.seed, max_steps=args.max_steps,
                        output_dir=os.path.join(args.worker_out_dir, 'run'))
  if args.note_rnn:
    config.note_rnn_checkpoint = args.note_rnn
  prior = note_rnn.load(harness.note_rnn_location(config.note_rnn_checkpoint))
  judge = GoalJudge(config, prior, num_compositions=args.num_compositions,
                    seed=args.seed + 7919)
  label = config_label(args.flagfile)
  note_rnn_log_p = round(judge.note_rnn['mean_log_p'], 4)
  checker = harness.Checker(
      judge=judge, record_extra={'goal': 'stay_music', 'config': label,
                                 'note_rnn_mean_log_p': note_rnn_log_p},
      max_steps=config.num_steps, seed=args.seed, run_to_cap=args.run_to_cap, emit=emit,
      out_dir=args.worker_out_dir)
  t0 = time.perf_counter()
  trainer.train_eval(config, on_check=checker, check_every=args.check_every)
  wall = time.perf_counter() - t0
  criteria = list(goal_criteria(judge.target_kl))
  return summarise(label, checker.checks, criteria, harness.quality_bar, extra={
      'flagfile': os.path.relpath(args.flagfile, harness.REPO), 'seed': args.seed,
      'algorithm': config.canonical_algorithm, 'num_steps_cap': config.num_steps,
      'target_kl_per_note': judge.target_kl, 'criteria': criteria,
      'note_rnn_mean_log_p': note_rnn_log_p,
      'note_rnn_distinct_8grams': judge.note_rnn['distinct_8grams'],
      'wall_seconds_train_eval': round(wall, 3),
      'peak_rss_mib': round(harness.peak_rss_mib(), 1), 'load_average_start': load_start})


def main(args, work_dir, emit, harness) -> None:
  """Every config of --configs in turn (a subprocess each), then one summary line."""
  runs = []
  for flagfile in args.flagfiles:
    label = config_label(flagfile)
    for r in range(args.repeats):
      seed = args.seed + r
      out_dir = os.path.join(work_dir, '%s_%d' % (label, r))
      os.makedirs(out_dir, exist_ok=True)
      cmd = [sys.executable, os.path.abspath(harness.__file__), '--worker=ours',
             '--goal=stay_music', '--worker_out_dir=' + out_dir, '--flagfile=' + flagfile,
             '--check_every=%d' % args.check_every,
             '--num_compositions=%d' % args.num_compositions, '--seed=%d' % seed]
      for flag in ('max_steps', 'note_rnn'):
        if getattr(args, flag):
          cmd.append('--%s=%s' % (flag, getattr(args, flag)))
      if args.run_to_cap:
        cmd.append('--run_to_cap')
      runs.append(harness.spawn_worker(cmd, emit, '%s (repeat %d)' % (label, r)))
  emit(final_summary(runs, args, harness.note_rnn_location(args.note_rnn)))
