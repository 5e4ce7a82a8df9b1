"""Magenta / RL Tuner TF1 checkpoints and ``.mag`` bundles <-> Keras ``NoteRnn``.

TF1 LSTM cells (``BasicLSTMCell`` and ``LSTMCell`` without peepholes) keep one kernel
``[in + units, 4 * units]`` (input rows, then hidden rows) and a bias ``[4 * units]`` with the
gate blocks in the order (i, j, f, o), and add a forget bias of 1.0 at run time. Keras keeps
``kernel [in, 4u]``, ``recurrent_kernel [u, 4u]`` and a bias in the order (i, f, c, o), with
no run-time forget bias. Import splits the rows, reorders the blocks and adds 1.0 to the
forget block of the bias; export does the reverse (``magenta_formats.md`` §4.6).

Name generations the importer accepts (any leading scope such as ``rnn_model/`` or
``q_network/`` is allowed; optimizer slots are ignored):

=========================  =================================================  ==================
era                        LSTM cell k (kernel, bias)                         dense
=========================  =================================================  ==================
melody_rnn, TF >= 1.2      rnn/multi_rnn_cell/cell_k/basic_lstm_cell/          fully_connected/
                           {kernel, bias}                                     {weights, biases}
RL Tuner at HEAD           rnn/multi_rnn_cell/cell_k/lstm_cell/{kernel, bias}  .../{weights, bias}
TF 1.0-1.1                 .../basic_lstm_cell/{weights, biases}
TF 0.x melody_rnn          RNN/MultiRNNCell/Cellk/BasicLSTMCell/Linear/
                           {Matrix, Bias}
RL Tuner research (2016)   RNN/MultiRNNCell/Cellk/LSTMCell/{W_0, B}
=========================  =================================================  ==================

A ``.mag`` bundle is read for its variables only: its first ``checkpoint_file`` entry is a
V1 checkpoint; the metagraph is never imported or run.
"""

import collections
import os
import re
import tempfile
from typing import Optional, Sequence

import numpy as np
import tensorflow as tf

from note_rnn import model as model_lib
from pipelines import encoding

_CELL = (r'(?P<scope>(?:.*/)?)(?:rnn|RNN)/'
         r'(?:(?:multi_rnn_cell|MultiRNNCell)/(?:cell_|Cell)(?P<layer>\d+)/)?'
         r'(?:basic_lstm_cell|lstm_cell|BasicLSTMCell|LSTMCell)/')
_KERNEL_RE = re.compile(_CELL + r'(?:kernel|weights|W_0|Linear/Matrix)$')
_BIAS_RE = re.compile(_CELL + r'(?:bias|biases|B|Linear/Bias)$')
_DENSE_W_RE = re.compile(r'(?P<scope>(?:.*/)?)fully_connected/weights$')
_DENSE_B_RE = re.compile(r'(?P<scope>(?:.*/)?)fully_connected/(?:biases|bias)$')
_SLOT_RE = re.compile(r'/(?:Adam|Adam_\d+|Adagrad|Momentum|RMSProp|RMSProp_\d+|ExponentialMovingAverage)$')

FORGET_BIAS = 1.0

# Names Magenta's melody_rnn basic_rnn graph uses (export target).
MELODY_RNN_KERNEL = 'rnn/multi_rnn_cell/cell_%d/basic_lstm_cell/kernel'
MELODY_RNN_BIAS = 'rnn/multi_rnn_cell/cell_%d/basic_lstm_cell/bias'
MELODY_RNN_DENSE_W = 'fully_connected/weights'
MELODY_RNN_DENSE_B = 'fully_connected/biases'
# Names the original RL Tuner's NoteRNNLoader ('default' type) restores.
RL_TUNER_KERNEL = 'rnn_model/rnn/multi_rnn_cell/cell_%d/lstm_cell/kernel'
RL_TUNER_BIAS = 'rnn_model/rnn/multi_rnn_cell/cell_%d/lstm_cell/bias'
RL_TUNER_DENSE_W = 'rnn_model/fully_connected/weights'
RL_TUNER_DENSE_B = 'rnn_model/fully_connected/bias'


