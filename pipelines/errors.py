"""The one error every entry point turns into a one-line message naming a flag; exit codes.

Exit status of every tool: 0 done, 1 the pipeline produced nothing (`exit_produced_nothing`),
2 a bad flag (`FlagError`), 3 a training run diverged (NaN/Inf; `EXIT_DIVERGED`).

Code below the command line raises `FlagError(flag, message)` when a setting (or a file
a setting names) is bad; each `main` catches it, prints `<tool>: --<flag>: <message>` and
exits with status 2, before anything is written (see `exit_on_flag_error`).
"""

import sys
from typing import Callable, List, Optional, Tuple, TypeVar

T = TypeVar('T')
EXIT_PRODUCED_NOTHING = 1
EXIT_BAD_FLAG = 2
EXIT_DIVERGED = 3


class FlagError(ValueError):
  """A bad setting: `flag` names it (without dashes), `message` says what is wrong."""

  def __init__(self, flag: str, message: str):
    super().__init__('--%s: %s' % (flag, message))
    self.flag = flag
    self.message = message


def fail(tool: str, error: FlagError) -> None:
  """Prints the one line and exits 2."""
  print('%s: %s' % (tool, error), file=sys.stderr)
  sys.exit(EXIT_BAD_FLAG)


def exit_on_flag_error(tool: str, fn: Callable[..., T], *args, **kwargs) -> T:
  """Runs `fn`; a FlagError becomes the one-line message and exit status 2."""
  try:
    return fn(*args, **kwargs)
  except FlagError as e:
    fail(tool, e)


def exit_produced_nothing(tool: str, message: str) -> None:
  """A run that worked but made nothing (e.g. no melody passed the filters): one line, exit 1."""
  print('%s: %s' % (tool, message), file=sys.stderr)
  sys.exit(EXIT_PRODUCED_NOTHING)


def entry_points(tool: str, body: Callable[[List[str]], None], *,
                 runner: Optional[Callable] = None, quiet_absl: bool = False
                 ) -> Tuple[Callable[[List[str]], None], Callable[[], None]]:
  """A tool's `(main, run)`: every command-line tool is built from its body this one way.

  `main(argv)` (what absl's `app.run` calls) runs `body(argv)`, turning a `FlagError` into
  the one line and exit 2; `run()` is the console script and `bin/` wrapper's entry, absl's
  `app.run(main)` unless `runner` (e.g. the pipelines' flag parser) is given.
  `quiet_absl` keeps absl's own INFO lines out of the tool's output.
  """
  def main(argv):
    if quiet_absl:
      from absl import logging  # pylint: disable=g-import-not-at-top
      logging.set_verbosity(logging.WARNING)
    exit_on_flag_error(tool, body, argv)

  def run():
    if runner is not None:
      runner(main)
    else:
      from absl import app  # pylint: disable=g-import-not-at-top
      app.run(main)

  return main, run
