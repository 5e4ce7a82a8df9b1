"""Beam's SDK worker process for the Direct runner's `multi_processing` mode, quiet on start-up.

`beam_common.make_pipeline` starts the workers as `python -m pipelines.beam_worker` instead
of Beam's `apache_beam.runners.worker.sdk_worker_main`, so that `pipelines.quiet` applies in
them too: without it each worker prints Beam's import-time "apitools not found" warning and,
because that warning installs a catch-all handler, the harness's own INFO lines. Warnings of
our transforms (a skipped file) still print, one line each.
"""

import logging
import sys

from pipelines import quiet

quiet.silence()
_handler = logging.StreamHandler()
_handler.setLevel(logging.WARNING)
_handler.setFormatter(logging.Formatter('%(levelname)s:%(name)s:%(message)s'))
logging.getLogger().addHandler(_handler)

from apache_beam.runners.worker import sdk_worker_main  # noqa: E402

if __name__ == '__main__':
  sdk_worker_main.main(sys.argv)