class CheckpointFormatError(ValueError):
  """A checkpoint whose variables do not form a Note RNN; the message lists what was found."""


TF1Weights = collections.namedtuple('TF1Weights', ['kernels', 'biases', 'dense_w', 'dense_b',
                                                   'names'])


def _scope_group(scope: str) -> str:
  return scope.rstrip('/')


def find_tf1_weights(variables: dict, scope: Optional[str] = None) -> TF1Weights:
  """Picks the Note RNN arrays out of a TF1 checkpoint's ``{name: array or shape}``.

  Args:
    variables: every variable of the checkpoint.
    scope: when the checkpoint holds several copies under different leading scopes, the one
      to take (e.g. ``'q_network'``); '' means no scope.

  Returns:
    TF1Weights with per-layer lists ordered by layer index, and ``names`` mapping the role
    (``kernel_0``, ``bias_0``, ..., ``dense_w``, ``dense_b``) to the checkpoint name.

  Raises:
    CheckpointFormatError: listing the names found and the name patterns expected.
  """
  groups = collections.defaultdict(dict)
  for name in sorted(variables):
    if _SLOT_RE.search(name):
      continue
    for role, regex in (('kernel', _KERNEL_RE), ('bias', _BIAS_RE), ('dense_w', _DENSE_W_RE),
                        ('dense_b', _DENSE_B_RE)):
      m = regex.match(name)
      if m:
        key = role
        if role in ('kernel', 'bias'):
          key = '%s_%d' % (role, int(m.group('layer') or 0))
        groups[_scope_group(m.group('scope'))][key] = name
        break
  complete = {s: g for s, g in groups.items()
              if 'dense_w' in g and 'dense_b' in g and 'kernel_0' in g and 'bias_0' in g}
  if scope is not None:
    complete = {s: g for s, g in complete.items() if s == scope.strip('/')}
  if not complete:
    raise CheckpointFormatError(
        'no Note RNN variables found%s. Expected an LSTM kernel/bias per layer (e.g. '
        '%s, rnn/multi_rnn_cell/cell_0/lstm_cell/kernel, RNN/MultiRNNCell/Cell0/LSTMCell/W_0) '
        'and fully_connected/{weights, biases or bias}, under any scope. Names found: %s'
        % ('' if scope is None else ' under scope %r' % scope, MELODY_RNN_KERNEL % 0,
           ', '.join(sorted(variables)) or '(none)'))
  if len(complete) > 1:
    raise CheckpointFormatError(
        'several Note RNN copies in this checkpoint, under scopes %s; pass scope= one of them'
        % sorted(complete))
  (chosen,) = complete.values()
  num_layers = 0
  while 'kernel_%d' % num_layers in chosen and 'bias_%d' % num_layers in chosen:
    num_layers += 1
  stray = [k for k in chosen if k.startswith(('kernel_', 'bias_'))
           and int(k.split('_')[1]) >= num_layers]
  if stray:
    raise CheckpointFormatError('LSTM layers are not numbered 0..n-1: found %s'
                                % sorted(chosen[k] for k in chosen))
  return TF1Weights(
      kernels=[variables[chosen['kernel_%d' % k]] for k in range(num_layers)],
      biases=[variables[chosen['bias_%d' % k]] for k in range(num_layers)],
      dense_w=variables[chosen['dense_w']], dense_b=variables[chosen['dense_b']],
      names=dict(chosen))


def _reorder_ijfo_to_ifjo(a: np.ndarray) -> np.ndarray:
  i, j, f, o = np.split(a, 4, axis=-1)
  return np.concatenate([i, f, j, o], axis=-1)


def _reorder_ifjo_to_ijfo(a: np.ndarray) -> np.ndarray:
  i, f, j, o = np.split(a, 4, axis=-1)
  return np.concatenate([i, j, f, o], axis=-1)


