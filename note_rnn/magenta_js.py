"""magenta.js ``MusicRNN`` checkpoints: a basic Note RNN as a directory a web page loads.

magenta.js (``@magenta/music``) builds a ``MusicRNN`` from a directory holding

* ``config.json``: ``{"type": "MusicRNN", "dataConverter": {"type": "MelodyConverter",
  "args": {"minPitch": 48, "maxPitch": 83}}}``. The converter's one-hot has
  ``maxPitch - minPitch + 3`` classes: 0 = no event (hold), 1 = note off, 2 + p - minPitch =
  pitch p, which is exactly our 38-class encoding (index k >= 2 is MIDI k + 46);
* ``weights_manifest.json`` and the shards it names, in tensorflowjs' ``write_weights``
  layout: one group whose float32 tensors are concatenated little-endian in manifest order
  and cut into shards of at most 4 MiB (``group1-shard1of1.bin``, ...).

Its ``MusicRNN`` reads ``rnn/multi_rnn_cell/cell_k/basic_lstm_cell/{kernel,bias}`` and
``fully_connected/{weights,biases}`` and steps each layer with tfjs' ``basicLSTMCell``: one
kernel over ``[input; h]``, gate blocks (i, j, f, o), and a forget bias of 1.0 added at run
time. Those are the names and the layout of Magenta's melody_rnn checkpoints, so the arrays
come from ``magenta_checkpoint.melody_rnn_arrays`` (which reorders Keras's (i, f, c, o) and takes
the 1.0 back out of the forget-gate bias Keras holds folded); this module only adds the files.

What magenta.js cannot run is refused with one line saying why (``ExportRefused``): its
``MusicRNN`` feeds the converter's plain one-hot and nothing else, so a model reading other
input features (lookback, attention_rnn's key features) cannot be expressed.
"""

import dataclasses
import json
import os
import shutil
import tempfile
from typing import Optional

import numpy as np
import tensorflow as tf

from note_rnn import config as config_lib
from note_rnn import loading
from note_rnn import magenta_checkpoint
from note_rnn import model as model_lib
from pipelines import encoding

CONFIG_FILE = 'config.json'
MANIFEST_FILE = 'weights_manifest.json'
DEFAULT_DIR_NAME = 'magenta_js'
SHARD_BYTES = 4 * 1024 * 1024  # tensorflowjs' and magenta.js's converter default
MIN_PITCH = encoding.MIN_MIDI_PITCH  # 48
MAX_PITCH = encoding.MAX_MIDI_PITCH - 1  # 83, inclusive as MelodyConverter counts
RL_TUNER_EXPORT_DIR = 'note_rnn_export'  # rl_tuner.rl.trainer.NOTE_RNN_EXPORT_DIR (no import cycle)

# Melody configs whose Note RNN magenta.js cannot run, and why (one line each).
_UNSUPPORTED_CONFIGS = {
    'lookback_rnn': (
        'lookback_rnn reads lookback and bar-position features and predicts two repeat labels '
        'beside the notes; magenta.js MusicRNN feeds only its MelodyConverter one-hot (48-83) '
        'and has no lookback encoder, so it cannot be expressed'),
    'attention_rnn': (
        'attention_rnn reads Magenta\'s key-aware lookback features and predicts repeat labels, '
        'which magenta.js MusicRNN cannot compute (its MelodyConverter feeds only the 48-83 '
        'one-hot); its attention wrapper alone would be expressible, its inputs are not'),
    'mono_rnn': (
        'mono_rnn\'s 130-class one-hot (pitches 0-127) is not the 48-83 basic_rnn encoding '
        'this export writes'),
}


class ExportRefused(ValueError):
  """A model or run that magenta.js cannot run; the message is one line saying why."""


class OutputDirError(ValueError):
  """An output directory that cannot be written or must not be replaced."""


