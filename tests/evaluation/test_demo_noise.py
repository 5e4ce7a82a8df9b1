"""A default demo prints at most 5 lines of third-party warnings or INFO (issue 17).

Runs bin/demo on a tiny budget (20 tunes, one round of tuning, 300 compositions), which
passes every place noise starts: Beam's worker processes, note-seq/pydub, tf-agents and gym,
TF's import, XLA, the SavedModel export, the report. `third_party_lines` is what is counted.
"""

import os
import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUR_SOURCES = {p.name for package in ('pipelines', 'note_rnn', 'rl_tuner')
               for p in (ROOT / package).rglob('*.py')} - {'__init__.py'}
ABSL_PY = re.compile(r'^[IWEF]\d{4} [\d:.]+\s+\d+ ([\w.]+\.py):\d+\] ')
ABSL_CPP = re.compile(r'^[IWEF]\d{4} [\d:.]+\s+\d+ [\w./]+\.(cc|h):\d+\] ')
STD_LOGGING = re.compile(r'^(DEBUG|INFO|WARNING|ERROR|CRITICAL):[\w.]*:')
# Continuation lines and banners of third-party messages.
TEXT = ('Warning:', 'warn(', 'WARNING:', 'is deprecated', 'Instructions for updating',
        'Gym has been unmaintained', 'Gymnasium', 'migration_guide', 'as_dataset(',
        'absl::InitializeLog')
MAX_THIRD_PARTY_LINES = 5


def third_party_lines(output: str):
  """The lines of a tool's output that are third-party warnings or INFO."""
  out = []
  for line in output.splitlines():
    absl = ABSL_PY.match(line)
    if absl:
      if absl.group(1) not in OUR_SOURCES:
        out.append(line)
    elif ABSL_CPP.match(line) or STD_LOGGING.match(line) or any(t in line for t in TEXT):
      out.append(line)
  return out


def test_the_counter_sees_the_known_kinds():
  sample = '\n'.join([
      'W1203 14:58:31.000239 140015603133312 deprecation.py:50] From x: get_next is deprecated',
      'I1203 14:57:48.741255 140015603133312 convert_pipeline.py:133] Converting 300 entries',
      'WARNING:root:apitools not found, and bigquery client libraries are not available',
      'I0000 00:00:1796309927.265572    9528 device_compiler.h:186] Compiled cluster using XLA!',
      "  warn(\"Couldn't find ffmpeg or avconv\", RuntimeWarning)",
      '[3/5] tuning it with q for 196608 environment steps (configs/q_fast.cfg) ...',
      '      step 8192/196608  394 env-steps/s  64 gradient steps'])
  assert len(third_party_lines(sample)) == 4


@pytest.mark.slow
def test_demo_prints_at_most_five_third_party_lines(tmp_path):
  # As a user runs it: no settings of ours, no PYTHONPATH (bin/ and the Beam workers find the
  # checkout themselves).
  env = {k: v for k, v in os.environ.items()
         if k not in ('TF_CPP_MIN_LOG_LEVEL', 'PYTHONWARNINGS', 'PYTHONPATH')}
  done = subprocess.run(
      [sys.executable, str(ROOT / 'bin' / 'demo'), '--output_dir=%s' % (tmp_path / 'demo'),
       '--max_tunes=20', '--num_steps=1', '--num_compositions=300'],
      capture_output=True, text=True, timeout=900, env=env, cwd=str(tmp_path))
  output = done.stdout + done.stderr
  assert done.returncode == 0, output[-3000:]
  noise = third_party_lines(output)
  assert len(noise) <= MAX_THIRD_PARTY_LINES, '\n'.join(noise)
  assert '[5/5]' in output and 'Blind A/B test:' in output
