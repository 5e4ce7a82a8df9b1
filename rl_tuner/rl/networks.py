"""Q-networks built from a Note RNN's Keras layers, for tf-agents.

`NoteRnnQNetwork` is a `tf_agents.networks.Network` with its own Keras
`LSTMCell`s and `Dense` layer, shaped like the Note RNN (one-hot 38 → LSTM
layers → 38 outputs, no embedding) and initialised from its weights. It reads
only the observation's `note` one-hot; the state is one (h, c) pair per layer
and is reset on FIRST steps, so whole episodes [B, T+1] unroll from their start
(bug 17 fixed). With primers (priming modes that run a primer through each
network) the FIRST state is the state after the primer's events 0..P-2, computed
with the network's *current* weights (bug 22 fixed), chosen by the
observation's `primer` row index.

The cell maths is `note_rnn.model.lstm_cell_step` on the cells' variables (the
Note RNN's own step), with the input projection of the first layer done as one
matmul for the whole sequence, so the unrolled graph compiles well with XLA.
"""

from typing import Optional, Sequence

import numpy as np
import tensorflow as tf
from tf_agents.networks import network
from tf_agents.specs import tensor_spec
from tf_agents.trajectories import time_step as ts

from note_rnn.model import lstm_cell_step
from note_rnn.model import lstm_stack_step
from pipelines import encoding
from rl_tuner.policy import step_models


def _zero_state(layer_sizes, batch_size):
  return tuple((tf.zeros([batch_size, u], tf.float32), tf.zeros([batch_size, u], tf.float32))
               for u in layer_sizes)


def primers_constant(primers) -> Optional[tf.Tensor]:
  """int [M, P] primer classes (P >= 1) as a constant the networks' reset reads, or None.

  Raises:
    ValueError: any other shape.
  """
  if primers is None:
    return None
  primers = np.asarray(primers, np.int32)
  if primers.ndim != 2 or primers.shape[1] < 1:
    raise ValueError('primers must be int [M, P] with P >= 1, got %s' % (primers.shape,))
  return tf.constant(primers)


class NoteRnnQNetwork(network.Network):
  """LSTM layers → Dense(38) over observation['note'], initialised from a Note RNN.

  Call with observation tensors [B, 38] (one step) or [B, T, 38] (sequences) and
  a `step_type` of the same outer shape; returns (values [B, (T,) 38], state).
  """

  def __init__(self, input_tensor_spec, layer_sizes: Sequence[int] = (100,), *,
               initial_weights: Optional[Sequence[np.ndarray]] = None,
               primers: Optional[np.ndarray] = None, trainable: bool = True,
               name: str = 'NoteRnnQNetwork'):
    """Builds the layers.

    Args:
      input_tensor_spec: the observation spec (a dict with 'note' [38]).
      layer_sizes: LSTM units per layer, e.g. (100,).
      initial_weights: arrays in `NoteRnn.get_weights()` order (per layer kernel,
        recurrent kernel, bias; then dense kernel, bias), or None for random.
      primers: int [M, P] encoded primer events (P >= 1) or None. Row
        `observation['primer']` primes each episode.
      trainable: False for the frozen prior.
      name: the network's name.
    """
    layer_sizes = tuple(int(u) for u in layer_sizes)
    state_spec = tuple((tf.TensorSpec([u], tf.float32), tf.TensorSpec([u], tf.float32))
                       for u in layer_sizes)
    super().__init__(input_tensor_spec=input_tensor_spec, state_spec=state_spec, name=name)
    self._layer_sizes = layer_sizes
    self._cells = []
    in_dim = encoding.NUM_CLASSES
    for k, units in enumerate(layer_sizes):
      cell = tf.keras.layers.LSTMCell(units, name='lstm_cell_%d' % k, trainable=trainable)
      cell.build((None, in_dim))
      self._cells.append(cell)
      in_dim = units
    self._dense = tf.keras.layers.Dense(encoding.NUM_CLASSES, name='dense', trainable=trainable)
    self._dense.build((None, in_dim))
    if initial_weights is not None:
      self.set_note_rnn_weights(initial_weights)
    self._primers = primers_constant(primers)

  @property
  def layer_sizes(self) -> tuple:
    return self._layer_sizes

  @property
  def cells(self) -> list:
    return self._cells

  @property
  def dense(self):
    return self._dense

  @property
  def primers(self):
    """The primer rows [M, P] (a constant), or None for random_note priming."""
    return self._primers

  @property
  def weight_variables(self) -> list:
    out = []
    for cell in self._cells:
      out += [cell.kernel, cell.recurrent_kernel, cell.bias]
    return out + [self._dense.kernel, self._dense.bias]

  def get_note_rnn_weights(self) -> list:
    return [v.numpy() for v in self.weight_variables]

  def set_note_rnn_weights(self, weights: Sequence[np.ndarray]) -> None:
    variables = self.weight_variables
    if len(weights) != len(variables):
      raise ValueError('expected %d weight arrays, got %d' % (len(variables), len(weights)))
    for v, w in zip(variables, weights):
      if tuple(v.shape) != tuple(np.shape(w)):
        raise ValueError('weight shape mismatch for %s: %s vs %s'
                         % (v.name, tuple(v.shape), np.shape(w)))
      v.assign(np.asarray(w, np.float32))

  def initial_state(self, batch_size):
    return _zero_state(self._layer_sizes, batch_size)

  def primed_state(self, primer_rows):
    """State after each row's primer events 0..P-2, from zero: rows int [B]."""
    batch = tf.shape(primer_rows)[0]
    state = self.initial_state(batch)
    if self._primers is None:
      return state
    events = tf.gather(self._primers, primer_rows)
    for p in range(int(self._primers.shape[1]) - 1):
      _, state = self.step(tf.one_hot(events[:, p], encoding.NUM_CLASSES), state)
    return state

  def first_observations(self, primer_rows):
    """o_0 of each episode: the primer's last event. rows int [B] -> int32 [B]."""
    return tf.gather(self._primers[:, -1], primer_rows)

  def step(self, inputs, state):
    """One step on a one-hot [B, 38]: (values [B, 38], new state)."""
    return lstm_stack_step(self._cells, self._dense, inputs, state)

  def call(self, observation, step_type=None, network_state=(), training=False):
    note, has_time, first, start_state, state = episode_inputs(
        self, observation, step_type, network_state)
    batch, num_steps = tf.shape(note)[0], note.shape[1]

    x_all = tf.reshape(
        tf.matmul(tf.reshape(note, [-1, encoding.NUM_CLASSES]), self._cells[0].kernel),
        [batch, num_steps, -1])
    hidden, state = self._unroll(x_all, first, start_state, state, num_steps)
    values = tf.reshape(
        tf.matmul(tf.reshape(hidden, [-1, self._layer_sizes[-1]]), self._dense.kernel)
        + self._dense.bias, [batch, num_steps, encoding.NUM_CLASSES])
    if not has_time:
      values = values[:, 0]
    return values, state

  def _unroll(self, x_all, first, start_state, state, num_steps: int):
    """Runs the cells over projected inputs [B, T, 4u]; the state resets on FIRST steps.

    Returns (last layer's h [B, T, u], final state).
    """
    def one_step(t, state):
      reset = first[:, t][:, None]
      state = tf.nest.map_structure(lambda s0, s: tf.where(reset, s0, s), start_state, state)
      new_state = []
      x_proj = x_all[:, t]
      for k, (cell, layer_state) in enumerate(zip(self._cells, state)):
        if k > 0:
          x_proj = tf.matmul(new_state[-1][0], cell.kernel)
        new_state.append(lstm_cell_step(cell, x_proj, layer_state))
      return tuple(new_state)

    if num_steps == 1:
      state = one_step(0, state)
      return state[-1][0][:, None], state

    # A graph loop rather than a Python one: tracing stays fast for long episodes.
    def body(t, state, outputs):
      state = one_step(t, state)
      return t + 1, state, outputs.write(t, state[-1][0])

    _, state, outputs = tf.while_loop(
        lambda t, *_: t < num_steps, body,
        (tf.constant(0), state, tf.TensorArray(tf.float32, size=num_steps)),
        maximum_iterations=num_steps)
    return tf.transpose(outputs.stack(), [1, 0, 2]), state


