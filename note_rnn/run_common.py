"""What Note RNN and RL Tuner training share about a run directory.

A live-run lock, the error a diverged run stops with, and the git commit of the code that
wrote the run. The lock is an exclusive, non-blocking `fcntl.flock` on `run_dir/.lock` held for the
run's lifetime. The kernel drops it when its process dies, so a run killed with -9
never blocks its resume, while a second live run into the same directory refuses at
once. The file holds the owner's pid so the refusal can name it.

It lives in `note_rnn` because `rl_tuner` may import `note_rnn` but not the reverse
(tests/test_layering.py); each trainer subclasses the lock only to word the
refusal with its own flag and error type.
"""

import fcntl
import os
import subprocess
from typing import Optional, TextIO

LOCK_FILE = '.lock'


class TrainingDivergedError(RuntimeError):
  """A NaN or Inf loss or reward stopped a run; the message names the step and the term.

  Both trainers raise it and keep the last good checkpoint; the command-line tools exit 3.
  """


class RunLock:
  """An exclusive, non-blocking `flock` on `run_dir/.lock` held for the run's lifetime.

  Subclasses override `busy_error` to say which flag names the directory; set
  `CREATE_DIR` when the directory may not exist yet at `acquire` time.
  """

  CREATE_DIR = False

  def __init__(self, run_dir: str):
    self.path = os.path.join(run_dir, LOCK_FILE)
    self._file: Optional[TextIO] = None

  def busy_error(self, run_dir: str, owner: str) -> Exception:
    """The error raised when another live process holds the lock.

    Args:
      run_dir: the locked directory.
      owner: the pid written by the holder, or 'unknown'.
    """
    return ValueError('%s is in use by a live run (pid %s holds %s)' % (run_dir, owner,
                                                                         self.path))

  def acquire(self) -> 'RunLock':
    if self.CREATE_DIR:
      os.makedirs(os.path.dirname(self.path), exist_ok=True)
    f = open(self.path, 'a+')
    try:
      fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
      f.seek(0)
      owner = f.read().strip() or 'unknown'
      f.close()
      raise self.busy_error(os.path.dirname(self.path), owner) from None
    f.seek(0)
    f.truncate()
    f.write('%d\n' % os.getpid())
    f.flush()
    self._file = f
    return self

  def release(self) -> None:
    if self._file is not None:
      fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
      self._file.close()
      self._file = None

  def __enter__(self) -> 'RunLock':
    return self.acquire()

  def __exit__(self, *exc) -> None:
    self.release()


def git_sha() -> Optional[str]:
  """HEAD of the checkout this code runs from, or None outside a git checkout."""
  try:
    out = subprocess.run(['git', 'rev-parse', 'HEAD'], capture_output=True, text=True,
                         cwd=os.path.dirname(os.path.abspath(__file__)), timeout=10)
  except (OSError, subprocess.SubprocessError):
    return None
  return out.stdout.strip() or None