def tf1_to_keras_weights(tf1: TF1Weights, input_size: int = encoding.NUM_CLASSES):
  """Converts TF1 arrays to ``(layer_sizes, NoteRnn.get_weights()-ordered list)``.

  Raises:
    CheckpointFormatError: when the shapes do not chain (names and shapes in the message).
  """
  weights, sizes = [], []
  in_dim = input_size
  for k, (kernel, bias) in enumerate(zip(tf1.kernels, tf1.biases)):
    kernel = np.asarray(kernel, np.float32)
    bias = np.asarray(bias, np.float32)
    if kernel.ndim != 2 or kernel.shape[1] % 4:
      raise CheckpointFormatError('%s: kernel shape %s is not [in + u, 4u]'
                                  % (tf1.names['kernel_%d' % k], kernel.shape))
    units = kernel.shape[1] // 4
    if kernel.shape[0] != in_dim + units or bias.shape != (4 * units,):
      raise CheckpointFormatError(
          'layer %d: kernel %s %s and bias %s %s do not fit input size %d and %d units'
          % (k, tf1.names['kernel_%d' % k], kernel.shape, tf1.names['bias_%d' % k],
             bias.shape, in_dim, units))
    bias = _reorder_ijfo_to_ifjo(bias).copy()
    bias[units:2 * units] += FORGET_BIAS  # Keras block order i, f, c, o: f is block 1.
    weights += [_reorder_ijfo_to_ifjo(kernel[:in_dim]), _reorder_ijfo_to_ifjo(kernel[in_dim:]),
                bias]
    sizes.append(units)
    in_dim = units
  dense_w = np.asarray(tf1.dense_w, np.float32)
  dense_b = np.asarray(tf1.dense_b, np.float32)
  if dense_w.shape != (in_dim, input_size) or dense_b.shape != (input_size,):
    raise CheckpointFormatError('dense %s %s / %s %s: expected [%d, %d] and [%d]' % (
        tf1.names['dense_w'], dense_w.shape, tf1.names['dense_b'], dense_b.shape, in_dim,
        input_size, input_size))
  return tuple(sizes), weights + [dense_w, dense_b]


def keras_to_tf1_weights(model: model_lib.NoteRnn) -> tuple[list, list, np.ndarray, np.ndarray]:
  """The reverse of ``tf1_to_keras_weights``: (kernels, biases, dense_w, dense_b) in TF1 layout."""
  w = model.get_weights()
  kernels, biases = [], []
  for k, units in enumerate(model.layer_sizes):
    kernel, recurrent, bias = w[3 * k:3 * k + 3]
    bias = bias.copy()
    bias[units:2 * units] -= FORGET_BIAS
    kernels.append(_reorder_ifjo_to_ijfo(np.concatenate([kernel, recurrent], axis=0)))
    biases.append(_reorder_ifjo_to_ijfo(bias))
  return kernels, biases, w[-2], w[-1]


def read_checkpoint_variables(prefix: str) -> dict:
  """All variables of a TF checkpoint (V1 file or V2 prefix) as ``{name: np.ndarray}``."""
  reader = tf.train.load_checkpoint(prefix)
  return {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()}


def model_from_tf1_variables(variables: dict, scope: Optional[str] = None) -> model_lib.NoteRnn:
  """A ``NoteRnn`` holding the converted weights of a TF1-named ``{name: array}`` dict."""
  sizes, weights = tf1_to_keras_weights(find_tf1_weights(variables, scope))
  model = model_lib.NoteRnn(sizes)
  model.set_weights(weights)
  return model


def load_checkpoint(prefix: str, scope: Optional[str] = None) -> model_lib.NoteRnn:
  """Imports a Magenta / RL Tuner checkpoint (any name generation; layer sizes from shapes)."""
  try:
    variables = read_checkpoint_variables(prefix)
  except (tf.errors.OpError, ValueError) as e:
    raise CheckpointFormatError('%s: not a readable TensorFlow checkpoint (%s)'
                                % (prefix, str(e).splitlines()[0])) from None
  try:
    return model_from_tf1_variables(variables, scope)
  except CheckpointFormatError as e:
    raise CheckpointFormatError('%s: %s' % (prefix, e)) from None


