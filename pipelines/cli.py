"""Helpers for the pipelines' absl entry points in bin/ (adapters only).

absl owns the program's flags; everything it does not know is handed to Beam
as pipeline options (``--runner``, ``--direct_num_workers``,
``--dask_client_address``, ...), and an argument that neither knows is an
error naming it.
"""

import logging
import sys
from typing import List

from absl import flags

from pipelines import beam_common

_BEAM_ARGS: List[str] = []


def parse_flags_keep_beam_args(argv: List[str]) -> List[str]:
  """absl ``flags_parser`` for ``app.run``: our flags, the rest kept for Beam.

  ``--flagfile``, ``--help`` and ``--helpfull`` work as usual.
  """
  rest = flags.FLAGS(argv, known_only=True)
  _BEAM_ARGS[:] = rest[1:]
  return rest[:1]


def beam_args() -> List[str]:
  """The arguments set aside for Beam by parse_flags_keep_beam_args."""
  return list(_BEAM_ARGS)


def check_beam_args(args: List[str]) -> None:
  """Exits with a one-line error if an argument is not a Beam option."""
  try:
    beam_common.make_pipeline_options(args)
  except beam_common.BeamArgsError as e:
    sys.exit('Error: %s' % e)


def set_log_level(level: str) -> None:
  """Magenta's --log values (DEBUG, INFO, WARN, ERROR, FATAL)."""
  name = level.upper()
  name = {'WARN': 'WARNING', 'FATAL': 'CRITICAL'}.get(name, name)
  logging.getLogger().setLevel(getattr(logging, name))
  # Beam's own INFO lines (worker start-up, gRPC channels, ...) drown the
  # pipeline's; show them only when debugging.
  logging.getLogger('apache_beam').setLevel(
      logging.DEBUG if name == 'DEBUG' else max(logging.WARNING,
                                                getattr(logging, name)))
  from absl import logging as absl_logging  # pylint: disable=g-import-not-at-top
  absl_logging.set_verbosity({'DEBUG': 'debug', 'INFO': 'info',
                              'WARNING': 'warning', 'ERROR': 'error',
                              'CRITICAL': 'fatal'}[name])
