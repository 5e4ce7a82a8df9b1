"""The Note RNN: stacked LSTMs over a melody config's input features, then a linear layer.

Every Magenta melody_rnn config is a Note RNN here (``note_rnn.melody_configs``): ``basic_rnn``
(and our ``rl_tuner_default``, a 1 x 100 basic_rnn), ``mono_rnn``, ``lookback_rnn`` and, in
``note_rnn.attention_model``, ``attention_rnn``. The same weights serve two call patterns:

* whole sequences of encoded inputs (training, scoring): ``logits(inputs [B, T, input_size])``
  runs Keras ``LSTM`` layers, whose cells are ``lstm_cells``;
* one step at a time (sampling, the RL Tuner): ``step_classes(classes [B], state)`` takes the
  class of the previous event, computes the config's input features in-graph from the event
  history the state carries (``note_rnn.features``) and advances the LSTMs; ``step(inputs,
  cell_state)`` does the last part alone on an encoded input. Both are a few fused ops, cheap
  inside ``tf.function`` / ``tf.while_loop``, and never retrace for a new batch value.

State: the cell state is a tuple with one ``(h, c)`` pair per layer, each float32 [B, units]
(Keras's order; Magenta's TF1 graphs flatten ``(c, h)``, see ``magenta_checkpoint``). For the
one-hot configs (basic_rnn, mono_rnn) that is the whole state, as it always was; lookback and
attention models carry ``{'cell': cell state, **the encoder's event history}``.
``state_spec()`` gives the same nest as ``tf.TensorSpec``s without the batch dimension.
There is no embedding: the features go straight into the first LSTM, as in Magenta.
"""

import json
import os
from typing import Optional, Sequence

import numpy as np
import tensorflow as tf

from note_rnn import config as config_lib
from note_rnn import features as features_lib
from note_rnn import melody_configs
# Run-dir files, re-exported for the callers that always found them here.
from note_rnn.run_files import BEST_DIR  # noqa: F401 pylint: disable=unused-import
from note_rnn.run_files import BEST_INFO_FILE  # noqa: F401 pylint: disable=unused-import
from note_rnn.run_files import best_weights_prefix  # noqa: F401 pylint: disable=unused-import
from note_rnn.run_files import CHECKPOINTS_DIR  # noqa: F401 pylint: disable=unused-import
from note_rnn.run_files import CONFIG_FILE
from note_rnn.run_files import read_best_info  # noqa: F401 pylint: disable=unused-import
from note_rnn.run_files import RUN_DIR_FORMAT
from note_rnn.run_files import WEIGHTS_PREFIX  # noqa: F401 pylint: disable=unused-import
from note_rnn.run_files import write_best

State = tuple  # tuple[(h [B, u], c [B, u]) per layer]; lookback/attention: a dict around it


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
  """Stacked cells plus the output layer for one step: inputs [B, D] -> (logits, state).

  Args:
    cells: the ``LSTMCell`` of each layer (gate order i, f, c, o; bias holds the forget bias).
    dense: the output layer.
    inputs: float32 [B, input size] the encoded input.
    state: one ``(h, c)`` pair per layer.

  Returns:
    (logits float32 [B, num_classes], new state of the same structure).
  """
  x = inputs
  new_state = []
  for cell, layer_state in zip(cells, state):
    h, c = lstm_cell_step(cell, tf.matmul(x, cell.kernel), layer_state)
    new_state.append((h, c))
    x = h
  return tf.matmul(x, dense.kernel) + dense.bias, tuple(new_state)


def _initializer(seed, kind, k):
  s = None if seed is None else int(seed) * 101 + k
  if kind == 'orthogonal':
    return tf.keras.initializers.Orthogonal(seed=s)
  return tf.keras.initializers.GlorotUniform(seed=s)


