"""Writing a file so that a kill never leaves half of it: one home for every stage.

Every writer goes through a temporary name beside the target (with the writer's pid, so two
processes never share one) and `os.replace`, which is atomic on POSIX: a reader sees the old
file or the new one, never a torn one. `fsync` before the rename makes the new content
survive a power cut as well as a kill.
"""

import json
import os
from typing import Any, Callable


def write_atomic(path: str, write: Callable[[str], None]) -> str:
  """Calls `write(tmp_path)`, then renames tmp_path onto `path`; returns `path`.

  The temporary file keeps the target's extension (numpy's savez appends `.npz` otherwise).
  """
  root, ext = os.path.splitext(path)
  tmp = '%s.tmp-%d%s' % (root, os.getpid(), ext)
  try:
    write(tmp)
    with open(tmp, 'rb') as f:
      os.fsync(f.fileno())
    os.replace(tmp, path)
  finally:
    if os.path.exists(tmp):
      os.remove(tmp)
  return path


def write_bytes_atomic(path: str, data: bytes) -> str:
  def write(tmp):
    with open(tmp, 'wb') as f:
      f.write(data)
  return write_atomic(path, write)


def write_text_atomic(path: str, text: str) -> str:
  return write_bytes_atomic(path, text.encode('utf-8'))


def write_json_atomic(path: str, value: Any, *, indent: int = 2, sort_keys: bool = True) -> str:
  return write_text_atomic(path, json.dumps(value, indent=indent, sort_keys=sort_keys) + '\n')
