"""The one error every entry point turns into a one-line message naming a flag.

Code below the command line raises `FlagError(flag, message)` when a setting (or a file
a setting names) is bad; each `main` catches it, prints `<tool>: --<flag>: <message>` and
exits with status 2, before anything is written (see `exit_on_flag_error`).
"""

import sys
from typing import Callable, TypeVar

T = TypeVar('T')
EXIT_BAD_FLAG = 2


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
