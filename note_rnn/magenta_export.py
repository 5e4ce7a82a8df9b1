"""Keras Note RNN -> Magenta: melody_rnn checkpoints and ``.mag`` bundles of every config, and
the original RL Tuner's checkpoint layout.

The bundle's metagraph is a TF1 *generation* graph written here (never Magenta's code) with the
contract Magenta's generator reads: collections ``inputs``
float32 [batch_size, None, input_size], ``temperature``, ``softmax`` [batch_size, None,
num_classes] = softmax(logits / T), and ``initial_state`` / ``final_state`` flattened as
Magenta flattens its cell state: (c0, h0, c1, h1, ...), and for attention_rnn (c0, h0, attns,
attn_states [B, L * A], c1, h1, ...). The variables carry melody_rnn's names, so the same
checkpoint also serves ``melody_rnn_generate --run_dir``. Magenta's generator encodes the
inputs itself (from the bundle's generator id), so the graph starts at the encoded inputs.
"""

import os
import tempfile
from typing import Optional

import tensorflow as tf

from note_rnn import magenta_checkpoint as mc
from note_rnn import model as model_lib
from pipelines import files

v1 = tf.compat.v1


def export_rl_tuner_checkpoint(model: model_lib.NoteRnn, prefix: str) -> str:
  """Writes the layout the original RL Tuner's ``NoteRNNLoader`` restores.

  Names: ``rnn_model/rnn/multi_rnn_cell/cell_k/lstm_cell/{kernel,bias}`` and
  ``rnn_model/fully_connected/{weights,bias}``. It is a V2 checkpoint at ``prefix`` with a
  ``checkpoint`` state file beside it, so both ``checkpoint_dir`` and file-based loading find it.

  Returns:
    the prefix written.
  """
  if model.config_name != 'basic_rnn':
    raise ValueError('the original RL Tuner loads basic_rnn Note RNNs only, not %s'
                     % model.config_name)
  arrays = mc._named_tf1_arrays(  # pylint: disable=protected-access
      model, mc.RL_TUNER_KERNEL, mc.RL_TUNER_BIAS, mc.RL_TUNER_DENSE_W, mc.RL_TUNER_DENSE_B)
  path = mc._save_tf1(arrays, prefix, v1=False)  # pylint: disable=protected-access
  tf.compat.v1.train.update_checkpoint_state(os.path.dirname(os.path.abspath(path)), path)
  return path


class _AttentionWrapper(v1.nn.rnn_cell.RNNCell):
  """The first layer of attention_rnn in TF1 ops (``attention_cell`` has the maths), with
  Magenta's variable names and state layout (LSTMStateTuple, attns, flat window)."""

  def __init__(self, units: int, attn_length: int):
    super().__init__(name='attention_cell_wrapper')
    self._units, self._attn_length = units, attn_length
    self._cell = v1.nn.rnn_cell.BasicLSTMCell(units, forget_bias=mc.FORGET_BIAS)

  @property
  def state_size(self):
    return (self._cell.state_size, self._units, self._units * self._attn_length)

  @property
  def output_size(self):
    return self._units

  def call(self, inputs, state):  # pylint: disable=arguments-differ
    lstm_state, attns, flat_window = state
    u, size = self._units, inputs.shape[1]
    kernel = v1.get_variable('kernel', [size + u, size])
    bias = v1.get_variable('bias', [size], initializer=v1.zeros_initializer())
    projected = tf.matmul(tf.concat([inputs, attns], 1), kernel) + bias
    cell_output, lstm_state = self._cell(projected, lstm_state)
    window = tf.reshape(flat_window, [-1, self._attn_length, u])
    with v1.variable_scope('attention'):
      attn_w = v1.get_variable('attn_w', [1, 1, u, u])
      attn_v = v1.get_variable('attn_v', [u])
      query_kernel = v1.get_variable('kernel', [2 * u, u])
      query_bias = v1.get_variable('bias', [u], initializer=v1.zeros_initializer())
      features = tf.reshape(tf.matmul(tf.reshape(window, [-1, u]), tf.reshape(attn_w, [u, u])),
                            [-1, self._attn_length, u])
      query = tf.matmul(tf.concat([lstm_state.c, lstm_state.h], 1), query_kernel) + query_bias
      scores = tf.reduce_sum(attn_v * tf.tanh(features + query[:, None, :]), 2)
      attns = tf.reduce_sum(tf.nn.softmax(scores)[:, :, None] * window, 1)
    with v1.variable_scope('attn_output_projection'):
      out_kernel = v1.get_variable('kernel', [2 * u, u])
      out_bias = v1.get_variable('bias', [u], initializer=v1.zeros_initializer())
      output = tf.matmul(tf.concat([cell_output, attns], 1), out_kernel) + out_bias
    window = tf.concat([window[:, 1:], output[:, None, :]], 1)
    return output, (lstm_state, attns, tf.reshape(window, [-1, self._attn_length * u]))


