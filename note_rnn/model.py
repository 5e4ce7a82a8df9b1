"""The Note RNN: stacked Keras LSTMs over the 38-class melody one-hot, then a linear layer.

The same weights serve two call patterns:

* whole sequences (training, scoring): ``NoteRnn.logits(inputs [B, T, 38])`` runs Keras
  ``LSTM`` layers, whose cells are the ``lstm_cells`` below;
* one step at a time with explicit state (sampling, the RL Tuner's environment and
  Q-network): ``NoteRnn.step(inputs [B, 38], state)``. It is a few fused matmuls on the
  cells' own variables, so inside a ``tf.function`` loop it costs one cell step and
  nothing more, and it never retraces for a new batch value.

State is a tuple with one ``(h, c)`` pair per layer, each float32 ``[B, units]`` (Keras's
order; Magenta's TF1 graphs flatten ``(c, h)`` instead, see ``magenta_checkpoint``).
There is no embedding: the one-hot goes straight into the first LSTM, as in Magenta.

A run dir of ours (``interfaces.md`` §2) holds ``config.json`` and the weights in
``best/`` (and ``checkpoints/`` while training); ``save`` writes one and
``note_rnn.load`` reads it.
"""

import json
import os
import shutil
import tempfile
from typing import Optional, Sequence

import numpy as np
import tensorflow as tf

from note_rnn import config as config_lib
from pipelines import encoding

State = tuple  # tuple[(h [B, u], c [B, u]) per layer]

CONFIG_FILE = 'config.json'
BEST_DIR = 'best'
CHECKPOINTS_DIR = 'checkpoints'
WEIGHTS_PREFIX = 'model'  # best/model.index, best/model.data-00000-of-00001
BEST_INFO_FILE = 'info.json'
RUN_DIR_FORMAT = 'rl_tuner.note_rnn.run_dir/1'


def lstm_cell_step(cell, x_projected, state):
  """One step of a Keras `LSTMCell` given its input already multiplied by the kernel.

  The one LSTM step of the project: the Note RNN, the RL Tuner's networks and every
  rebuilt policy call it, so a policy samples with exactly the maths it was trained with.
  Taking the projection lets a caller do the first layer's input matmul for a whole
  sequence at once.

  Args:
    cell: a built `tf.keras.layers.LSTMCell` (gate order i, f, c, o).
    x_projected: float32 [B, 4u] = inputs @ cell.kernel.
    state: (h [B, u], c [B, u]).

  Returns:
    (h, c) of the next step.
  """
  h, c = state
  z = x_projected + tf.matmul(h, cell.recurrent_kernel) + cell.bias
  i, f, g, o = tf.split(z, 4, axis=-1)
  c = tf.sigmoid(f) * c + tf.sigmoid(i) * tf.tanh(g)
  h = tf.sigmoid(o) * tf.tanh(c)
  return h, c


def lstm_stack_step(cells, dense, inputs, state):
  """Stacked cells plus the output layer for one step: inputs [B, D] -> (logits, state)."""
  x = inputs
  new_state = []
  for cell, layer_state in zip(cells, state):
    h, c = lstm_cell_step(cell, tf.matmul(x, cell.kernel), layer_state)
    new_state.append((h, c))
    x = h
  return tf.matmul(x, dense.kernel) + dense.bias, tuple(new_state)


