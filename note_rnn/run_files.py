"""Files of a Note RNN run dir (see the README's Note RNN section): the best weights and their info.

A run dir holds ``config.json`` and the weights in ``best/`` (and ``checkpoints/`` while
training). Writes go through a temporary name and a rename, so a kill at any moment leaves a
loadable run dir.
"""

import json
import os
import shutil
import tempfile
from typing import Optional

import tensorflow as tf

from note_rnn import config as config_lib

CONFIG_FILE = 'config.json'
BEST_DIR = 'best'
CHECKPOINTS_DIR = 'checkpoints'
WEIGHTS_PREFIX = 'model'  # best/model.index, best/model.data-00000-of-00001
BEST_INFO_FILE = 'info.json'
RUN_DIR_FORMAT = 'rl_tuner.note_rnn.run_dir/1'


def write_best(model: tf.Module, run_dir: str, info: Optional[dict] = None) -> str:
  """Writes the weights (and ``info.json``) to ``run_dir/best/`` via a temporary dir + rename.

  A kill at any moment leaves either the old ``best/`` or the new one (or, for an instant,
  ``best.old/``, which ``best_weights_prefix`` also accepts). ``info`` (e.g. the step and eval
  loss) travels inside the same directory, so it always describes the weights beside it.
  """
  tmp = tempfile.mkdtemp(prefix='.best-tmp-', dir=run_dir)
  tf.train.Checkpoint(model=model).write(os.path.join(tmp, WEIGHTS_PREFIX))
  if info is not None:
    config_lib.write_json_atomic(os.path.join(tmp, BEST_INFO_FILE), info)
  best = os.path.join(run_dir, BEST_DIR)
  old = best + '.old'
  if os.path.isdir(old):
    shutil.rmtree(old)
  if os.path.isdir(best):
    os.rename(best, old)
  os.rename(tmp, best)
  shutil.rmtree(old, ignore_errors=True)
  return best


def read_best_info(run_dir: str) -> Optional[dict]:
  """``best/info.json`` of a run dir, or None."""
  for d in (BEST_DIR, BEST_DIR + '.old'):
    path = os.path.join(run_dir, d, BEST_INFO_FILE)
    if os.path.exists(path):
      with open(path) as f:
        return json.load(f)
  return None


def best_weights_prefix(run_dir: str) -> Optional[str]:
  """The checkpoint prefix a loader should read from a run dir of ours, or None.

  Order: ``best/model``, then ``best.old/model`` (a kill during the swap), then the latest
  checkpoint in ``checkpoints/`` (a run killed before its first evaluation).
  """
  for d in (BEST_DIR, BEST_DIR + '.old'):
    prefix = os.path.join(run_dir, d, WEIGHTS_PREFIX)
    if os.path.exists(prefix + '.index'):
      return prefix
  ckpts = os.path.join(run_dir, CHECKPOINTS_DIR)
  if os.path.isdir(ckpts):
    return tf.train.latest_checkpoint(ckpts)
  return None