def read_bundle(path: str):
  """Parses a ``.mag`` file into a ``generator_pb2.GeneratorBundle``."""
  from note_seq.protobuf import generator_pb2
  bundle = generator_pb2.GeneratorBundle()
  with open(path, 'rb') as f:
    data = f.read()
  try:
    bundle.ParseFromString(data)
  except Exception as e:  # protobuf raises DecodeError, a plain Exception subclass
    raise CheckpointFormatError('%s: not a GeneratorBundle (%s)' % (path, e)) from None
  if not bundle.checkpoint_file:
    raise CheckpointFormatError('%s: the bundle holds no checkpoint_file' % path)
  return bundle


def bundle_variables(path: str) -> dict:
  """The variables of a bundle's V1 checkpoint (the metagraph is not touched)."""
  bundle = read_bundle(path)
  with tempfile.TemporaryDirectory(prefix='note_rnn_bundle_') as tmp:
    ckpt = os.path.join(tmp, 'model.ckpt')
    with open(ckpt, 'wb') as f:
      f.write(bundle.checkpoint_file[0])
    try:
      return read_checkpoint_variables(ckpt)
    except (tf.errors.OpError, ValueError) as e:
      raise CheckpointFormatError('%s: the bundle\'s checkpoint_file is not a readable '
                                  'TensorFlow checkpoint (%s)'
                                  % (path, str(e).splitlines()[0])) from None


def load_bundle(path: str, scope: Optional[str] = None) -> model_lib.NoteRnn:
  """Imports the model weights of a Magenta ``.mag`` GeneratorBundle."""
  try:
    return model_from_tf1_variables(bundle_variables(path), scope)
  except CheckpointFormatError as e:
    raise CheckpointFormatError('%s: %s' % (path, e)) from None


def _named_tf1_arrays(model: model_lib.NoteRnn, kernel_fmt, bias_fmt, dense_w, dense_b) -> dict:
  kernels, biases, w, b = keras_to_tf1_weights(model)
  out = {}
  for k, (kernel, bias) in enumerate(zip(kernels, biases)):
    out[kernel_fmt % k] = kernel
    out[bias_fmt % k] = bias
  out[dense_w] = w
  out[dense_b] = b
  return out


def melody_rnn_arrays(model: model_lib.NoteRnn) -> dict:
  """``{melody_rnn basic_rnn variable name: TF1-layout array}``."""
  return _named_tf1_arrays(model, MELODY_RNN_KERNEL, MELODY_RNN_BIAS, MELODY_RNN_DENSE_W,
                           MELODY_RNN_DENSE_B)


def _save_tf1(arrays: dict, prefix: str, *, v1: bool) -> str:
  """Saves ``{name: array}`` through ``tf.compat.v1.train.Saver`` in a private graph."""
  os.makedirs(os.path.dirname(os.path.abspath(prefix)), exist_ok=True)
  graph = tf.Graph()
  with graph.as_default():
    variables = {name: tf.compat.v1.Variable(value, name=name.replace('/', '_'))
                 for name, value in arrays.items()}
    version = (tf.compat.v1.train.SaverDef.V1 if v1 else tf.compat.v1.train.SaverDef.V2)
    saver = tf.compat.v1.train.Saver(var_list=variables, write_version=version, sharded=False)
    with tf.compat.v1.Session(graph=graph) as sess:
      sess.run(tf.compat.v1.global_variables_initializer())
      return saver.save(sess, prefix, write_meta_graph=False, write_state=False)


