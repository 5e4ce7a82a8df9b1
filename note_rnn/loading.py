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

import json
import os
import re
from typing import Optional, Sequence

import tensorflow as tf

from note_rnn import magenta_checkpoint
from note_rnn import melody_configs
from note_rnn import model as model_lib

PRETRAINED_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'pretrained')
DEFAULT_MODEL_NAME = 'rl_tuner_default'


_OUR_VAR_PREFIX = 'model/lstm_cells/'
_OUR_STACK_PREFIX = 'model/stack/'
_STACK_KERNEL_RE = re.compile(r'/lstm_kernel(?:s/|_)(\d+)/')
_CONFIG_BY_INPUT_SIZE = {c.input_size: c.name for c in melody_configs.CONFIGS.values()}


def is_our_checkpoint(variable_names: Sequence[str]) -> bool:
  return any(n.startswith((_OUR_VAR_PREFIX, _OUR_STACK_PREFIX)) for n in variable_names)


def architecture_from_our_checkpoint(prefix: str) -> dict:
  """Reads config and layer sizes from the kernel shapes of a checkpoint ``save``/training
  wrote: ``{'config': name, 'layer_sizes': (...)}`` (attention models: attn_length is not in
  the weights; config.json records it)."""
  sizes, input_size = {}, None
  for name, shape in tf.train.list_variables(prefix):
    parts = name.split('/')
    if name.startswith(_OUR_VAR_PREFIX) and len(parts) > 3:
      if parts[3] == 'recurrent_kernel':
        sizes[int(parts[2])] = int(shape[0])
      elif parts[3] == 'kernel' and parts[2] == '0':
        input_size = int(shape[0])
    elif name.startswith(_OUR_STACK_PREFIX) and _STACK_KERNEL_RE.search(name):
      sizes[int(_STACK_KERNEL_RE.search(name).group(1))] = int(shape[1]) // 4
      input_size = melody_configs.get('attention_rnn').input_size
  if not sizes or sorted(sizes) != list(range(len(sizes))):
    raise ValueError('%s: not a Note RNN checkpoint of ours (no %s<i>/recurrent_kernel)'
                     % (prefix, _OUR_VAR_PREFIX))
  if input_size not in _CONFIG_BY_INPUT_SIZE:
    raise ValueError('%s: first-layer input size %s is no melody_rnn config\'s (%s)'
                     % (prefix, input_size, sorted(_CONFIG_BY_INPUT_SIZE)))
  return {'config': _CONFIG_BY_INPUT_SIZE[input_size],
          'layer_sizes': tuple(sizes[i] for i in range(len(sizes)))}


def layer_sizes_from_our_checkpoint(prefix: str) -> tuple:
  """The layer sizes of one of our checkpoints (``architecture_from_our_checkpoint``)."""
  return architecture_from_our_checkpoint(prefix)['layer_sizes']


def load_our_checkpoint(prefix: str) -> model_lib.NoteRnn:
  """A model of the architecture the checkpoint's shapes give, holding its weights."""
  arch = architecture_from_our_checkpoint(prefix)
  return restore_weights(model_lib.build(arch['layer_sizes'], config=arch['config']), prefix)


def restore_weights(model: model_lib.NoteRnn, prefix: str) -> model_lib.NoteRnn:
  """Restores the model part of one of our checkpoints (best/ or a training checkpoint)."""
  try:
    status = tf.train.Checkpoint(model=model).read(prefix)
    status.expect_partial()
    status.assert_existing_objects_matched()
  except (AssertionError, ValueError, tf.errors.OpError) as e:
    try:
      names = ', '.join(sorted(n for n, _ in tf.train.list_variables(prefix))) or '(none)'
    except (ValueError, tf.errors.OpError):
      names = '(unreadable)'
    raise ValueError('%s: not the weights of a %s Note RNN of ours with layer sizes %s (%s). '
                     'It holds: %s' % (prefix, model.config_name, list(model.layer_sizes),
                                       str(e).splitlines()[0][:200], names[:2000])) from None
  return model


def load_run_dir(run_dir: str) -> model_lib.NoteRnn:
  """Loads a run dir of ours: architecture from config.json (or the weights), weights from
  best/."""
  prefix = model_lib.best_weights_prefix(run_dir)
  if prefix is None:
    raise FileNotFoundError('%s: no weights (expected %s/%s.index or a checkpoint in %s/)'
                            % (run_dir, model_lib.BEST_DIR, model_lib.WEIGHTS_PREFIX,
                               model_lib.CHECKPOINTS_DIR))
  cfg_path = os.path.join(run_dir, model_lib.CONFIG_FILE)
  cfg = {}
  if os.path.exists(cfg_path):
    with open(cfg_path) as f:
      cfg = json.load(f)
  layer_sizes = cfg.get('layer_sizes') or cfg.get('hparams', {}).get('rnn_layer_sizes')
  if not layer_sizes:
    return load_our_checkpoint(prefix)
  model = model_lib.build(layer_sizes, config=cfg.get('config_name') or 'basic_rnn',
                attn_length=cfg.get('attn_length') or None)
  return restore_weights(model, prefix)


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
  if is_our_checkpoint(names):
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
    return load_run_dir(d)
  kind, location = resolve_checkpoint(path)
  if kind == 'run_dir':
    return load_run_dir(location)
  if kind == 'ours':
    return load_our_checkpoint(location)
  if kind == 'bundle':
    return magenta_checkpoint.load_bundle(location, scope=scope, attn_length=attn_length)
  return magenta_checkpoint.load_checkpoint(location, scope=scope, attn_length=attn_length)
