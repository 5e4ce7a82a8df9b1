"""What every bin/ wrapper does first: run on the checkout's .venv, with the checkout importable.

`bin/<tool>` works from a checkout without activating anything: when the Python that runs it
is not the checkout's `.venv` (e.g. `#!/usr/bin/env python3` found the system one) and that
venv exists, the wrapper re-executes itself with `.venv/bin/python`. Then third-party noise
is silenced (`pipelines.quiet.silence`, which the tools' `cli` packages also call, so the
console scripts get the same settings). The tools' code lives in
the packages (`<package>/cli/<tool>.py`); the installed console scripts call the same `run`.
"""

import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV = os.path.join(REPO, '.venv')


def _in_venv() -> bool:
  return os.path.realpath(sys.prefix) == os.path.realpath(VENV)


def prepare() -> None:
  venv_python = os.path.join(VENV, 'bin', 'python')
  if not _in_venv() and os.path.exists(venv_python) and not os.environ.get('RL_TUNER_NO_VENV'):
    os.execv(venv_python, [venv_python] + sys.argv)
  if REPO not in sys.path:
    sys.path.insert(0, REPO)
  from pipelines import quiet  # pylint: disable=g-import-not-at-top,import-outside-toplevel
  quiet.silence()  # TF_CPP_MIN_LOG_LEVEL and friends, as the console scripts get them


prepare()
