"""Magenta's ``attention_rnn`` recurrent stack in TF2: an attention LSTM, then plain LSTMs.

Magenta's ``events_rnn_graph.make_rnn_cell`` with ``attn_length > 0`` builds
``MultiRNNCell([AttentionCellWrapper(BasicLSTMCell(u0), attn_length), BasicLSTMCell(u1), ...])``
(``magenta.contrib.rnn`` keeps a copy of ``tf.contrib.rnn``'s wrapper, same maths and names):
only the **first** layer is wrapped, the others are plain LSTMs fed by the wrapper's output.
``AttentionLstmStack`` computes the same numbers one step at a time (``step``), on variables in
the TF1 layout, so a bundle's weights load and export unchanged.

One step, with x [B, I] the input and (h0, c0, a, W) the first layer's state (a: the last
attention read [B, A]; W: the window of the last ``attn_length`` wrapper outputs [B, L, A],
oldest first):

1. input projection: ``p = [x; a] @ K_in + b_in`` (size P = I unless Magenta was told
   otherwise). Feeding back the previous read lets the LSTM see what it attended to.
2. LSTM (TF1 ``BasicLSTMCell``): ``z = [p; h0] @ K0 + b0`` split into (i, j, f, o);
   ``c0' = c0 * sigmoid(f + 1.0) + sigmoid(i) * tanh(j)``; ``h0' = tanh(c0') * sigmoid(o)``.
   The forget bias 1.0 is added at run time, not stored in ``b0``.
3. attention over the window **before** this step's output joins it: the query is the new
   LSTM state flattened as TF1 does, ``q = [c0'; h0']`` (c first);
   ``u_l = attn_v . tanh(W_l @ attn_w + q @ K_q + b_q)`` for each slot l (TF1 computes
   ``W_l @ attn_w`` as a 1x1 ``conv2d``); ``alpha = softmax_l(u)``; ``a' = sum_l alpha_l W_l``.
   Empty (zero) slots take part too, exactly as in TF1.
4. output projection: ``y0 = [h0'; a'] @ K_out + b_out`` [B, A], the wrapper's output.
5. window shift: ``W' = [W_2 .. W_L, y0]`` (drop the oldest, append y0).
6. layers k >= 1: plain BasicLSTMCells on y0, then on each other's h. The stack's output is
   the last layer's h [B, u_last] (y0 when there is one layer). Magenta's logits,
   ``fully_connected`` (not part of this module), are ``output @ weights + biases``.

Generation uses no dropout (Magenta's DropoutWrapper has keep probability 1.0 there).

Variable mapping (``W = <scope>rnn/multi_rnn_cell/cell_0/attention_cell_wrapper/``; shapes for
the golden bundle: I = 74, u0 = u1 = A = V = 32; Magenta's default config has 128 units):

==========================  ===========================================  =================
attribute                   TF1 name                                     TF1 shape
==========================  ===========================================  =================
``input_kernel``            ``W kernel``                                 [I + A, P]
``input_bias``              ``W bias``                                   [P]
``lstm_kernels[0]``         ``W basic_lstm_cell/kernel``                 [P + u0, 4 u0]
``lstm_biases[0]``          ``W basic_lstm_cell/bias``                   [4 u0]
``attn_w``                  ``W attention/attn_w``                       [1, 1, A, V]
``attn_v``                  ``W attention/attn_v``                       [V]
``query_kernel``            ``W attention/kernel`` (rows: c0', then h0') [2 u0, V]
``query_bias``              ``W attention/bias``                         [V]
``output_kernel``           ``W attn_output_projection/kernel``          [u0 + A, A]
``output_bias``             ``W attn_output_projection/bias``            [A]
``lstm_kernels[k]``, k>=1   ``<scope>rnn/multi_rnn_cell/cell_k/basic_lstm_cell/kernel``
                            [in_k + u_k, 4 u_k], in_1 = A, in_k = u_{k-1}; ``.../bias`` [4 u_k]
==========================  ===========================================  =================

Every variable keeps its TF1 layout (fused [input; h] kernels, gate order i, j, f, o) except
``attn_w``, stored as its [A, V] matrix. ``get_weights`` lists the attributes in the table's
order (``lstm_kernels[k]``, ``lstm_biases[k]`` for k >= 1 last).

State (``AttentionState``): ``lstm`` holds one ``(h, c)`` pair per layer, each [B, u_k] (the
project's order, as ``NoteRnn``); ``attns`` [B, A]; ``attn_states`` [B, L, A]. Magenta's graphs
flatten it to ``(c0, h0, attns, attn_states as [B, L * A], c1, h1, ...)``:
``to_magenta_state`` / ``from_magenta_state`` convert.
"""