class NoteRnn(tf.Module):
  """An LSTM language model over melody events.

  Attributes:
    layer_sizes: units of each LSTM layer, e.g. ``(100,)``.
    num_classes: size of the one-hot input and of the logits (38).
    lstm_cells: the ``tf.keras.layers.LSTMCell`` of each layer (gate order i, f, c, o).
    lstm_layers: the ``tf.keras.layers.LSTM`` wrappers around those cells.
    dense: the output ``tf.keras.layers.Dense`` (kernel [units_last, num_classes]).
  """

  def __init__(self, layer_sizes: Sequence[int] = (100,), *,
               num_classes: int = encoding.NUM_CLASSES, seed: Optional[int] = None,
               name: str = 'note_rnn'):
    super().__init__(name=name)
    layer_sizes = tuple(int(u) for u in layer_sizes)
    if not layer_sizes or any(u <= 0 for u in layer_sizes):
      raise ValueError('layer_sizes must be a non-empty sequence of positive ints, got %r'
                       % (layer_sizes,))
    self._layer_sizes = layer_sizes
    self._num_classes = int(num_classes)

    def init(kind, k):
      s = None if seed is None else int(seed) * 101 + k
      if kind == 'orthogonal':
        return tf.keras.initializers.Orthogonal(seed=s)
      return tf.keras.initializers.GlorotUniform(seed=s)

    self.lstm_layers = []
    in_dim = self._num_classes
    for i, units in enumerate(layer_sizes):
      layer = tf.keras.layers.LSTM(
          units, return_sequences=True, return_state=True, name='lstm_%d' % i,
          kernel_initializer=init('glorot', 2 * i),
          recurrent_initializer=init('orthogonal', 2 * i + 1))
      layer.build((None, None, in_dim))
      self.lstm_layers.append(layer)
      in_dim = units
    self.dense = tf.keras.layers.Dense(self._num_classes, name='dense',
                                       kernel_initializer=init('glorot', 1000))
    self.dense.build((None, in_dim))
    self.lstm_cells = [layer.cell for layer in self.lstm_layers]

  @property
  def layer_sizes(self) -> tuple:
    return self._layer_sizes

  @property
  def num_classes(self) -> int:
    return self._num_classes

  def initial_state(self, batch_size) -> State:
    """Zero state: one ``(h, c)`` pair of float32 ``[batch_size, units]`` per layer."""
    return tuple((tf.zeros([batch_size, u], tf.float32), tf.zeros([batch_size, u], tf.float32))
                 for u in self._layer_sizes)

  def step(self, inputs, state: State):
    """Advances every layer by one step.

    Args:
      inputs: float32 [B, 38] one-hot (or any real vector) of the current event.
      state: the tuple ``initial_state`` returns.

    Returns:
      (logits float32 [B, 38], new state of the same structure).
    """
    return lstm_stack_step(self.lstm_cells, self.dense, tf.convert_to_tensor(inputs, tf.float32),
                           state)

  def logits_and_state(self, inputs, state: Optional[State] = None, *, training=False,
                       dropout_rate: float = 0.0):
    """Runs whole sequences.

    Args:
      inputs: float32 [B, T, 38].
      state: optional start state (default zeros).
      training: enables dropout (Magenta's per-layer output dropout) when
        ``dropout_rate > 0``.
      dropout_rate: 1 - keep probability, applied after each LSTM layer.

    Returns:
      (logits float32 [B, T, 38], final state).
    """
    x = tf.convert_to_tensor(inputs, tf.float32)
    final = []
    for k, layer in enumerate(self.lstm_layers):
      init = None if state is None else list(state[k])
      x, h, c = layer(x, initial_state=init, training=training)
      final.append((h, c))
      if training and dropout_rate > 0:
        x = tf.nn.dropout(x, rate=dropout_rate)
    return self.dense(x), tuple(final)

  def logits(self, inputs, *, training=False, dropout_rate: float = 0.0):
    """Logits float32 [B, T, 38] for inputs [B, T, 38] from the zero state."""
    return self.logits_and_state(inputs, training=training, dropout_rate=dropout_rate)[0]

  def __call__(self, inputs, training=False):
    return self.logits(inputs, training=training)

  @property
  def weight_variables(self) -> list:
    """Per layer [kernel, recurrent_kernel, bias], then [dense kernel, dense bias]."""
    out = []
    for cell in self.lstm_cells:
      out += [cell.kernel, cell.recurrent_kernel, cell.bias]
    return out + [self.dense.kernel, self.dense.bias]

  def get_weights(self) -> list:
    """numpy arrays in the order of ``weight_variables``."""
    return [v.numpy() for v in self.weight_variables]

  def set_weights(self, weights: Sequence[np.ndarray]) -> None:
    """Assigns arrays in the order of ``weight_variables``; shapes must match exactly."""
    variables = self.weight_variables
    weights = list(weights)
    if len(weights) != len(variables):
      raise ValueError('expected %d arrays (%s), got %d' % (
          len(variables), [tuple(v.shape) for v in variables], len(weights)))
    for v, w in zip(variables, weights):
      w = np.asarray(w, np.float32)
      if tuple(v.shape) != w.shape:
        raise ValueError('shape mismatch for %s: model %s, given %s'
                         % (v.name, tuple(v.shape), w.shape))
    for v, w in zip(variables, weights):
      v.assign(np.asarray(w, np.float32))

  def config_dict(self) -> dict:
    return {'format': RUN_DIR_FORMAT, 'layer_sizes': list(self._layer_sizes),
            'num_classes': self._num_classes, 'encoding': config_lib.encoding_dict()}

  def save(self, run_dir: str, **metadata) -> str:
    """Writes ``run_dir/config.json`` and the weights in ``run_dir/best/``.

    Both are written atomically (temporary name, then rename). Extra keyword arguments are
    stored in config.json (e.g. ``source='...'``, ``eval_loss=0.8``).

    Returns:
      run_dir.
    """
    os.makedirs(run_dir, exist_ok=True)
    write_best(self, run_dir)
    cfg = self.config_dict()
    path = os.path.join(run_dir, CONFIG_FILE)
    if os.path.exists(path):
      with open(path) as f:
        old = json.load(f)
      old.update(cfg)
      cfg = old
    cfg.update(metadata)
    config_lib.write_json_atomic(path, cfg)
    return run_dir