def episode_inputs(network, observation, step_type, network_state):
  """What a network's `call` over one step [B, ...] or episodes [B, T, ...] starts from.

  Shared by `NoteRnnQNetwork` and the any-config `ModelQNetwork`: the one-hot notes with a
  time axis, whether the call had one, the FIRST mask [B, T] (the state resets there), the
  start state (zero, or after each episode's primer rows, from `network.primed_state`) and
  the incoming state (the start state when none is given).
  """
  note = tf.convert_to_tensor(observation['note'], tf.float32)
  has_time = note.shape.rank == 3
  if not has_time:
    note = note[:, None]
    if step_type is not None:
      step_type = step_type[:, None]
  batch, num_steps = tf.shape(note)[0], note.shape[1]
  if num_steps is None:
    raise ValueError('%s needs a static time dimension, got %s'
                     % (type(network).__name__, note.shape))
  if network.primers is not None:
    primer = tf.convert_to_tensor(observation['primer'])
    if has_time:
      primer = primer[:, 0]
    # tf-agents builds the variables on a random sample of the (unbounded) int spec;
    # real rows are already in [0, M) and stay unchanged.
    primer = tf.math.floormod(primer, tf.shape(network.primers, out_type=primer.dtype)[0])
    start_state = network.primed_state(primer)
  else:
    start_state = network.initial_state(batch)
  if network_state is None or not tf.nest.flatten(network_state):
    state = start_state
  else:
    state = tf.nest.pack_sequence_as(start_state, [
        tf.convert_to_tensor(s) for s in tf.nest.flatten(network_state)])
  first = (tf.zeros([batch, num_steps], tf.bool) if step_type is None
           else tf.equal(step_type, ts.StepType.FIRST))
  return note, has_time, first, start_state, state


class PriorAddedNetwork(network.Network):
  """Wraps a G network: outputs G(s, ·) + observation['prior_log_probs'] (g's acting logits)."""

  def __init__(self, g_network: NoteRnnQNetwork, name: str = 'PriorAddedNetwork'):
    super().__init__(input_tensor_spec=g_network.input_tensor_spec,
                     state_spec=g_network.state_spec, name=name)
    self._g_network = g_network

  def call(self, observation, step_type=None, network_state=(), training=False):
    values, state = self._g_network(observation, step_type=step_type,
                                    network_state=network_state, training=training)
    return step_models.g_logits(values, observation['prior_log_probs']), state


def observation_spec(with_primer: bool) -> dict:
  """The TF observation spec of `CompositionEnv` (see environment.py)."""
  spec = {
      'note': tensor_spec.TensorSpec([encoding.NUM_CLASSES], tf.float32, name='note'),
      'prior_log_probs': tensor_spec.TensorSpec([encoding.NUM_CLASSES], tf.float32,
                                                name='prior_log_probs'),
  }
  if with_primer:
    spec['primer'] = tensor_spec.TensorSpec([], tf.int32, name='primer')
  return spec
