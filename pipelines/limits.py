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
import struct
import threading
import zipfile
from typing import Iterator, Optional

DEFAULT_MAX_FILE_BYTES = 64 * 1024 * 1024
DEFAULT_MAX_SECONDS_PER_FILE = 60.0
# pretty_midi allocates one float64 per tick up to the file's last event, in
# one numpy call that no time bound can interrupt; note-seq raises pretty_midi's
# own guard to 1e10 ticks. A 60-byte file whose one note lasts 2^28 ticks
# would take 2 GB and half a minute, so the last tick is checked first:
# 2^25 ticks (256 MB) is 4.8 hours at 960 ticks per quarter and 120 qpm.
MAX_MIDI_TICKS = 2 ** 25


class FileTooLargeError(Exception):
  """A file is larger than the per-file size cap."""


class ConversionTimeout(Exception):
  """A conversion took longer than the per-file time bound."""


class MidiTooLongError(Exception):
  """A MIDI file's last event lies beyond MAX_MIDI_TICKS."""


def _read_vlq(data: bytes, pos: int):
  value = 0
  for _ in range(4):
    byte = data[pos]
    pos += 1
    value = (value << 7) | (byte & 0x7F)
    if not byte & 0x80:
      return value, pos
  raise ValueError('variable-length quantity longer than 4 bytes')


def midi_last_tick(data: bytes) -> Optional[int]:
  """The largest absolute tick of any track of a Standard MIDI File.

  A cheap scan of the chunk structure and event lengths only (no message
  objects), so that a file can be rejected before it is parsed. Returns None
  when the bytes are not well-formed SMF: the real parser then reports why.
  """
  try:
    if data[:4] != b'MThd':
      return None
    (header_length,) = struct.unpack('>I', data[4:8])
    pos = 8 + header_length
    last = 0
    while pos + 8 <= len(data):
      kind = data[pos:pos + 4]
      (length,) = struct.unpack('>I', data[pos + 4:pos + 8])
      pos += 8
      end = min(pos + length, len(data))
      if kind != b'MTrk':
        pos = end
        continue
      tick, status = 0, 0
      while pos < end:
        delta, pos = _read_vlq(data, pos)
        tick += delta
        if data[pos] & 0x80:
          status = data[pos]
          pos += 1
        if status == 0xFF:
          pos += 1  # meta type
          size, pos = _read_vlq(data, pos)
          pos += size
        elif status in (0xF0, 0xF7):
          size, pos = _read_vlq(data, pos)
          pos += size
        elif 0xC0 <= status < 0xE0:
          pos += 1
        elif status >= 0x80:
          pos += 2
        else:
          return None
      last = max(last, tick)
      pos = end
    return last
  except (IndexError, ValueError, struct.error):
    return None


def check_midi_ticks(data: bytes, path: str,
                     max_ticks: int = MAX_MIDI_TICKS) -> None:
  """Raises MidiTooLongError if the MIDI bytes reach beyond `max_ticks`."""
  last = midi_last_tick(data)
  if last is not None and last > max_ticks:
    raise MidiTooLongError('%s has an event at tick %d, beyond the %d-tick '
                           'bound (a corrupt or adversarial file)'
                           % (path, last, max_ticks))


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


def check_zip_members(path: str, max_bytes: Optional[int]) -> None:
  """Applies the size cap to the uncompressed members of a zip (.mxl) file.

  A few kilobytes of .mxl can inflate to gigabytes (a zip bomb), and the
  MusicXML reader inflates the score in memory. zipfile never returns more
  than a member's declared size, so checking the declared sizes suffices.
  A file that is not a readable zip is left to the converter to report.

  Raises:
    FileTooLargeError: a member is larger than the cap.
  """
  if not max_bytes or max_bytes <= 0:
    return
  try:
    with zipfile.ZipFile(path) as archive:
      members = archive.infolist()
  except (zipfile.BadZipFile, OSError, ValueError, EOFError):
    return
  for member in members:
    if member.file_size > max_bytes:
      raise FileTooLargeError('%s: member %s inflates to %d bytes, over the %d-byte cap '
                              '(--max_file_bytes)' % (path, member.filename,
                                                      member.file_size, max_bytes))


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
