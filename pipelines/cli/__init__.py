"""The pipelines' command-line tools (one module each, `main(argv)` + `run()`) and their helpers.

`bin/<tool>` and the installed console script of the same name both call
`pipelines.cli.<tool>.run()`. Importing this package first silences third-party noise
(`pipelines.quiet`), before Beam or note-seq are imported.

absl owns the program's flags; everything it does not know is handed to Beam
as pipeline options (``--runner``, ``--direct_num_workers``,
``--dask_client_address``, ...), and an argument that neither knows is an
error naming it.
"""

import logging
from typing import Callable, List

from pipelines import quiet

quiet.silence()

from absl import app  # noqa: E402
from absl import flags  # noqa: E402

from pipelines import beam_common  # noqa: E402
from pipelines.errors import FlagError  # noqa: E402

LOG_LEVELS = ('DEBUG', 'INFO', 'WARN', 'WARNING', 'ERROR', 'FATAL', 'CRITICAL')

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
  """FlagError naming the first argument that is not a Beam option."""
  try:
    beam_common.make_pipeline_options(args)
  except beam_common.BeamArgsError as e:
    raise FlagError(e.flag, 'neither a flag of this program nor a Beam pipeline option '
                    '(see --helpfull)') from None


def check_log_level(level: str) -> None:
  if level.upper() not in LOG_LEVELS:
    raise FlagError('log', 'must be DEBUG, INFO, WARN, ERROR or FATAL, got %r' % level)


def run_tool(main: Callable[[List[str]], None]) -> None:
  """`app.run` with our flags parsed and the rest kept for Beam (every pipelines tool)."""
  app.run(main, flags_parser=parse_flags_keep_beam_args)


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
