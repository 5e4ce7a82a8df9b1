"""The RL Tuner run directory while training: live lock, fresh start, checkpoints.

The layout and its names are `rl_tuner.policy.layout`'s. Every output goes under the
run directory, and `--overwrite` removes only those names.

The lock is an `fcntl.flock` on `.lock`: the kernel drops it when its process
dies, so a lock left by a killed run never blocks a resume, while a second live
run into the same directory refuses at once.
"""

import json
import os
import shutil
from typing import Callable, List, Optional

import numpy as np

import tensorflow as tf

import note_rnn
from note_rnn import run_common
from pipelines.errors import FlagError
from rl_tuner.policy import encodings
from rl_tuner.policy import layout

LOCK_FILE = run_common.LOCK_FILE
# Where the trainer's checkpoint keeps the tuned network (`tf.train.Checkpoint(q_network=...)`
# over `NoteRnnQNetwork`'s `_cells` and `_dense`): the weights a policy is rebuilt from.
NETWORK_CHECKPOINT_KEY = 'q_network/_cells/%d/%s/.ATTRIBUTES/VARIABLE_VALUE'
DENSE_CHECKPOINT_KEY = 'q_network/_dense/%s/.ATTRIBUTES/VARIABLE_VALUE'


class RunLock(run_common.RunLock):
  """The RL Tuner's live-run lock on `run_dir/.lock` (see `note_rnn.run_common`)."""

  CREATE_DIR = True

  def busy_error(self, run_dir: str, owner: str) -> Exception:
    return FlagError('output_dir', '%s is in use by a live run (pid %s holds %s); wait for it '
                       'or choose another --output_dir' % (run_dir, owner, self.path))


def clear_outputs(run_dir: str) -> None:
  """Removes the run's own outputs (not the lock, nor unrelated files)."""
  for name in layout.RUN_OUTPUTS:
    path = os.path.join(run_dir, name)
    if os.path.isdir(path) and not os.path.islink(path):
      shutil.rmtree(path)
    elif os.path.lexists(path):
      os.remove(path)


git_sha = run_common.git_sha


def read_config(run_dir: str) -> Optional[dict]:
  path = os.path.join(run_dir, layout.CONFIG_FILE)
  if not os.path.exists(path):
    return None
  try:
    with open(path) as f:
      return json.load(f)
  except (OSError, ValueError) as e:
    raise FlagError('output_dir', '%s is unreadable (%s); rerun with --overwrite to start '
                      'fresh' % (path, e)) from None



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
    raise FlagError('output_dir', 'no readable checkpoint in %s; rerun with --overwrite to '
                      'start fresh' % manager.directory)
  return None


def _data_file(prefix: str) -> str:
  directory = os.path.dirname(prefix)
  base = os.path.basename(prefix)
  names = sorted(n for n in os.listdir(directory) if n.startswith(base + '.data'))
  return os.path.join(directory, names[0]) if names else prefix + '.index'


def read_network_weights(prefix: str, like=None) -> List[np.ndarray]:
  """The tuned network's arrays in `NoteRnn.get_weights()` order, read from a checkpoint.

  Only tensors are read (`tf.train.load_checkpoint`, or for `like`, a tuned model of another
  config than basic_rnn, the object graph restored into a fresh model of its config, which
  the trainer keeps under `q_network/_model`); nothing in the file is run.
  """
  if like is not None and not encodings.is_rule_layout(like):
    model = encodings.build_like(like)
    status = tf.train.Checkpoint(q_network=tf.train.Checkpoint(_model=model)).read(prefix)
    status.expect_partial()
    status.assert_existing_objects_matched()
    return [np.asarray(w, np.float32) for w in model.get_weights()]
  reader = tf.train.load_checkpoint(prefix)
  weights = []
  layer = 0
  while reader.has_tensor(NETWORK_CHECKPOINT_KEY % (layer, 'kernel')):
    weights += [reader.get_tensor(NETWORK_CHECKPOINT_KEY % (layer, name))
                for name in ('kernel', 'recurrent_kernel', 'bias')]
    layer += 1
  if not layer:
    raise ValueError('no tuned network in checkpoint %s' % prefix)
  weights += [reader.get_tensor(DENSE_CHECKPOINT_KEY % name) for name in ('kernel', 'bias')]
  return [np.asarray(w, np.float32) for w in weights]


def load_run_prior(config: dict):
  """The Note RNN a run tuned, from its config.json (`FlagError` when it cannot be loaded)."""
  checkpoint = config.get('note_rnn_checkpoint')
  checkpoint = None if layout.is_shipped(checkpoint) else checkpoint
  try:
    return note_rnn.load(checkpoint)
  except (OSError, ValueError) as e:
    raise FlagError('note_rnn_checkpoint', 'cannot load %s: %s' % (
        checkpoint or 'the shipped Note RNN', e)) from None
