"""Beam's SDK worker process for the Direct runner's `multi_processing` mode, quiet on start-up.

`beam_common.make_pipeline` starts the workers as `python <checkout>/pipelines/beam_worker.py`
instead of Beam's `python -m apache_beam.runners.worker.sdk_worker_main`, so that `pipelines.quiet` applies in
them too: without it each worker prints Beam's import-time "apitools not found" warning and,
because that warning installs a catch-all handler, the harness's own INFO lines. Warnings of
our transforms (a skipped file) still print, one line each.
"""

import logging
import os
import sys

# Run by path (beam_common.WORKER_COMMAND): the checkout that holds this file replaces this
# file's own folder at the front of sys.path, so the workers import the same pipelines code as
# the program that started them (and pipelines/*.py are not top-level modules).
_HERE = os.path.dirname(os.path.abspath(__file__))
if sys.path and os.path.abspath(sys.path[0] or '.') == _HERE:
  sys.path[0] = os.path.dirname(_HERE)
else:
  sys.path.insert(0, os.path.dirname(_HERE))

from pipelines import quiet  # noqa: E402

quiet.silence()
_handler = logging.StreamHandler()
_handler.setLevel(logging.WARNING)
_handler.setFormatter(logging.Formatter('%(levelname)s:%(name)s:%(message)s'))
logging.getLogger().addHandler(_handler)

from apache_beam.runners.worker import sdk_worker_main  # noqa: E402

if __name__ == '__main__':
  sdk_worker_main.main(sys.argv)
