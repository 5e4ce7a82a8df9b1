"""Magenta / RL Tuner TF1 checkpoints and ``.mag`` bundles <-> Keras ``NoteRnn``.

TF1 LSTM cells (``BasicLSTMCell`` and ``LSTMCell`` without peepholes) keep one kernel
``[in + units, 4 * units]`` (input rows, then hidden rows) and a bias ``[4 * units]`` with the
gate blocks in the order (i, j, f, o), and add a forget bias of 1.0 at run time. Keras keeps
``kernel [in, 4u]``, ``recurrent_kernel [u, 4u]`` and a bias in the order (i, f, c, o), with
no run-time forget bias. Import splits the rows, reorders the blocks and adds 1.0 to the
forget block of the bias; export does the reverse.

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
from typing import Optional

import numpy as np
import tensorflow as tf

from note_rnn import attention_cell
from note_rnn import melody_configs
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


def tf1_to_keras_weights(tf1: TF1Weights, input_size: Optional[int] = None,
                         num_classes: Optional[int] = None):
  """Converts TF1 arrays to ``(layer_sizes, NoteRnn.get_weights()-ordered list)``.

  ``input_size`` / ``num_classes`` default to what the shapes say (basic_rnn: 38 / 38).

  Raises:
    CheckpointFormatError: when the shapes do not chain (names and shapes in the message).
  """
  weights, sizes = [], []
  if input_size is None:
    first = np.shape(tf1.kernels[0])
    input_size = first[0] - first[1] // 4 if len(first) == 2 else 0
    input_size = input_size if input_size > 0 else encoding.NUM_CLASSES  # named below
  num_classes = num_classes or (np.shape(tf1.dense_w) + (0, 0))[1]
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
  if dense_w.shape != (in_dim, num_classes) or dense_b.shape != (num_classes,):
    raise CheckpointFormatError('dense %s %s / %s %s: expected [%d, %d] and [%d]' % (
        tf1.names['dense_w'], dense_w.shape, tf1.names['dense_b'], dense_b.shape, in_dim,
        num_classes, num_classes))
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


def config_for_shapes(input_size: int, num_classes: int) -> str:
  """The melody_rnn config whose encoding has these input and output sizes.

  Raises:
    CheckpointFormatError: no config has them (the message lists every config's sizes).
  """
  for config in melody_configs.CONFIGS.values():
    if config.encoder != 'key' and (config.input_size, config.num_classes) == (
        input_size, num_classes):
      return config.name
  raise CheckpointFormatError(
      'an LSTM over %d inputs with %d classes is no melody_rnn config (%s)' % (
          input_size, num_classes, ', '.join('%s %d/%d' % (c.name, c.input_size, c.num_classes)
                                             for c in melody_configs.CONFIGS.values())))


def _has_attention(variables: dict) -> bool:
  return any('/attention_cell_wrapper/' in name for name in variables)


def model_from_tf1_variables(variables: dict, scope: Optional[str] = None, *,
                             config_name: Optional[str] = None,
                             attn_length: Optional[int] = None) -> model_lib.NoteRnn:
  """A Note RNN holding the converted weights of a TF1-named ``{name: array}`` dict.

  The config comes from the variables: attention_cell_wrapper variables make an
  attention_rnn, otherwise the first kernel's input rows and the output size pick basic_rnn
  (38 / 38), mono_rnn (130 / 130) or lookback_rnn (121 / 40). ``config_name`` (a bundle's
  generator id) must agree. ``attn_length`` is not in the variables: None takes 40.
  """
  if _has_attention(variables):
    from note_rnn import attention_model  # pylint: disable=g-import-not-at-top
    try:
      stack = attention_cell.AttentionLstmStack.from_magenta_variables(
          variables, attn_length or attention_cell.DEFAULT_ATTN_LENGTH, scope=scope)
      prefix = attention_cell.find_attention_variables(variables, scope)['input_kernel']
      prefix = prefix[:-len(attention_cell.tf1_name('input_kernel'))]
    except attention_cell.AttentionFormatError as e:
      raise CheckpointFormatError(str(e)) from None
    names = {'dense_w': prefix + MELODY_RNN_DENSE_W, 'dense_b': prefix + MELODY_RNN_DENSE_B}
    missing = [n for n in names.values() if n not in variables]
    if missing:
      raise CheckpointFormatError('attention_rnn without its output layer: no %s'
                                  % ', '.join(missing))
    found = 'attention_rnn'
    model = attention_model.AttentionNoteRnn(stack.layer_sizes, attn_length=stack.attn_length,
                                             stack=stack)
    if stack.input_size != model.input_size:
      raise CheckpointFormatError('attention_rnn takes %d inputs, the variables %d'
                                  % (model.input_size, stack.input_size))
    model.dense.set_weights([variables[names['dense_w']], variables[names['dense_b']]])
  else:
    tf1 = find_tf1_weights(variables, scope)
    sizes, weights = tf1_to_keras_weights(tf1)
    found = config_for_shapes(weights[0].shape[0], weights[-1].shape[0])
    model = model_lib.NoteRnn(sizes, config=found)
    model.set_weights(weights)
  if config_name and config_name != found:
    raise CheckpointFormatError('generator id %r, but the variables are a %s model'
                                % (config_name, found))
  return model


def load_checkpoint(prefix: str, scope: Optional[str] = None,
                    attn_length: Optional[int] = None) -> model_lib.NoteRnn:
  """Imports a Magenta / RL Tuner checkpoint (any name generation; config and layer sizes
  from the shapes; an attention model's ``attn_length`` from the argument, else 40)."""
  try:
    variables = read_checkpoint_variables(prefix)
  except (tf.errors.OpError, ValueError) as e:
    raise CheckpointFormatError('%s: not a readable TensorFlow checkpoint (%s)'
                                % (prefix, str(e).splitlines()[0])) from None
  try:
    return model_from_tf1_variables(variables, scope, attn_length=attn_length)
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


def bundle_attn_length(bundle, attn_size: int) -> Optional[int]:
  """The attention window recorded in a bundle's generation metagraph (parsed as data,
  never imported or run), or None when the metagraph does not record it."""
  if not bundle.metagraph_file:
    return None
  try:
    return attention_cell.attn_length_from_metagraph(bundle.metagraph_file, attn_size)
  except (attention_cell.AttentionFormatError, IndexError, ValueError):
    return None
  except Exception:  # pylint: disable=broad-except  (protobuf's DecodeError)
    return None


def load_bundle(path: str, scope: Optional[str] = None,
                attn_length: Optional[int] = None) -> model_lib.NoteRnn:
  """Imports a Magenta ``.mag`` GeneratorBundle of any melody_rnn config.

  The config is the bundle's generator id (checked against the variables); attention_rnn's
  ``attn_length`` comes from the metagraph, else from ``attn_length``, else 40.
  """
  bundle = read_bundle(path)
  config_name = bundle.generator_details.id or None
  if config_name and config_name not in melody_configs.CONFIGS:
    raise CheckpointFormatError('%s: generator id %r is not a melody_rnn config (%s)'
                                % (path, config_name, ', '.join(melody_configs.CONFIGS)))
  try:
    variables = bundle_variables(path)
    if _has_attention(variables):
      names = attention_cell.find_attention_variables(variables, scope)
      attn_size = np.shape(variables[names['attn_w']])[2]
      attn_length = bundle_attn_length(bundle, attn_size) or attn_length
    return model_from_tf1_variables(variables, scope, config_name=config_name,
                                    attn_length=attn_length)
  except (CheckpointFormatError, attention_cell.AttentionFormatError) as e:
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
  """``{melody_rnn variable name: TF1-layout array}`` for a model of any config."""
  if hasattr(model, 'stack'):
    out = model.stack.to_magenta_variables()
    out[MELODY_RNN_DENSE_W], out[MELODY_RNN_DENSE_B] = model.dense.get_weights()
    return out
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


def export_rl_tuner_checkpoint(model, prefix: str) -> str:
  """See ``magenta_export.export_rl_tuner_checkpoint`` (kept here for existing callers)."""
  from note_rnn import magenta_export  # pylint: disable=g-import-not-at-top
  return magenta_export.export_rl_tuner_checkpoint(model, prefix)


def export_magenta(model, **kwargs) -> dict:
  """See ``magenta_export.export_magenta`` (kept here for existing callers)."""
  from note_rnn import magenta_export  # pylint: disable=g-import-not-at-top
  return magenta_export.export_magenta(model, **kwargs)