def export_rl_tuner_checkpoint(model: model_lib.NoteRnn, prefix: str) -> str:
  """Writes the layout the original RL Tuner's ``NoteRNNLoader`` restores.

  Names: ``rnn_model/rnn/multi_rnn_cell/cell_k/lstm_cell/{kernel,bias}`` and
  ``rnn_model/fully_connected/{weights,bias}``. It is a V2 checkpoint at ``prefix`` with a
  ``checkpoint`` state file beside it, so both ``checkpoint_dir`` and file-based loading find it.

  Returns:
    the prefix written.
  """
  arrays = _named_tf1_arrays(model, RL_TUNER_KERNEL, RL_TUNER_BIAS, RL_TUNER_DENSE_W,
                             RL_TUNER_DENSE_B)
  path = _save_tf1(arrays, prefix, v1=False)
  tf.compat.v1.train.update_checkpoint_state(os.path.dirname(os.path.abspath(path)), path)
  return path


def _generation_graph(layer_sizes: Sequence[int], batch_size: int, input_size: int):
  """Builds melody_rnn's generation graph contract in a fresh TF1 graph.

  Collections (``magenta_formats.md`` §4.1): ``inputs`` float32 [batch_size, None, input_size],
  ``temperature`` scalar, ``softmax`` [batch_size, None, num_classes] = softmax(logits / T),
  ``initial_state`` / ``final_state`` flattened (c0, h0, c1, h1, ...). The initial state
  defaults to zeros, so running it without feeds gives the zero state, as Magenta expects.

  Returns:
    (graph, {melody_rnn variable name: tf.Variable}).
  """
  v1 = tf.compat.v1
  graph = tf.Graph()
  with graph.as_default():
    inputs = v1.placeholder(tf.float32, [batch_size, None, input_size], name='inputs')
    temperature = v1.placeholder(tf.float32, [], name='temperature')
    cells = [v1.nn.rnn_cell.BasicLSTMCell(u, forget_bias=FORGET_BIAS) for u in layer_sizes]
    cell = v1.nn.rnn_cell.MultiRNNCell(cells)
    flat_initial = []
    state = []
    for k, units in enumerate(layer_sizes):
      c = v1.placeholder_with_default(tf.zeros([batch_size, units]), [batch_size, units],
                                      name='initial_state_c%d' % k)
      h = v1.placeholder_with_default(tf.zeros([batch_size, units]), [batch_size, units],
                                      name='initial_state_h%d' % k)
      flat_initial += [c, h]
      state.append(v1.nn.rnn_cell.LSTMStateTuple(c, h))
    outputs, final_state = v1.nn.dynamic_rnn(cell, inputs, initial_state=tuple(state),
                                             swap_memory=True, scope='rnn')
    with v1.variable_scope('fully_connected'):
      weights = v1.get_variable('weights', [layer_sizes[-1], input_size])
      biases = v1.get_variable('biases', [input_size], initializer=v1.zeros_initializer())
    flat = tf.reshape(outputs, [-1, layer_sizes[-1]])
    logits = tf.reshape(tf.matmul(flat, weights) + biases, [batch_size, -1, input_size],
                        name='logits')
    softmax = tf.reshape(tf.nn.softmax(tf.reshape(logits / temperature, [-1, input_size])),
                         [batch_size, -1, input_size], name='softmax')
    graph.add_to_collection('inputs', inputs)
    graph.add_to_collection('temperature', temperature)
    graph.add_to_collection('softmax', softmax)
    for tensor in flat_initial:
      graph.add_to_collection('initial_state', tensor)
    for pair in final_state:
      graph.add_to_collection('final_state', pair.c)
      graph.add_to_collection('final_state', pair.h)
    variables = {v.op.name: v for v in v1.global_variables()}
  return graph, variables