import re
from typing import NamedTuple, Optional, Sequence

import numpy as np
import tensorflow as tf

FORGET_BIAS = 1.0
DEFAULT_ATTN_LENGTH = 40  # Magenta's attention_rnn config

_WRAPPER = 'rnn/multi_rnn_cell/cell_0/attention_cell_wrapper/'
_WRAPPER_ROLES = (
    ('input_kernel', 'kernel'), ('input_bias', 'bias'),
    ('lstm_kernel_0', 'basic_lstm_cell/kernel'), ('lstm_bias_0', 'basic_lstm_cell/bias'),
    ('attn_w', 'attention/attn_w'), ('attn_v', 'attention/attn_v'),
    ('query_kernel', 'attention/kernel'), ('query_bias', 'attention/bias'),
    ('output_kernel', 'attn_output_projection/kernel'),
    ('output_bias', 'attn_output_projection/bias'))
_WRAPPER_NAMES = {role: _WRAPPER + suffix for role, suffix in _WRAPPER_ROLES}
_CELL_NAME = 'rnn/multi_rnn_cell/cell_%d/basic_lstm_cell/%s'
_CELL_RE = re.compile(r'(?P<scope>(?:.*/)?)rnn/multi_rnn_cell/cell_(?P<k>[1-9]\d*)/'
                      r'basic_lstm_cell/(?P<what>kernel|bias)$')


class AttentionFormatError(ValueError):
  """Variables that do not form an attention stack; the message names what is wrong."""


class AttentionState(NamedTuple):
  """The stack's recurrent state (a ``tf.nest`` structure; see the module docstring)."""
  lstm: tuple  # ((h [B, u_k], c [B, u_k]) per layer)
  attns: tf.Tensor  # [B, A]
  attn_states: tf.Tensor  # [B, L, A], oldest first


def _lstm_step(x, h, c, kernel, bias):
  """TF1 BasicLSTMCell: gates (i, j, f, o) from [x; h], forget bias added here."""
  z = tf.nn.bias_add(tf.matmul(tf.concat([x, h], 1), kernel), bias)
  i, j, f, o = tf.split(z, 4, axis=1)
  c = c * tf.sigmoid(f + FORGET_BIAS) + tf.sigmoid(i) * tf.tanh(j)
  return tf.tanh(c) * tf.sigmoid(o), c


def _glorot(rng, shape):
  """TF1's default initializer; a 1-D shape has fan_in = fan_out = its length."""
  fans = shape[-1] * 2 if len(shape) == 1 else shape[-2] + shape[-1]
  limit = np.sqrt(6.0 / fans)
  return rng.uniform(-limit, limit, size=shape).astype(np.float32)