def build(layer_sizes: Sequence[int] = (100,), seed: Optional[int] = None) -> NoteRnn:
  """A randomly initialised Note RNN (Keras default initialisers, seeded when ``seed`` is set)."""
  return NoteRnn(layer_sizes, seed=seed)


def write_best(model: NoteRnn, run_dir: str, info: Optional[dict] = None) -> str:
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


_OUR_VAR_PREFIX = 'model/lstm_cells/'


def is_our_checkpoint(variable_names: Sequence[str]) -> bool:
  return any(n.startswith(_OUR_VAR_PREFIX) for n in variable_names)


def layer_sizes_from_our_checkpoint(prefix: str) -> tuple:
  """Reads the layer sizes from the kernel shapes of a checkpoint ``save``/training wrote."""
  sizes = {}
  for name, shape in tf.train.list_variables(prefix):
    parts = name.split('/')
    if name.startswith(_OUR_VAR_PREFIX) and len(parts) > 3 and parts[3] == 'recurrent_kernel':
      sizes[int(parts[2])] = int(shape[0])
  if not sizes or sorted(sizes) != list(range(len(sizes))):
    raise ValueError('%s: not a Note RNN checkpoint of ours (no %s<i>/recurrent_kernel)'
                     % (prefix, _OUR_VAR_PREFIX))
  return tuple(sizes[i] for i in range(len(sizes)))


def restore_weights(model: NoteRnn, prefix: str) -> NoteRnn:
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
    raise ValueError('%s: not the weights of a Note RNN of ours with layer sizes %s (%s). '
                     'It holds: %s' % (prefix, list(model.layer_sizes),
                                       str(e).splitlines()[0][:200], names[:2000])) from None
  return model


def load_run_dir(run_dir: str) -> NoteRnn:
  """Loads a run dir of ours: sizes from config.json (or the weights), weights from best/."""
  prefix = best_weights_prefix(run_dir)
  if prefix is None:
    raise FileNotFoundError('%s: no weights (expected %s/%s.index or a checkpoint in %s/)'
                            % (run_dir, BEST_DIR, WEIGHTS_PREFIX, CHECKPOINTS_DIR))
  cfg_path = os.path.join(run_dir, CONFIG_FILE)
  layer_sizes = None
  if os.path.exists(cfg_path):
    with open(cfg_path) as f:
      cfg = json.load(f)
    layer_sizes = cfg.get('layer_sizes') or cfg.get('hparams', {}).get('rnn_layer_sizes')
  if not layer_sizes:
    layer_sizes = layer_sizes_from_our_checkpoint(prefix)
  return restore_weights(NoteRnn(layer_sizes), prefix)
