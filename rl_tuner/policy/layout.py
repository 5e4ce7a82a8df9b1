"""What a run directory and an evaluation directory hold: one name per file, one reader.

A tuned run dir (written by `bin/train_rl_tuner`):

| name | what |
|---|---|
| `config.json` | every setting, the Note RNN it tuned (path and a SHA-256 of its weights), versions |
| `checkpoints/` | training checkpoints (networks, optimizer, replay, counters, RNG); the policy is rebuilt from the newest |
| `note_rnn_export/` | the tuned network as a Note RNN run dir (not for g, whose policy needs its prior) |
| `policy/` | a SavedModel of the policy, for serving elsewhere only: this project never reads it |
| `tb/` | TensorBoard events |
| `compositions/` | sample MIDI files |
| `metrics.json`, `metrics.md` | the final evaluation |
| `magenta_js/` | written by `bin/export_magenta_js`: the tuned model as a magenta.js `MusicRNN` checkpoint (removed by `--overwrite` with the rest) |

An evaluation dir (`bin/evaluate_rl_tuner`): `metrics.json`, `metrics.md`, `compositions.npz`.

Reading is plain JSON and numpy: nothing stored in a run dir is executed.
"""

import hashlib
import json
import os
from typing import Any, Dict, Optional, Sequence

import numpy as np

from pipelines.errors import FlagError

CONFIG_FILE = 'config.json'
CHECKPOINTS_DIR = 'checkpoints'
POLICY_DIR = 'policy'
NOTE_RNN_EXPORT_DIR = 'note_rnn_export'
TB_DIR = 'tb'
COMPOSITIONS_DIR = 'compositions'
METRICS_JSON = 'metrics.json'
METRICS_MD = 'metrics.md'
COMPOSITIONS_NPZ = 'compositions.npz'
RUN_DIR_FORMAT = 'rl_tuner.run_dir/1'
# What `--note_rnn_checkpoint` and config.json call the Note RNN shipped with the package.
SHIPPED = 'shipped'
# Everything a run writes under its directory (what `--overwrite` removes).
MAGENTA_JS_DIR = 'magenta_js'  # note_rnn.magenta_js.DEFAULT_DIR_NAME
RUN_OUTPUTS = (CONFIG_FILE, CHECKPOINTS_DIR, POLICY_DIR, POLICY_DIR + '.tmp',
               NOTE_RNN_EXPORT_DIR, TB_DIR, METRICS_JSON, METRICS_MD, COMPOSITIONS_DIR,
               MAGENTA_JS_DIR)


def is_shipped(checkpoint: Optional[str]) -> bool:
  return checkpoint in (None, '', SHIPPED)


def read_run_config(run_dir: str) -> Dict[str, Any]:
  """A tuned run's config.json as a dict (`FlagError` naming the run otherwise)."""
  path = os.path.join(run_dir, CONFIG_FILE)
  if not os.path.isdir(run_dir):
    raise FlagError('run_dir', 'no such run directory: %s' % run_dir)
  if not os.path.isfile(path):
    raise FlagError('run_dir', '%s has no config.json: not an RL Tuner run dir' % run_dir)
  try:
    with open(path) as f:
      config = json.load(f)
  except (OSError, ValueError) as e:
    raise FlagError('run_dir', '%s: unreadable config.json (%s)' % (path, e)) from None
  if not isinstance(config, dict):
    raise FlagError('run_dir', '%s: config.json is not a JSON object' % path)
  return config


def weights_digest(weights: Sequence[np.ndarray]) -> str:
  """SHA-256 of float32 weights in order: config.json's record of which Note RNN was tuned."""
  digest = hashlib.sha256()
  for weight in weights:
    digest.update(np.ascontiguousarray(weight, np.float32).tobytes())
  return digest.hexdigest()