class NoteRnn(tf.Module):
  """An LSTM language model over melody events, in one of Magenta's melody_rnn configs.

  Attributes:
    melody_config: the ``melody_configs.MelodyConfig`` (encoding, classes, defaults).
    encoder: its in-graph input encoder (``note_rnn.features``).
    lstm_cells: the ``tf.keras.layers.LSTMCell`` of each layer (gate order i, f, c, o).
    lstm_layers: the ``tf.keras.layers.LSTM`` wrappers around those cells.
    dense: the output ``tf.keras.layers.Dense`` (kernel [units_last, num_classes]).
  """

  def __init__(self, layer_sizes: Sequence[int] = (100,), *, config: str = 'basic_rnn',
               num_classes: Optional[int] = None, seed: Optional[int] = None,
               name: str = 'note_rnn'):
    super().__init__(name=name)
    layer_sizes = tuple(int(u) for u in layer_sizes)
    if not layer_sizes or any(u <= 0 for u in layer_sizes):
      raise ValueError('layer_sizes must be a non-empty sequence of positive ints, got %r'
                       % (layer_sizes,))
    self.melody_config = melody_configs.get(config)
    if num_classes is not None and int(num_classes) != self.melody_config.num_classes:
      raise ValueError('%s has %d classes, not %r' % (config, self.melody_config.num_classes,
                                                      num_classes))
    self._layer_sizes = layer_sizes
    self._num_classes = self.melody_config.num_classes
    self.encoder = features_lib.for_config(self.melody_config)
    self._build_recurrent(seed)
    self.dense = tf.keras.layers.Dense(self._num_classes, name='dense',
                                       kernel_initializer=_initializer(seed, 'glorot', 1000))
    self.dense.build((None, layer_sizes[-1]))

  def _build_recurrent(self, seed) -> None:
    self.lstm_layers = []
    in_dim = self.input_size
    for i, units in enumerate(self._layer_sizes):
      layer = tf.keras.layers.LSTM(
          units, return_sequences=True, return_state=True, name='lstm_%d' % i,
          kernel_initializer=_initializer(seed, 'glorot', 2 * i),
          recurrent_initializer=_initializer(seed, 'orthogonal', 2 * i + 1))
      layer.build((None, None, in_dim))
      self.lstm_layers.append(layer)
      in_dim = units
    self.lstm_cells = [layer.cell for layer in self.lstm_layers]

  @property
  def config_name(self) -> str:
    """Magenta's config name (also the generator id of an exported bundle)."""
    return self.melody_config.name

  @property
  def layer_sizes(self) -> tuple:
    return self._layer_sizes

  @property
  def num_classes(self) -> int:
    return self._num_classes

  @property
  def input_size(self) -> int:
    return self.melody_config.input_size

  @property
  def has_history(self) -> bool:
    """Whether the state carries an event history (lookback and attention configs)."""
    return bool(self.encoder.state_spec())

  def initial_cell_state(self, batch_size):
    """Zero state of the recurrent layers: one ``(h, c)`` pair of [batch_size, units] each."""
    return tuple((tf.zeros([batch_size, u], tf.float32), tf.zeros([batch_size, u], tf.float32))
                 for u in self._layer_sizes)

  def cell_state_spec(self):
    return tuple((tf.TensorSpec([u], tf.float32), tf.TensorSpec([u], tf.float32))
                 for u in self._layer_sizes)

  def initial_state(self, batch_size):
    """The state before the first event (see the module docstring for its structure)."""
    cell = self.initial_cell_state(batch_size)
    if not self.has_history:
      return cell
    return {'cell': cell, **self.encoder.initial_state(batch_size)}

  def state_spec(self):
    """``initial_state``'s nest as ``tf.TensorSpec``s without the batch dimension."""
    if not self.has_history:
      return self.cell_state_spec()
    return {'cell': self.cell_state_spec(), **self.encoder.state_spec()}

  def step(self, inputs, state):
    """Advances the recurrent layers by one encoded input.

    Args:
      inputs: float32 [B, input_size] (the one-hot for basic_rnn and mono_rnn).
      state: the cell state (``initial_cell_state``; for one-hot configs ``initial_state``).

    Returns:
      (logits float32 [B, num_classes], new cell state).
    """
    return lstm_stack_step(self.lstm_cells, self.dense, tf.convert_to_tensor(inputs, tf.float32),
                           state)

  def step_classes(self, classes, state):
    """Feeds the class index of the previous event; the input features come from the state.

    Args:
      classes: int [B], classes in this config's layout (repeat labels included).
      state: what ``initial_state`` or the previous call returned.

    Returns:
      (logits float32 [B, num_classes], new state of the same structure).
    """
    if not self.has_history:
      return self.step(tf.one_hot(tf.cast(classes, tf.int32), self._num_classes), state)
    history = {k: v for k, v in state.items() if k != 'cell'}
    _, inputs, history = self.encoder.encode(classes, history)
    logits, cell = self.step(inputs, state['cell'])
    return logits, {'cell': cell, **history}

  def newest_event(self, classes, state):
    """The melody event int32 [B] of the classes [B] just fed to ``step_classes`` (``state``
    is what it returned): a repeat label resolved against the whole history the state
    carries, primer events included, in graph."""
    if not self.has_history:
      return self.encoder.class_events(classes)
    return state['events'][:, -1]

  def events_from_classes(self, classes, history=None) -> np.ndarray:
    """Classes [B, T] -> Magenta melody events [B, T] (-2 hold, -1 note-off, 0..127 pitch),
    repeat labels resolved against ``history`` [B, H] (the events before) and each other."""
    return melody_configs.events_from_classes(self.melody_config, classes, history)

  def classes_from_events(self, events, history=None) -> np.ndarray:
    """Melody events [B, T] -> this config's classes (repeat labels where Magenta puts them)."""
    return melody_configs.classes_from_events(self.melody_config, events, history)

  def inputs_from_classes(self, classes) -> np.ndarray:
    """Class sequences [B, T] from the melody's start -> encoded inputs [B, T, input_size]."""
    return features_lib.encode_sequence(self.encoder, classes)[1]

  def logits_and_state(self, inputs, state=None, *, training=False,
                       dropout_rate: float = 0.0):
    """Runs whole sequences of encoded inputs.

    Args:
      inputs: float32 [B, T, input_size].
      state: optional start cell state (default zeros).
      training: enables dropout (Magenta's per-layer output dropout) when
        ``dropout_rate > 0``.
      dropout_rate: 1 - keep probability, applied after each LSTM layer.

    Returns:
      (logits float32 [B, T, num_classes], final cell state).
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
    """Logits float32 [B, T, num_classes] for inputs [B, T, input_size] from the zero state."""
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
            'num_classes': self._num_classes, 'input_size': self.input_size,
            'config_name': self.config_name,
            'encoding': config_lib.encoding_dict(self.melody_config)}

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


def build(layer_sizes: Sequence[int] = (100,), seed: Optional[int] = None, *,
          config: str = 'basic_rnn', attn_length: Optional[int] = None) -> NoteRnn:
  """A randomly initialised Note RNN of ``config`` (seeded when ``seed`` is set).

  ``attn_length`` (attention_rnn only) defaults to the config's, 40.
  """
  if melody_configs.get(config).attn_length:
    from note_rnn import attention_model  # pylint: disable=g-import-not-at-top
    return attention_model.AttentionNoteRnn(layer_sizes, attn_length=attn_length, seed=seed)
  if attn_length:
    raise ValueError('attn_length is for attention_rnn, not %s' % config)
  return NoteRnn(layer_sizes, config=config, seed=seed)