@dataclasses.dataclass
class Source:
  """What ``--checkpoint`` names, resolved.

  Attributes:
    model_path: what ``note_rnn.load`` reads (None = the shipped Note RNN).
    default_output_dir: ``<run_dir>/magenta_js`` for a run dir, else None.
    info: facts for ``config.json``'s ``rlTuner`` entry (source, algorithm, ...).
  """
  model_path: Optional[str]
  default_output_dir: Optional[str]
  info: dict


def _read_json(path: str) -> Optional[dict]:
  if not os.path.isfile(path):
    return None
  try:
    with open(path) as f:
      value = json.load(f)
  except (OSError, ValueError) as e:
    raise ValueError('%s: unreadable JSON (%s)' % (path, e)) from None
  return value if isinstance(value, dict) else None


def resolve_source(checkpoint: Optional[str]) -> Source:
  """Classifies ``checkpoint``: an RL Tuner run dir, a Note RNN run dir, or a file.

  A tuned run exports its ``note_rnn_export/`` (q, psi, pure_rl). A G-learning run has none:
  its policy samples softmax(G + log p_prior), which needs the prior beside the network.

  Raises:
    ExportRefused: a g run, or a tuned run without ``note_rnn_export/``.
    FileNotFoundError: the path does not exist.
  """
  if checkpoint is None:
    return Source(None, None, {'source': loading.default_model_dir(),
                               'name': 'the shipped %s' % loading.DEFAULT_MODEL_NAME})
  path = os.path.expanduser(checkpoint)
  if not (os.path.exists(path) or os.path.exists(path + '.index')):
    raise FileNotFoundError('%s does not exist' % checkpoint)
  if not os.path.isdir(path):
    return Source(path, None, {'source': os.path.abspath(path),
                               'name': os.path.basename(path)})
  config = _read_json(os.path.join(path, CONFIG_FILE)) or {}
  default_out = os.path.join(path, DEFAULT_DIR_NAME)
  if 'algorithm' not in config or config.get('format') == model_lib.RUN_DIR_FORMAT:
    # A Note RNN run dir; a tuned run's note_rnn_export/ also says which algorithm tuned it.
    info = {'source': os.path.abspath(path), 'name': _dir_name(path)}
    if config.get('algorithm'):
      info.update(algorithm=str(config['algorithm']),
                  name=_dir_name(config.get('tuned_run_dir') or path))
    return Source(path, default_out, info)
  algorithm = str(config['algorithm'])
  if algorithm == 'g':
    raise ExportRefused(
        '%s is a G-learning run: its policy samples softmax(G + log p_prior), so it needs its '
        'prior beside the network and is not a Note RNN magenta.js can run (export a q, psi '
        'or pure_rl run)' % checkpoint)
  export_dir = os.path.join(path, RL_TUNER_EXPORT_DIR)
  if model_lib.best_weights_prefix(export_dir) is None:
    raise ExportRefused('%s: no %s/ with weights (it is written when training ends)'
                        % (checkpoint, RL_TUNER_EXPORT_DIR))
  return Source(export_dir, default_out, {'source': os.path.abspath(path),
                                          'name': _dir_name(path), 'algorithm': algorithm})


def _dir_name(path: str) -> str:
  return os.path.basename(os.path.abspath(path))


def _config_name(model, model_path: Optional[str]) -> Optional[str]:
  """The melody config the model or its run dir names (e.g. 'attention_rnn'), if any."""
  name = getattr(model, 'config_name', None)
  if name:
    return str(name)
  if model_path and os.path.isdir(model_path):
    config = _read_json(os.path.join(model_path, CONFIG_FILE)) or {}
    for key in ('melody_config', 'config'):
      if isinstance(config.get(key), str):
        return config[key]
  return None