class AttentionLstmStack(tf.Module):
  """``AttentionCellWrapper(LSTM u0)`` followed by plain LSTMs, as Magenta's attention_rnn.

  Attributes (``tf.Variable``, float32; names and shapes in the module docstring):
    input_kernel, input_bias, lstm_kernels, lstm_biases, attn_w, attn_v, query_kernel,
    query_bias, output_kernel, output_bias.
  """

  def __init__(self, input_size: int, layer_sizes: Sequence[int],
               attn_length: int = DEFAULT_ATTN_LENGTH, *, attn_size: Optional[int] = None,
               attn_vec_size: Optional[int] = None, projection_size: Optional[int] = None,
               seed: Optional[int] = None, name: str = 'attention_lstm_stack'):
    """Builds randomly initialised variables as TF1 does: Glorot uniform, biases zero.

    Args:
      input_size: I, the width of the inputs (74 for Magenta's attention_rnn encoding).
      layer_sizes: units per LSTM layer; layer 0 carries the attention.
      attn_length: L, how many past wrapper outputs the attention looks over.
      attn_size, attn_vec_size, projection_size: A, V and P; Magenta leaves them at their
        defaults A = layer_sizes[0], V = A, P = input_size.
      seed: seeds the initial values.
      name: the module's name.
    """
    super().__init__(name=name)
    sizes = tuple(int(u) for u in layer_sizes)
    if not sizes or min(sizes) <= 0 or int(attn_length) <= 0 or int(input_size) <= 0:
      raise ValueError('need input_size > 0, attn_length > 0 and positive layer sizes; got '
                       '%r, %r, %r' % (input_size, attn_length, layer_sizes))
    self._input_size, self._layer_sizes = int(input_size), sizes
    self._attn_length = int(attn_length)
    a = self._attn_size = int(attn_size or sizes[0])
    v = int(attn_vec_size or a)
    p = int(projection_size or input_size)
    rng = np.random.default_rng(seed)
    shapes = self._tf1_shapes(p, v)
    values = {role: (np.zeros(shape, np.float32) if 'bias' in role else _glorot(rng, shape))
              for role, shape in shapes.items()}
    values['attn_w'] = values['attn_w'].reshape(a, v)
    order = [r for r, _ in _WRAPPER_ROLES] + [
        '%s_%d' % (kind, k) for k in range(1, len(sizes)) for kind in ('lstm_kernel', 'lstm_bias')]
    self._roles = {role: tf.Variable(values[role], name=role) for role in order}
    r = self._roles
    self.input_kernel, self.input_bias = r['input_kernel'], r['input_bias']
    self.attn_w, self.attn_v = r['attn_w'], r['attn_v']
    self.query_kernel, self.query_bias = r['query_kernel'], r['query_bias']
    self.output_kernel, self.output_bias = r['output_kernel'], r['output_bias']
    self.lstm_kernels = [r['lstm_kernel_%d' % k] for k in range(len(sizes))]
    self.lstm_biases = [r['lstm_bias_%d' % k] for k in range(len(sizes))]

  def _tf1_shapes(self, p: int, v: int) -> dict:
    """{role: TF1 shape} for projection size P and attention vector size V."""
    i, a, u = self._input_size, self._attn_size, self._layer_sizes
    shapes = {'input_kernel': (i + a, p), 'input_bias': (p,),
              'attn_w': (1, 1, a, v), 'attn_v': (v,), 'query_kernel': (2 * u[0], v),
              'query_bias': (v,), 'output_kernel': (u[0] + a, a), 'output_bias': (a,)}
    in_dim = p
    for k, units in enumerate(u):
      shapes['lstm_kernel_%d' % k] = (in_dim + units, 4 * units)
      shapes['lstm_bias_%d' % k] = (4 * units,)
      in_dim = a if k == 0 else units
    return shapes

  @property
  def input_size(self) -> int:
    return self._input_size

  @property
  def layer_sizes(self) -> tuple:
    return self._layer_sizes

  @property
  def attn_length(self) -> int:
    return self._attn_length

  @property
  def attn_size(self) -> int:
    return self._attn_size

  @property
  def output_size(self) -> int:
    """Width of ``step``'s output: the last layer's units (A when there is one layer)."""
    return self._layer_sizes[-1] if len(self._layer_sizes) > 1 else self._attn_size

  def state_spec(self) -> AttentionState:
    """Per-example ``tf.TensorSpec``s of the state (no batch dimension, as tf-agents wants)."""
    f = lambda *shape: tf.TensorSpec(shape, tf.float32)
    return AttentionState(lstm=tuple((f(u), f(u)) for u in self._layer_sizes),
                          attns=f(self._attn_size),
                          attn_states=f(self._attn_length, self._attn_size))

  def initial_state(self, batch_size) -> AttentionState:
    """The zero state Magenta starts from, for ``batch_size`` rows (int or scalar tensor)."""
    return tf.nest.map_structure(
        lambda spec: tf.zeros([batch_size] + spec.shape.as_list(), tf.float32),
        self.state_spec())

  def _attend(self, query, attn_states):
    """Step 3 of the module docstring: the new read ``a'`` [B, A] over the old window."""
    features = tf.einsum('bla,av->blv', attn_states, self.attn_w)
    y = tf.nn.bias_add(tf.matmul(query, self.query_kernel), self.query_bias)
    scores = tf.reduce_sum(self.attn_v * tf.tanh(features + y[:, tf.newaxis, :]), axis=2)
    alpha = tf.nn.softmax(scores, axis=1)
    return tf.einsum('bl,bla->ba', alpha, attn_states)

  def step(self, inputs, state: AttentionState):
    """Advances the stack by one step (see the module docstring for the maths).

    Args:
      inputs: float32 [B, input_size].
      state: an ``AttentionState`` (e.g. ``initial_state(B)``).

    Returns:
      (output float32 [B, output_size], new ``AttentionState``).
    """
    x = tf.convert_to_tensor(inputs, tf.float32)
    h, c = state.lstm[0]
    projected = tf.nn.bias_add(
        tf.matmul(tf.concat([x, state.attns], 1), self.input_kernel), self.input_bias)
    h, c = _lstm_step(projected, h, c, self.lstm_kernels[0], self.lstm_biases[0])
    attns = self._attend(tf.concat([c, h], 1), state.attn_states)
    y = tf.nn.bias_add(tf.matmul(tf.concat([h, attns], 1), self.output_kernel),
                       self.output_bias)
    window = tf.concat([state.attn_states[:, 1:], y[:, tf.newaxis, :]], axis=1)
    new_lstm = [(h, c)]
    for kernel, bias, (h, c) in zip(self.lstm_kernels[1:], self.lstm_biases[1:],
                                    state.lstm[1:]):
      h, c = _lstm_step(y, h, c, kernel, bias)
      new_lstm.append((h, c))
      y = h
    return y, AttentionState(tuple(new_lstm), attns, window)

  def run(self, inputs, state: Optional[AttentionState] = None):
    """Steps through whole sequences in a ``tf.while_loop`` (only outputs are stacked).

    Args:
      inputs: float32 [B, T, input_size].
      state: the start state; None means zeros.

    Returns:
      (outputs float32 [B, T, output_size], final ``AttentionState``).
    """
    x = tf.convert_to_tensor(inputs, tf.float32)
    if state is None:
      state = self.initial_state(tf.shape(x)[0])
    steps = tf.shape(x)[1]
    xs = tf.TensorArray(tf.float32, size=steps).unstack(tf.transpose(x, [1, 0, 2]))
    ys = tf.TensorArray(tf.float32, size=steps, element_shape=[None, self.output_size])

    def body(t, s, ys):
      y, s = self.step(xs.read(t), s)
      return t + 1, s, ys.write(t, y)

    _, final, ys = tf.while_loop(lambda t, *_: t < steps, body, (tf.constant(0), state, ys))
    return tf.transpose(ys.stack(), [1, 0, 2]), final

  def to_magenta_state(self, state: AttentionState) -> list:
    """The flat list Magenta's ``initial_state`` / ``final_state`` collections hold."""
    flat = []
    for k, (h, c) in enumerate(state.lstm):
      flat += [c, h]
      if k == 0:
        flat += [state.attns, tf.reshape(state.attn_states,
                                         [-1, self._attn_length * self._attn_size])]
    return flat

  def from_magenta_state(self, flat: Sequence) -> AttentionState:
    """The inverse of ``to_magenta_state``."""
    flat = [tf.convert_to_tensor(t, tf.float32) for t in flat]
    if len(flat) != 2 * len(self._layer_sizes) + 2:
      raise ValueError('a Magenta attention state of %d layers has %d tensors, got %d'
                       % (len(self._layer_sizes), 2 * len(self._layer_sizes) + 2, len(flat)))
    lstm = [(flat[1], flat[0])] + [(flat[2 * k + 3], flat[2 * k + 2])
                                   for k in range(1, len(self._layer_sizes))]
    window = tf.reshape(flat[3], [-1, self._attn_length, self._attn_size])
    return AttentionState(tuple(lstm), flat[2], window)

  @property
  def weight_variables(self) -> list:
    """The variables in ``get_weights`` order (the module docstring's table)."""
    return list(self._roles.values())

  def get_weights(self) -> list:
    return [v.numpy() for v in self.weight_variables]

  def set_weights(self, weights: Sequence[np.ndarray]) -> None:
    """Assigns arrays in ``get_weights`` order; nothing is assigned unless all shapes match."""
    variables, weights = self.weight_variables, [np.asarray(w, np.float32) for w in weights]
    if len(weights) != len(variables):
      raise ValueError('expected %d arrays, got %d' % (len(variables), len(weights)))
    for v, w in zip(variables, weights):
      if tuple(v.shape) != w.shape:
        raise ValueError('shape mismatch for %s: model %s, given %s'
                         % (v.name, tuple(v.shape), w.shape))
    for v, w in zip(variables, weights):
      v.assign(w)

  def to_magenta_variables(self, scope: str = '') -> dict:
    """``{TF1 name: array}`` with Magenta's names and shapes, under ``scope`` (e.g. 'x/')."""
    out = {scope + tf1_name(role): var.numpy() for role, var in self._roles.items()}
    out[scope + tf1_name('attn_w')] = self.attn_w.numpy()[np.newaxis, np.newaxis]
    return out

  @classmethod
  def from_magenta_variables(cls, variables: dict, attn_length: int = DEFAULT_ATTN_LENGTH,
                             scope: Optional[str] = None) -> 'AttentionLstmStack':
    """Builds a stack holding a TF1 checkpoint's arrays (optimizer slots are ignored).

    Args:
      variables: ``{name: array}``, e.g. ``magenta_checkpoint.bundle_variables(path)``.
      attn_length: L; the variables do not record it (see ``attn_length_from_metagraph``).
      scope: the leading scope to read when several copies are present ('' = none).

    Raises:
      AttentionFormatError: names or shapes that do not form a stack; the message lists them.
    """
    names = find_attention_variables(variables, scope)
    arrays = {role: np.asarray(variables[name], np.float32) for role, name in names.items()}
    num_layers = sum(1 for role in arrays if role.startswith('lstm_kernel_'))
    for role in ('lstm_kernel_%d' % k for k in range(num_layers)):
      if arrays[role].ndim != 2 or arrays[role].shape[1] % 4:
        raise AttentionFormatError('%s: shape %s is not [in + u, 4u]'
                                   % (names[role], arrays[role].shape))
    sizes = [arrays['lstm_kernel_%d' % k].shape[1] // 4 for k in range(num_layers)]
    attn_w, input_kernel = arrays['attn_w'], arrays['input_kernel']
    if attn_w.ndim != 4 or input_kernel.ndim != 2 or input_kernel.shape[0] <= attn_w.shape[2]:
      raise AttentionFormatError('%s %s / %s %s: expected [1, 1, A, V] and [I + A, P]' % (
          names['attn_w'], attn_w.shape, names['input_kernel'], input_kernel.shape))
    a, v = attn_w.shape[2:]
    p, input_size = input_kernel.shape[1], input_kernel.shape[0] - a
    stack = cls(input_size, sizes, attn_length, attn_size=a, attn_vec_size=v,
                projection_size=p)
    expected = stack._tf1_shapes(p, v)  # pylint: disable=protected-access
    bad = ['%s %s (expected %s)' % (names[r], arrays[r].shape, expected[r])
           for r in expected if arrays[r].shape != expected[r]]
    if bad:
      raise AttentionFormatError('shapes do not chain: %s' % '; '.join(bad))
    arrays['attn_w'] = arrays['attn_w'].reshape(a, v)
    for role, var in stack._roles.items():  # pylint: disable=protected-access
      var.assign(arrays[role])
    return stack


def tf1_name(role: str) -> str:
  """The Magenta variable name (without scope) of a role such as 'attn_w' or 'lstm_bias_1'."""
  if role in _WRAPPER_NAMES:
    return _WRAPPER_NAMES[role]
  kind, k = role.rsplit('_', 1)
  return _CELL_NAME % (int(k), kind.split('_')[1])


def find_attention_variables(variables: dict, scope: Optional[str] = None) -> dict:
  """Maps each role to its checkpoint name: ``{'input_kernel': '.../kernel', ...}``.

  Raises:
    AttentionFormatError: naming the missing variables (or the competing scopes) and listing
      the names found.
  """
  scopes = {}
  for name in variables:
    for role, suffix in _WRAPPER_NAMES.items():
      if name.endswith(suffix) and (len(name) == len(suffix) or name[-len(suffix) - 1] == '/'):
        scopes.setdefault(name[:-len(suffix)], {})[role] = name
  if scope is not None:
    wanted = scope.strip('/') + '/' if scope.strip('/') else ''
    scopes = {s: r for s, r in scopes.items() if s == wanted}
  listing = ', '.join(sorted(variables)) or '(none)'
  if not scopes:
    raise AttentionFormatError('no %s* variables%s. Names found: %s' % (
        _WRAPPER, '' if scope is None else ' under scope %r' % scope, listing))
  if len(scopes) > 1:
    raise AttentionFormatError('several attention stacks, under scopes %s; pass scope='
                               % sorted(s.rstrip('/') for s in scopes))
  ((prefix, roles),) = scopes.items()
  missing = [prefix + suffix for role, suffix in _WRAPPER_NAMES.items() if role not in roles]
  if missing:
    raise AttentionFormatError('missing %s. Names found: %s' % (', '.join(missing), listing))
  for name in variables:
    m = _CELL_RE.match(name)
    if m and m.group('scope') == prefix:
      roles['lstm_%s_%s' % (m.group('what'), m.group('k'))] = name
  k = 1
  while 'lstm_kernel_%d' % k in roles and 'lstm_bias_%d' % k in roles:
    k += 1
  stray = sorted(n for r, n in roles.items()
                 if r.startswith('lstm_') and int(r.rsplit('_', 1)[1]) >= k)
  if stray:
    raise AttentionFormatError('LSTM layers are not numbered 1..n-1 after the attention '
                               'layer (or lack a kernel or bias): %s' % ', '.join(stray))
  return roles


def attn_length_from_metagraph(metagraph, attn_size: int) -> int:
  """Reads L from a Magenta generation metagraph (``MetaGraphDef`` or its bytes).

  The fourth tensor of its ``initial_state`` collection is the flat window [B, L * A].

  Raises:
    AttentionFormatError: when the collection or its recorded shape is missing.
  """
  meta = metagraph
  if isinstance(metagraph, bytes):
    meta = tf.compat.v1.MetaGraphDef.FromString(metagraph)
  names = list(meta.collection_def['initial_state'].node_list.value)
  nodes = {n.name: n for n in meta.graph_def.node}
  node = nodes.get(names[3].split(':')[0]) if len(names) > 3 else None
  shapes = node.attr['_output_shapes'].list.shape if node is not None else []
  width = shapes[0].dim[-1].size if shapes and shapes[0].dim else -1
  if width <= 0 or width % attn_size:
    raise AttentionFormatError('the metagraph\'s initial_state collection does not record an '
                               'attention window [B, L * %d] (found %s)'
                               % (attn_size, names[3] if len(names) > 3 else names))
  return width // attn_size
