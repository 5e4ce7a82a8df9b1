"""``note_rnn.load``: one entry point for every kind of Note RNN checkpoint.

Accepted paths, for every melody_rnn config (config and layer sizes always come from the
checkpoint itself):

* ``None``: the shipped model, ``note_rnn/pretrained/rl_tuner_default/``;
* a run dir of ours (``config.json`` + ``best/`` or ``checkpoints/``);
* a checkpoint prefix of ours (``.../best/model``, ``.../checkpoints/ckpt-7``);
* a Magenta melody_rnn run dir (``R`` with ``R/train/``) or its ``train/`` folder;
* a Magenta / RL Tuner checkpoint prefix or V1 file (e.g. the research
  ``model.ckpt-1994``), any variable-name generation ``magenta_checkpoint`` knows;
* a ``.mag`` GeneratorBundle (its variables, its generator id, and attention_rnn's window
  length from its metagraph parsed as data; the metagraph is never imported or run).
"""

import os
from typing import Optional

import tensorflow as tf

from note_rnn import magenta_checkpoint
from note_rnn import model as model_lib

PRETRAINED_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'pretrained')
DEFAULT_MODEL_NAME = 'rl_tuner_default'


def default_model_dir() -> str:
  """The shipped model's run dir (inside the installed package)."""
  return os.path.join(PRETRAINED_DIR, DEFAULT_MODEL_NAME)


def _normalise_prefix(path: str) -> str:
  """``x.index`` / ``x.data-00000-of-00001`` / ``x.meta`` -> checkpoint prefix ``x``."""
  for suffix in ('.index', '.meta'):
    if path.endswith(suffix) and not os.path.exists(path[:-len(suffix)]):
      return path[:-len(suffix)]
  if '.data-' in os.path.basename(path):
    return path[:path.rindex('.data-')]
  return path


def resolve_checkpoint(path: str) -> tuple[str, str]:
  """Classifies ``path``.

  Returns:
    (kind, location): kind is 'run_dir', 'ours' (a checkpoint prefix of ours), 'bundle'
    or 'magenta' (a TF1-named checkpoint prefix).

  Raises:
    FileNotFoundError: naming the path and what was looked for.
  """
  path = os.path.expanduser(os.fspath(path))
  if os.path.isdir(path):
    if (os.path.exists(os.path.join(path, model_lib.CONFIG_FILE))
        or model_lib.best_weights_prefix(path) is not None):
      return 'run_dir', path
    for candidate in (os.path.join(path, 'train'), path):
      if os.path.isdir(candidate):
        latest = tf.train.latest_checkpoint(candidate)
        if latest:
          return _classify_prefix(latest)
    raise FileNotFoundError(
        '%s: no Note RNN checkpoint here (looked for config.json / best/ / checkpoints/ of our '
        'run dirs, train/checkpoint of a Magenta run dir, and a checkpoint state file)' % path)
  if path.endswith('.mag'):
    if not os.path.isfile(path):
      raise FileNotFoundError('%s: bundle file not found' % path)
    return 'bundle', path
  prefix = _normalise_prefix(path)
  if not (os.path.exists(prefix) or os.path.exists(prefix + '.index')):
    raise FileNotFoundError('%s: no such checkpoint (neither the file nor %s.index exists)'
                            % (path, prefix))
  return _classify_prefix(prefix)


def _classify_prefix(prefix: str) -> tuple[str, str]:
  try:
    names = [n for n, _ in tf.train.list_variables(prefix)]
  except (tf.errors.OpError, ValueError) as e:
    raise ValueError('%s: not a readable TensorFlow checkpoint (%s)'
                     % (prefix, str(e).splitlines()[0])) from None
  if model_lib.is_our_checkpoint(names):
    return 'ours', prefix
  return 'magenta', prefix


def load(path: Optional[str] = None, *, scope: Optional[str] = None,
         attn_length: Optional[int] = None) -> model_lib.NoteRnn:
  """Loads a Note RNN of any melody_rnn config from any supported checkpoint.

  The config (basic_rnn, mono_rnn, lookback_rnn, attention_rnn) and the layer sizes come from
  the checkpoint: a bundle's generator id and variable shapes, a run dir's config.json, a
  Magenta checkpoint's shapes.

  Args:
    path: the checkpoint; None loads the shipped default model.
    scope: for TF1 checkpoints holding several Note RNN copies (e.g. an RL Tuner run's
      ``q_network/`` and ``reward_rnn/``), the variable scope to read.
    attn_length: attention_rnn's window where the checkpoint does not record it (a
      Magenta training checkpoint; a bundle's metagraph does record it); None means 40.

  Raises:
    FileNotFoundError: the path (or the shipped model) does not exist.
    ValueError: the checkpoint has no Note RNN variables; the message lists the names found.
  """
  if path is None:
    d = default_model_dir()
    if model_lib.best_weights_prefix(d) is None:
      raise FileNotFoundError(
          'the shipped Note RNN is not built yet: %s has no weights. Train one with '
          'bin/train_note_rnn and pass its run dir, or pass any Magenta checkpoint.' % d)
    return model_lib.load_run_dir(d)
  kind, location = resolve_checkpoint(path)
  if kind == 'run_dir':
    return model_lib.load_run_dir(location)
  if kind == 'ours':
    return model_lib.load_our_checkpoint(location)
  if kind == 'bundle':
    return magenta_checkpoint.load_bundle(location, scope=scope, attn_length=attn_length)
  return magenta_checkpoint.load_checkpoint(location, scope=scope, attn_length=attn_length)