def check_exportable(model, model_path: Optional[str] = None) -> None:
  """Raises ``ExportRefused`` (one line) unless magenta.js's basic MusicRNN can run ``model``."""
  name = _config_name(model, model_path)
  if name in _UNSUPPORTED_CONFIGS:
    raise ExportRefused(_UNSUPPORTED_CONFIGS[name])
  if type(model) is not model_lib.NoteRnn or any(  # pylint: disable=unidiomatic-typecheck
      type(c) is not tf.keras.layers.LSTMCell for c in model.lstm_cells):
    raise ExportRefused('%s is not a plain stacked-LSTM Note RNN; magenta.js MusicRNN runs '
                        'only plain basic LSTM layers over its one-hot' % type(model).__name__)
  input_size = int(model.lstm_cells[0].kernel.shape[0])
  if model.num_classes != encoding.NUM_CLASSES or input_size != encoding.NUM_CLASSES:
    raise ExportRefused(
        'the model reads %d inputs and predicts %d classes; magenta.js MusicRNN with '
        'MelodyConverter %d-%d reads and predicts exactly the %d-class one-hot'
        % (input_size, model.num_classes, MIN_PITCH, MAX_PITCH, encoding.NUM_CLASSES))


def music_rnn_spec() -> dict:
  """The ``MusicRNNSpec`` magenta.js reads from ``config.json``."""
  return {'type': 'MusicRNN',
          'dataConverter': {'type': 'MelodyConverter',
                            'args': {'minPitch': MIN_PITCH, 'maxPitch': MAX_PITCH}}}