def export_magenta(model: model_lib.NoteRnn, *, checkpoint_prefix: Optional[str] = None,
                   bundle_file: Optional[str] = None, generator_id: str = 'basic_rnn',
                   description: str = 'Melody RNN with one-hot encoding.',
                   bundle_description: str = '', batch_size: int = 128,
                   global_step: int = 0) -> dict:
  """Writes the model in Magenta's melody_rnn layout.

  Args:
    model: the Note RNN (38 classes).
    checkpoint_prefix: if set, a V2 checkpoint with melody_rnn names and a generation
      metagraph is written there (``.index``, ``.data-*``, ``.meta`` and a ``checkpoint``
      state file), e.g. ``RUN/train/model.ckpt-0`` for ``melody_rnn_generate --run_dir=RUN``.
    bundle_file: if set, a ``.mag`` GeneratorBundle: a single-file V1 checkpoint plus the
      generation metagraph, with ``generator_details.id = generator_id``.
    generator_id: Magenta's config name; must be ``basic_rnn`` for this encoding.
    description, bundle_description: the bundle's texts.
    batch_size: the generation graph's fixed batch size (Magenta's default is 128).
    global_step: the step number stored in the checkpoint.

  Returns:
    dict of what was written (``checkpoint_prefix``, ``bundle_file``).
  """
  from note_seq.protobuf import generator_pb2  # pylint: disable=g-import-not-at-top
  if model.num_classes != encoding.NUM_CLASSES:
    raise ValueError('only the 38-class basic_rnn encoding can be exported')
  if not (checkpoint_prefix or bundle_file):
    raise ValueError('nothing to write: give checkpoint_prefix and/or bundle_file')
  arrays = melody_rnn_arrays(model)
  written = {}
  if checkpoint_prefix:
    graph, variables, sess = _loaded_generation_graph(model, arrays, batch_size)
    with graph.as_default(), sess:
      step = tf.compat.v1.train.get_or_create_global_step()
      sess.run(step.initializer)
      step.load(global_step, sess)
      saver = tf.compat.v1.train.Saver(write_version=tf.compat.v1.train.SaverDef.V2)
      os.makedirs(os.path.dirname(os.path.abspath(checkpoint_prefix)), exist_ok=True)
      written['checkpoint_prefix'] = saver.save(sess, checkpoint_prefix)
  if bundle_file:
    graph, variables, sess = _loaded_generation_graph(model, arrays, batch_size)
    with graph.as_default(), sess:
      saver = tf.compat.v1.train.Saver(var_list=variables, sharded=False,
                                       write_version=tf.compat.v1.train.SaverDef.V1)
      with tempfile.TemporaryDirectory(prefix='note_rnn_export_') as tmp:
        ckpt = os.path.join(tmp, 'model.ckpt')
        saver.save(sess, ckpt, write_meta_graph=False, write_state=False)
        meta = saver.export_meta_graph(os.path.join(tmp, 'model.ckpt.meta'))
        with open(ckpt, 'rb') as f:
          ckpt_bytes = f.read()
    bundle = generator_pb2.GeneratorBundle()
    bundle.generator_details.id = generator_id
    bundle.generator_details.description = description
    bundle.bundle_details.description = bundle_description
    bundle.checkpoint_file.append(ckpt_bytes)
    bundle.metagraph_file = meta.SerializeToString()
    os.makedirs(os.path.dirname(os.path.abspath(bundle_file)), exist_ok=True)
    tmp_path = '%s.tmp-%d' % (bundle_file, os.getpid())
    with open(tmp_path, 'wb') as f:
      f.write(bundle.SerializeToString())
    os.replace(tmp_path, bundle_file)
    written['bundle_file'] = bundle_file
  return written


def _loaded_generation_graph(model, arrays: dict, batch_size: int):
  """A generation graph whose variables hold ``arrays``; returns (graph, variables, session)."""
  graph, variables = _generation_graph(model.layer_sizes, batch_size, model.num_classes)
  if set(arrays) != set(variables):
    raise AssertionError('generation graph and weights disagree on %s'
                         % sorted(set(arrays) ^ set(variables)))
  sess = tf.compat.v1.Session(graph=graph)
  with graph.as_default():
    for name, var in variables.items():
      var.load(arrays[name], sess)
  return graph, variables, sess