def _generation_graph(model: model_lib.NoteRnn, batch_size: int):
  """Builds the generation graph contract (module docstring) in a fresh TF1 graph.

  Returns:
    (graph, {melody_rnn variable name: tf.Variable}).
  """
  sizes, input_size, num_classes = model.layer_sizes, model.input_size, model.num_classes
  graph = tf.Graph()
  with graph.as_default():
    inputs = v1.placeholder(tf.float32, [batch_size, None, input_size], name='inputs')
    temperature = v1.placeholder(tf.float32, [], name='temperature')
    cells = [v1.nn.rnn_cell.BasicLSTMCell(u, forget_bias=mc.FORGET_BIAS) for u in sizes]
    if hasattr(model, 'stack'):
      cells[0] = _AttentionWrapper(sizes[0], model.attn_length)
      cell = v1.nn.rnn_cell.MultiRNNCell(cells)
      initial = cell.zero_state(batch_size, tf.float32)
    else:
      cell = v1.nn.rnn_cell.MultiRNNCell(cells)
      initial = []
      for k, units in enumerate(sizes):
        c = v1.placeholder_with_default(tf.zeros([batch_size, units]), [batch_size, units],
                                        name='initial_state_c%d' % k)
        h = v1.placeholder_with_default(tf.zeros([batch_size, units]), [batch_size, units],
                                        name='initial_state_h%d' % k)
        initial.append(v1.nn.rnn_cell.LSTMStateTuple(c, h))
      initial = tuple(initial)
    outputs, final_state = v1.nn.dynamic_rnn(cell, inputs, initial_state=initial,
                                             swap_memory=True, scope='rnn')
    with v1.variable_scope('fully_connected'):
      weights = v1.get_variable('weights', [sizes[-1], num_classes])
      biases = v1.get_variable('biases', [num_classes], initializer=v1.zeros_initializer())
    flat = tf.reshape(outputs, [-1, sizes[-1]])
    logits = tf.reshape(tf.matmul(flat, weights) + biases, [batch_size, -1, num_classes],
                        name='logits')
    softmax = tf.reshape(tf.nn.softmax(tf.reshape(logits / temperature, [-1, num_classes])),
                         [batch_size, -1, num_classes], name='softmax')
    graph.add_to_collection('inputs', inputs)
    graph.add_to_collection('temperature', temperature)
    graph.add_to_collection('softmax', softmax)
    for tensor in tf.nest.flatten(initial):
      graph.add_to_collection('initial_state', tensor)
    for tensor in tf.nest.flatten(final_state):
      graph.add_to_collection('final_state', tensor)
    variables = {v.op.name: v for v in v1.global_variables()}
  return graph, variables


def _loaded_generation_graph(model, arrays: dict, batch_size: int):
  """A generation graph whose variables hold ``arrays``; returns (graph, variables, session)."""
  graph, variables = _generation_graph(model, batch_size)
  if set(arrays) != set(variables):
    raise AssertionError('generation graph and weights disagree on %s'
                         % sorted(set(arrays) ^ set(variables)))
  sess = tf.compat.v1.Session(graph=graph)
  with graph.as_default():
    for name, var in variables.items():
      var.load(arrays[name], sess)
  return graph, variables, sess


def _bundle_bytes(model, arrays: dict, batch_size: int, generator_id: str, description: str,
                  bundle_description: str) -> bytes:
  from note_seq.protobuf import generator_pb2  # pylint: disable=g-import-not-at-top
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
  return bundle.SerializeToString()


def export_magenta(model: model_lib.NoteRnn, *, checkpoint_prefix: Optional[str] = None,
                   bundle_file: Optional[str] = None, generator_id: Optional[str] = None,
                   description: Optional[str] = None, bundle_description: str = '',
                   batch_size: int = 128, global_step: int = 0) -> dict:
  """Writes the model in Magenta's melody_rnn layout, for its own config.

  Args:
    model: a Note RNN of any melody_rnn config.
    checkpoint_prefix: if set, a V2 checkpoint with melody_rnn names and a generation
      metagraph is written there (``.index``, ``.data-*``, ``.meta`` and a ``checkpoint``
      state file), e.g. ``RUN/train/model.ckpt-0`` for ``melody_rnn_generate --run_dir=RUN``.
    bundle_file: if set, a ``.mag`` GeneratorBundle: a single-file V1 checkpoint plus the
      generation metagraph, with ``generator_details.id = generator_id``.
    generator_id: Magenta's config name; it must be the model's (the default).
    description: the generator description (default: Magenta's for the config).
    bundle_description: ``bundle_details.description``.
    batch_size: the generation graph's fixed batch size (Magenta's default is 128).
    global_step: the step number stored in the checkpoint.

  Returns:
    dict of what was written (``checkpoint_prefix``, ``bundle_file``).
  """
  generator_id = generator_id or model.config_name
  if generator_id != model.config_name:
    raise ValueError('a %s model cannot be exported as generator %r (Magenta would encode '
                     'its inputs differently)' % (model.config_name, generator_id))
  if not (checkpoint_prefix or bundle_file):
    raise ValueError('nothing to write: give checkpoint_prefix and/or bundle_file')
  arrays = mc.melody_rnn_arrays(model)
  written = {}
  if checkpoint_prefix:
    graph, _, sess = _loaded_generation_graph(model, arrays, batch_size)
    with graph.as_default(), sess:
      step = tf.compat.v1.train.get_or_create_global_step()
      sess.run(step.initializer)
      step.load(global_step, sess)
      saver = tf.compat.v1.train.Saver(write_version=tf.compat.v1.train.SaverDef.V2)
      os.makedirs(os.path.dirname(os.path.abspath(checkpoint_prefix)), exist_ok=True)
      written['checkpoint_prefix'] = saver.save(sess, checkpoint_prefix)
  if bundle_file:
    data = _bundle_bytes(model, arrays, batch_size, generator_id,
                         description or model.melody_config.description, bundle_description)
    os.makedirs(os.path.dirname(os.path.abspath(bundle_file)), exist_ok=True)
    files.write_bytes_atomic(bundle_file, data)
    written['bundle_file'] = bundle_file
  return written