def write_weights(arrays: dict, output_dir: str, shard_bytes: int = SHARD_BYTES) -> list:
  """Writes tensorflowjs' weights layout for ``{name: array}`` (one group, float32).

  The group's tensors are concatenated in the given order as little-endian float32 and cut
  into consecutive shards of at most ``shard_bytes`` (a tensor may straddle two shards, as
  in tensorflowjs).

  Returns:
    the manifest (also written to ``output_dir/weights_manifest.json``).
  """
  if shard_bytes <= 0 or shard_bytes % 4:
    raise ValueError('shard_bytes must be a positive multiple of 4, got %r' % shard_bytes)
  entries, chunks = [], []
  for name, value in arrays.items():
    value = np.asarray(value, np.float32)
    entries.append({'name': name, 'shape': list(value.shape), 'dtype': 'float32'})
    chunks.append(value.astype('<f4').tobytes())
  data = b''.join(chunks)
  num_shards = max(1, -(-len(data) // shard_bytes))
  paths = ['group1-shard%dof%d.bin' % (i + 1, num_shards) for i in range(num_shards)]
  for i, shard in enumerate(paths):
    with open(os.path.join(output_dir, shard), 'wb') as f:
      f.write(data[i * shard_bytes:(i + 1) * shard_bytes])
  manifest = [{'paths': paths, 'weights': entries}]
  with open(os.path.join(output_dir, MANIFEST_FILE), 'w') as f:
    json.dump(manifest, f, indent=1)
  return manifest


def read_weights(checkpoint_dir: str) -> dict:
  """Reads a tensorflowjs float32 weights manifest and its shards back into ``{name: array}``."""
  manifest_path = os.path.join(checkpoint_dir, MANIFEST_FILE)
  with open(manifest_path) as f:
    manifest = json.load(f)
  out = {}
  for group in manifest:
    data = b''.join(open(os.path.join(checkpoint_dir, p), 'rb').read() for p in group['paths'])
    offset = 0
    for entry in group['weights']:
      if entry.get('dtype', 'float32') != 'float32' or 'quantization' in entry:
        raise ValueError('%s: %s is not plain float32' % (manifest_path, entry['name']))
      count = int(np.prod(entry['shape'], dtype=np.int64))
      if offset + 4 * count > len(data):
        raise ValueError('%s: the shards end inside %s' % (manifest_path, entry['name']))
      out[entry['name']] = np.frombuffer(data, '<f4', count, offset).reshape(entry['shape'])
      offset += 4 * count
  return out


def load(checkpoint_dir: str) -> model_lib.NoteRnn:
  """A ``NoteRnn`` from a magenta.js MusicRNN directory (through the TF1 importer)."""
  spec = _read_json(os.path.join(checkpoint_dir, CONFIG_FILE)) or {}
  if spec.get('type') != 'MusicRNN' or spec.get('dataConverter') != music_rnn_spec()[
      'dataConverter']:
    raise ValueError('%s: not a basic MusicRNN checkpoint (config.json must say MusicRNN with '
                     'MelodyConverter %d-%d)' % (checkpoint_dir, MIN_PITCH, MAX_PITCH))
  return magenta_checkpoint.model_from_tf1_variables(read_weights(checkpoint_dir))


def check_output_dir(output_dir: str) -> None:
  """Refuses to replace a directory that is neither empty nor a MusicRNN export."""
  if not os.path.isdir(output_dir):
    if os.path.exists(output_dir):
      raise OutputDirError('%s exists and is not a directory' % output_dir)
    return
  if os.listdir(output_dir) and (_read_json(os.path.join(output_dir, CONFIG_FILE))
                                 or {}).get('type') != 'MusicRNN':
    raise OutputDirError('%s holds other files and is not a magenta.js export: choose an empty '
                     'or new directory' % output_dir)


def write_checkpoint(model: model_lib.NoteRnn, output_dir: str, info: Optional[dict] = None,
                     shard_bytes: int = SHARD_BYTES) -> str:
  """Writes ``model`` as a magenta.js MusicRNN directory, replacing ``output_dir`` whole.

  The files are written into a temporary sibling directory that is then renamed, so a killed
  export leaves the previous directory (or none), never a half-written one.

  Args:
    model: a basic 38-class Note RNN (``check_exportable`` is applied).
    output_dir: the directory to create or replace.
    info: extra facts stored under ``config.json``'s ``rlTuner`` key (magenta.js ignores it).
    shard_bytes: shard size.

  Returns:
    output_dir.
  """
  check_exportable(model)
  output_dir = os.path.abspath(output_dir)
  check_output_dir(output_dir)
  parent = os.path.dirname(output_dir)
  os.makedirs(parent, exist_ok=True)
  tmp = tempfile.mkdtemp(prefix='.%s.tmp-' % os.path.basename(output_dir), dir=parent)
  try:
    write_weights(magenta_checkpoint.melody_rnn_arrays(model), tmp, shard_bytes)
    spec = music_rnn_spec()
    spec['rlTuner'] = dict(info or {}, layer_sizes=list(model.layer_sizes))
    config_lib.write_json_atomic(os.path.join(tmp, CONFIG_FILE), spec)
    os.chmod(tmp, 0o755)
    old = None
    if os.path.isdir(output_dir):
      old = tempfile.mkdtemp(prefix='.%s.old-' % os.path.basename(output_dir), dir=parent)
      os.rename(output_dir, os.path.join(old, 'dir'))
    os.rename(tmp, output_dir)
    if old:
      shutil.rmtree(old, ignore_errors=True)
  except BaseException:
    shutil.rmtree(tmp, ignore_errors=True)
    raise
  return output_dir


def export_magenta_js(checkpoint: Optional[str], output_dir: Optional[str] = None) -> str:
  """``bin/export_magenta_js``: resolves ``checkpoint``, checks the model and writes the dir.

  Raises:
    ExportRefused: what magenta.js cannot run (one line).
    OutputDirError: no ``output_dir`` for a source that is not a run dir, or one that holds
      other files.
    FileNotFoundError: a missing source.
  """
  source = resolve_source(checkpoint)
  output_dir = output_dir or source.default_output_dir
  if not output_dir:
    raise OutputDirError('is needed when --checkpoint is not a run dir')
  check_output_dir(output_dir)
  model = loading.load(source.model_path)
  check_exportable(model, source.model_path or loading.default_model_dir())
  return write_checkpoint(model, output_dir, source.info)
