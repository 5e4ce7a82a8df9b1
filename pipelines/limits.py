"""Per-file resource limits for the converters: a size cap and a time bound.

One pathological input (a huge or adversarial MIDI file) must not hang or
exhaust a conversion job (magenta #1755). The size cap is checked with
``os.stat`` before a single byte is read. The time bound interrupts the
conversion in the thread that runs it, which works on every Beam runner
(DoFns do not run in the main thread under multi-processing or Dask, so
``SIGALRM`` is not an option): a timer thread raises ``ConversionTimeout``
asynchronously in the converting thread, at its next Python bytecode. The
parsers involved (mido, pretty_midi, note-seq, music21) are pure Python, so
the exception lands promptly.
"""

import contextlib
import ctypes
import os
import threading
from typing import Iterator, Optional

DEFAULT_MAX_FILE_BYTES = 64 * 1024 * 1024
DEFAULT_MAX_SECONDS_PER_FILE = 60.0


class FileTooLargeError(Exception):
  """A file is larger than the per-file size cap."""


class ConversionTimeout(Exception):
  """A conversion took longer than the per-file time bound."""


def check_file_size(path: str, max_bytes: Optional[int]) -> int:
  """Returns the size of `path`; raises FileTooLargeError above `max_bytes`.

  Args:
    path: the file to check (not opened).
    max_bytes: the cap in bytes; None or <= 0 disables it.

  Raises:
    FileTooLargeError: the file is larger than the cap.
    OSError: the file cannot be stat'ed.
  """
  size = os.stat(path).st_size
  if max_bytes and max_bytes > 0 and size > max_bytes:
    raise FileTooLargeError('%s is %d bytes, over the %d-byte cap '
                            '(--max_file_bytes)' % (path, size, max_bytes))
  return size


def _set_async_exc(thread_id: int, exc_type) -> int:
  return ctypes.pythonapi.PyThreadState_SetAsyncExc(
      ctypes.c_ulong(thread_id),
      ctypes.py_object(exc_type) if exc_type is not None else None)


@contextlib.contextmanager
def time_limit(seconds: Optional[float], what: str = '') -> Iterator[None]:
  """Raises ConversionTimeout in this thread if the block runs over `seconds`.

  Args:
    seconds: the bound; None or <= 0 disables it.
    what: a description (e.g. the path) for the error message.

  Raises:
    ConversionTimeout: the block did not finish in time.
  """
  if not seconds or seconds <= 0:
    yield
    return
  thread_id = threading.get_ident()
  lock = threading.Lock()
  state = {'done': False, 'fired': False}

  def fire():
    with lock:
      if not state['done']:
        state['fired'] = True
        _set_async_exc(thread_id, ConversionTimeout)

  timer = threading.Timer(seconds, fire)
  timer.daemon = True
  timer.start()
  try:
    yield
  except ConversionTimeout as e:
    raise ConversionTimeout('%s took longer than %g s (--max_seconds_per_file)'
                            % (what, seconds)) from e
  finally:
    with lock:
      state['done'] = True
      fired = state['fired']
    timer.cancel()
    if fired:
      # The exception may still be pending (not yet delivered); clear it so it
      # cannot surface later in unrelated code, and report the timeout here.
      _set_async_exc(thread_id, None)
  if fired:
    raise ConversionTimeout('%s took longer than %g s (--max_seconds_per_file)'
                            % (what, seconds))
