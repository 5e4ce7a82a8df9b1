"""The RL Tuner run directory: live lock, fresh start, config.json, checkpoints.

Layout (interfaces.md §2): config.json, checkpoints/, policy/, note_rnn_export/,
tb/, metrics.json, metrics.md, compositions/*.mid, .lock. Every output goes
under the run directory, and `--overwrite` removes only these names.

The lock is an `fcntl.flock` on `.lock`: the kernel drops it when its process
dies, so a lock left by a killed run never blocks a resume, while a second live
run into the same directory refuses at once.
"""

import json
import os
import shutil
from typing import Callable, Optional

import tensorflow as tf

from note_rnn import run_common

LOCK_FILE = run_common.LOCK_FILE
CONFIG_FILE = 'config.json'
CHECKPOINTS_DIR = 'checkpoints'
OUTPUT_NAMES = ('config.json', 'checkpoints', 'policy', 'policy.tmp', 'note_rnn_export',
                'tb', 'metrics.json', 'metrics.md', 'compositions')


class RunDirError(RuntimeError):
  """A run directory that cannot be used (locked, or settings that disagree)."""

  def __init__(self, flag: str, message: str):
    super().__init__(message)
    self.flag = flag


class RunLock(run_common.RunLock):
  """The RL Tuner's live-run lock on `run_dir/.lock` (see `note_rnn.run_common`)."""

  CREATE_DIR = True

  def busy_error(self, run_dir: str, owner: str) -> Exception:
    return RunDirError('output_dir', '%s is in use by a live run (pid %s holds %s); wait for it '
                       'or choose another --output_dir' % (run_dir, owner, self.path))


def clear_outputs(run_dir: str) -> None:
  """Removes the run's own outputs (not the lock, nor unrelated files)."""
  for name in OUTPUT_NAMES:
    path = os.path.join(run_dir, name)
    if os.path.isdir(path) and not os.path.islink(path):
      shutil.rmtree(path)
    elif os.path.lexists(path):
      os.remove(path)


git_sha = run_common.git_sha


def read_config(run_dir: str) -> Optional[dict]:
  path = os.path.join(run_dir, CONFIG_FILE)
  if not os.path.exists(path):
    return None
  try:
    with open(path) as f:
      return json.load(f)
  except (OSError, ValueError) as e:
    raise RunDirError('output_dir', '%s is unreadable (%s); rerun with --overwrite to start '
                      'fresh' % (path, e)) from None


def write_json_atomic(path: str, value: dict) -> None:
  tmp = path + '.tmp'
  with open(tmp, 'w') as f:
    json.dump(value, f, indent=2, sort_keys=True)
    f.write('\n')
  os.replace(tmp, path)


def restore_latest_good(checkpoint: tf.train.Checkpoint, manager: tf.train.CheckpointManager,
                        log: Callable[[str], None]) -> Optional[str]:
  """Restores the newest readable checkpoint; a corrupt one is named and skipped.

  Returns:
    The restored prefix, or None when there is none (a fresh start).
  """
  for prefix in reversed(list(manager.checkpoints)):
    try:
      status = checkpoint.restore(prefix)
      status.assert_existing_objects_matched()
      status.expect_partial()  # optimizer slots appear at the first gradient step
      return prefix
    except Exception as e:  # pylint: disable=broad-except  (any unreadable file)
      reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
      log('checkpoint %s is unreadable (%s); falling back to the previous one'
          % (_data_file(prefix), reason[:200]))
  if manager.checkpoints:
    raise RunDirError('output_dir', 'no readable checkpoint in %s; rerun with --overwrite to '
                      'start fresh' % manager.directory)
  return None


def _data_file(prefix: str) -> str:
  directory = os.path.dirname(prefix)
  base = os.path.basename(prefix)
  names = sorted(n for n in os.listdir(directory) if n.startswith(base + '.data'))
  return os.path.join(directory, names[0]) if names else prefix + '.index'
