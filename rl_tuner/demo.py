"""The demo's RL half: tune the shipped Note RNN briefly, evaluate both, write the report.

``bin/demo`` runs the pipelines on a slice of the bundled corpus first, then calls
``tune_evaluate_report``. Each stage logs a line when it starts and when it ends.
The tuning reads ``configs/q_fast.cfg`` when it exists, else ``configs/q.cfg``, and
overrides only the step budget (and where things go), so the demo trains exactly as
``bin/train_rl_tuner --flagfile=...`` would.
"""

import os
import time
from typing import Any, Callable, Dict, Optional

REPO_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG_CANDIDATES = ('q_fast.cfg', 'q.cfg')
# 24 rounds of 256 x 32: with corrected rewards q_fast.cfg meets issue 13's whole goal here
# (10,000 compositions: motif 72 %, tonic start 27 %, most common composition 0.03 %,
# distinct 8-grams 0.55x the Note RNN's, JS note lengths 0.29, intervals 0.21).
DEFAULT_NUM_STEPS = 196608
DEFAULT_NUM_COMPOSITIONS = 10000


class DemoError(RuntimeError):
  """A stage that cannot run; the message says what to do."""


def find_config(configs_dir: str = os.path.join(REPO_DIR, 'configs')) -> str:
  for name in CONFIG_CANDIDATES:
    path = os.path.join(configs_dir, name)
    if os.path.isfile(path):
      return path
  raise DemoError('no %s in %s' % (' or '.join(CONFIG_CANDIDATES), configs_dir))


def config_from_flagfile(path: str, **overrides):
  """Reads a ``bin/train_rl_tuner`` flagfile into an ``RLTunerConfig`` (then overrides).

  Raises:
    DemoError: a line that is not a flag of ``RLTunerConfig``, or a bad value.
  """
  from rl_tuner import config as config_lib  # pylint: disable=g-import-not-at-top
  try:
    return config_lib.from_flagfile(path, **overrides)
  except config_lib.FlagfileError as e:
    raise DemoError(str(e)) from None


def _stage(log, number: int, total: int, title: str):
  log('[%d/%d] %s ...' % (number, total, title))
  return time.perf_counter()


def tune_evaluate_report(output_dir: str, *, num_steps: int = DEFAULT_NUM_STEPS,
                         num_compositions: int = DEFAULT_NUM_COMPOSITIONS,
                         first_stage: int = 1, total_stages: Optional[int] = None,
                         note_rnn_checkpoint: Optional[str] = None,
                         log: Callable[[str], None] = print) -> Dict[str, Any]:
  """Tunes the shipped Note RNN with q, evaluates Note RNN vs tuned, writes the report.

  Args:
    output_dir: everything goes under it: ``q/`` (the run), ``eval/`` and
      ``eval_legacy/`` (the two evaluations), ``report/``.
    num_steps: the tuning budget in environment steps.
    num_compositions: compositions per model in each evaluation.
    first_stage, total_stages: numbering of the progress lines (bin/demo runs the
      pipelines first).
    note_rnn_checkpoint: the Note RNN to tune instead of the shipped one.
    log: where progress lines go.

  Returns:
    {'run_dir', 'eval_dir', 'report', 'ab', 'table'} (the table as Markdown).

  Raises:
    DemoError: the shipped Note RNN is missing, or a stage failed.
  """
  import note_rnn  # pylint: disable=g-import-not-at-top
  from rl_tuner.evaluate import runs as runs_lib  # pylint: disable=g-import-not-at-top
  from rl_tuner.evaluate import scoring  # pylint: disable=g-import-not-at-top
  from rl_tuner.report import pages as report_pages  # pylint: disable=g-import-not-at-top
  from rl_tuner.rl import trainer  # pylint: disable=g-import-not-at-top

  total = total_stages or first_stage + 3
  stage = first_stage
  where = note_rnn_checkpoint or note_rnn.default_model_dir()
  start = _stage(log, stage, total, 'loading the Note RNN (%s)' % where)
  try:
    prior = note_rnn.load(note_rnn_checkpoint)
  except (OSError, ValueError) as e:
    raise DemoError('the Note RNN cannot be loaded: %s' % e) from None
  log('      LSTM %s, loaded in %.1f s' % (list(prior.layer_sizes), time.perf_counter() - start))

  stage += 1
  config_path = find_config()
  run_dir = os.path.join(output_dir, 'q')
  config = config_from_flagfile(
      config_path, output_dir=run_dir, overwrite=True, num_steps=num_steps,
      note_rnn_checkpoint=note_rnn_checkpoint, final_eval_compositions=0,
      num_midi_compositions=3)
  # Explore as the flagfile says, but never for more than half of a short budget.
  config.exploration_period = min(config.exploration_period, num_steps // 2)
  start = _stage(log, stage, total, 'tuning it with q for %d environment steps (%s)'
                 % (num_steps, os.path.relpath(config_path, REPO_DIR)))
  try:
    result = trainer.train_eval(config, log=lambda line: log('      ' + line))
  except Exception as e:  # pylint: disable=broad-except
    raise DemoError('tuning failed: %s: %s' % (type(e).__name__, e)) from None
  log('      %d env steps, %d gradient steps in %.1f s; run dir %s' % (
      result['env_steps'], result['gradient_steps'], time.perf_counter() - start, run_dir))

  stage += 1
  start = _stage(log, stage, total, 'evaluating the Note RNN and the tuned model on %s '
                 'compositions each (corrected and legacy semantics)'
                 % '{:,}'.format(num_compositions))
  eval_dirs = {}
  for semantics, name in (('corrected', 'eval'), ('legacy', 'eval_legacy')):
    eval_dirs[semantics] = os.path.join(output_dir, name)
    metrics = runs_lib.run_evaluation(
        runs_lib.EvaluationConfig(
            output_dir=eval_dirs[semantics], run_dirs=[run_dir], semantics=semantics,
            num_compositions=num_compositions, seed=1,
            save_compositions=(semantics == 'corrected')),
        log=lambda line: log('      ' + line))
    if semantics == 'corrected':
      table = scoring.markdown_table(metrics)
  log('      done in %.1f s' % (time.perf_counter() - start))

  stage += 1
  start = _stage(log, stage, total, 'writing the report (plots, MIDI, audio, A/B page)')
  pages = report_pages.build_report(
      report_pages.ReportConfig(output_dir=os.path.join(output_dir, 'report'), run_dirs=[run_dir],
                          eval_dirs=[eval_dirs['corrected'], eval_dirs['legacy']]),
      log=lambda line: log('      ' + line))
  live = _live_page(run_dir, os.path.dirname(pages['report']), note_rnn_checkpoint,
                    lambda line: log('      ' + line))
  log('      done in %.1f s' % (time.perf_counter() - start))
  return dict(run_dir=run_dir, eval_dir=eval_dirs['corrected'], report=pages['report'],
              ab=pages['ab'], live=live, table=table)


def _live_page(run_dir: str, report_dir: str, note_rnn_checkpoint, log):
  """Exports the tuned model for magenta.js and writes live.html beside the report (or None)."""
  from note_rnn import magenta_js  # pylint: disable=g-import-not-at-top
  from rl_tuner.report import live_page  # pylint: disable=g-import-not-at-top
  if live_page.vendored_bundle() is None:
    log('live.html left out: magenta.js is not vendored (make setup vendors it with npm)')
    return None
  magenta_js.export_magenta_js(run_dir)
  return live_page.for_report(report_dir, run_dirs=[run_dir],
                              note_rnn_checkpoint=note_rnn_checkpoint, log=log)

