"""note_rnn.attention_cell against the equations, hand values and Magenta's own graph."""

import hashlib
import math
import pathlib
import subprocess

import numpy as np
import pytest
import tensorflow as tf

import note_rnn
from note_rnn import attention_cell as ac
from note_rnn import magenta_checkpoint as mc
import note_rnn_testlib as lib

HERE = pathlib.Path(__file__).resolve().parent

GOLDEN_NPZ = HERE / 'testdata' / 'attention_cell' / 'attention_rnn_golden.npz'
BUNDLE = pathlib.Path('magenta_golden') / 'configs' / 'attention_rnn' / 'attention_rnn.mag'
CELL_NPZ = HERE / 'testdata' / 'attention_cell' / 'make_rnn_cell_4_3_2.npz'
PROBE = HERE / 'magenta_attention_probe.py'
W = 'rnn/multi_rnn_cell/cell_0/attention_cell_wrapper/'


def random_tf1_variables(rng, input_size, sizes, attn_size, vec, proj, scope=''):
  """Random arrays under Magenta's names, shapes written out from the TF1 source."""
  u0 = sizes[0]
  shapes = {W + 'kernel': (input_size + attn_size, proj), W + 'bias': (proj,),
            W + 'basic_lstm_cell/kernel': (proj + u0, 4 * u0),
            W + 'basic_lstm_cell/bias': (4 * u0,),
            W + 'attention/attn_w': (1, 1, attn_size, vec), W + 'attention/attn_v': (vec,),
            W + 'attention/kernel': (2 * u0, vec), W + 'attention/bias': (vec,),
            W + 'attn_output_projection/kernel': (u0 + attn_size, attn_size),
            W + 'attn_output_projection/bias': (attn_size,)}
  in_dim = attn_size
  for k, units in enumerate(sizes[1:], start=1):
    shapes['rnn/multi_rnn_cell/cell_%d/basic_lstm_cell/kernel' % k] = (in_dim + units, 4 * units)
    shapes['rnn/multi_rnn_cell/cell_%d/basic_lstm_cell/bias' % k] = (4 * units,)
    in_dim = units
  return {scope + name: rng.normal(0, 0.7, shape).astype(np.float32)
          for name, shape in shapes.items()}


def numpy_attention_stack(v, inputs, length, state=None):
  """The TF1 wrapper + MultiRNNCell in float64, slot by slot, from the equations.

  State here is Magenta's flat order: [c0, h0, attns, window [B, L, A], c1, h1, ...].
  """
  g = lambda name: np.asarray(v[name], np.float64)
  sig = lambda x: 1 / (1 + np.exp(-x))
  a_size = g(W + 'attention/attn_w').shape[2]
  batch, steps, _ = inputs.shape
  num_upper = len([n for n in v if n.endswith('basic_lstm_cell/bias')]) - 1
  if state is None:
    u = [g(W + 'basic_lstm_cell/bias').shape[0] // 4] + [
        g('rnn/multi_rnn_cell/cell_%d/basic_lstm_cell/bias' % k).shape[0] // 4
        for k in range(1, num_upper + 1)]
    state = [np.zeros((batch, u[0])), np.zeros((batch, u[0])), np.zeros((batch, a_size)),
             np.zeros((batch, length, a_size))]
    for units in u[1:]:
      state += [np.zeros((batch, units)), np.zeros((batch, units))]
  c, h, attns, window = [np.array(s, np.float64) for s in state[:4]]
  upper = [(np.array(state[4 + 2 * k], np.float64), np.array(state[5 + 2 * k], np.float64))
           for k in range(num_upper)]

  def lstm(x, c, h, kernel, bias):
    i, j, f, o = np.split(np.concatenate([x, h], 1) @ kernel + bias, 4, axis=1)
    c = c * sig(f + 1.0) + sig(i) * np.tanh(j)
    return c, np.tanh(c) * sig(o)

  outputs = []
  for t in range(steps):
    p = np.concatenate([inputs[:, t], attns], 1) @ g(W + 'kernel') + g(W + 'bias')
    c, h = lstm(p, c, h, g(W + 'basic_lstm_cell/kernel'), g(W + 'basic_lstm_cell/bias'))
    q = np.concatenate([c, h], 1) @ g(W + 'attention/kernel') + g(W + 'attention/bias')
    scores = np.zeros((batch, length))
    for slot in range(length):
      feature = window[:, slot] @ g(W + 'attention/attn_w')[0, 0]
      scores[:, slot] = np.tanh(feature + q) @ g(W + 'attention/attn_v')
    alpha = np.exp(scores - scores.max(1, keepdims=True))
    alpha /= alpha.sum(1, keepdims=True)
    attns = sum(alpha[:, slot:slot + 1] * window[:, slot] for slot in range(length))
    y = (np.concatenate([h, attns], 1) @ g(W + 'attn_output_projection/kernel')
         + g(W + 'attn_output_projection/bias'))
    window = np.concatenate([window[:, 1:], y[:, None]], 1)
    for k in range(num_upper):
      name = 'rnn/multi_rnn_cell/cell_%d/basic_lstm_cell/' % (k + 1)
      upper[k] = lstm(y, *upper[k], g(name + 'kernel'), g(name + 'bias'))
      y = upper[k][1]
    outputs.append(y)
  final = [c, h, attns, window] + [a for pair in upper for a in pair]
  return np.stack(outputs, 1), final


def _flat_numpy(stack, state):
  flat = [t.numpy() for t in stack.to_magenta_state(state)]
  flat[3] = flat[3].reshape(flat[3].shape[0], stack.attn_length, stack.attn_size)
  return flat


@pytest.mark.parametrize('sizes,attn_size,vec,proj', [((2, 3), None, None, None),
                                                      ((3,), 2, 4, 5)])
def test_step_matches_numpy_equations(sizes, attn_size, vec, proj):
  rng = np.random.default_rng(7)
  input_size, length = 3, 4
  a = attn_size or sizes[0]
  v = random_tf1_variables(rng, input_size, sizes, a, vec or a, proj or input_size)
  stack = ac.AttentionLstmStack.from_magenta_variables(v, attn_length=length)
  assert (stack.input_size, stack.layer_sizes, stack.attn_size) == (input_size, sizes, a)
  inputs = rng.normal(size=(2, 7, input_size)).astype(np.float32)  # 7 steps > L = 4
  expected, expected_final = numpy_attention_stack(v, inputs, length)
  state = stack.initial_state(2)
  outputs = []
  for t in range(inputs.shape[1]):
    y, state = stack.step(inputs[:, t], state)
    outputs.append(y.numpy())
  np.testing.assert_allclose(np.stack(outputs, 1), expected, atol=1e-5)
  for got, want in zip(_flat_numpy(stack, state), expected_final):
    np.testing.assert_allclose(got, want, atol=1e-5)
  # From a non-zero state, through run().
  start = [rng.normal(size=x.shape) for x in expected_final]
  expected, _ = numpy_attention_stack(v, inputs, length, start)
  flat = [s.reshape(2, -1) for s in start]
  got, _ = stack.run(inputs, stack.from_magenta_state(flat))
  np.testing.assert_allclose(got.numpy(), expected, atol=1e-5)


def test_hand_values_uniform_then_peaked_attention():
  """I = u0 = A = V = 1, L = 3; only b_out = 0.5, attn_w = attn_v = 1 are non-zero.

  The LSTM stays at 0 (zero kernels and biases: c = 0.5 tanh(0) = 0), so the query is 0 and
  every output is b_out = 0.5. The read after step t is over the window before that step:
  step 1: window [0, 0, 0] -> read 0; step 2: [0, 0, .5] -> scores (0, 0, tanh .5), read
  .5 e^tanh(.5) / (2 + e^tanh(.5)); step 3: [0, .5, .5] -> .5 * 2e / (1 + 2e).
  """
  stack = ac.AttentionLstmStack(1, (1,), attn_length=3)
  stack.set_weights([np.zeros(w.shape) for w in stack.get_weights()])
  stack.output_bias.assign([0.5])
  stack.attn_w.assign([[1.0]])
  stack.attn_v.assign([1.0])
  state = stack.initial_state(1)
  e = math.exp(math.tanh(0.5))
  for want_read, want_window in [(0.0, [0, 0, .5]), (.5 * e / (2 + e), [0, .5, .5]),
                                 (.5 * 2 * e / (1 + 2 * e), [.5, .5, .5])]:
    y, state = stack.step(tf.zeros([1, 1]), state)
    np.testing.assert_allclose(y.numpy(), [[0.5]], atol=1e-7)
    np.testing.assert_allclose(state.attns.numpy(), [[want_read]], atol=1e-7)
    np.testing.assert_allclose(state.attn_states.numpy()[0, :, 0], want_window, atol=1e-7)
    np.testing.assert_allclose(state.lstm[0][0].numpy(), [[0.0]], atol=1e-7)


def test_magenta_variables_round_trip_under_a_scope():
  rng = np.random.default_rng(1)
  v = random_tf1_variables(rng, 4, (3, 2, 2), 3, 3, 4, scope='q_network/')
  v['q_network/' + W + 'kernel/Adam'] = np.zeros((7, 4), np.float32)  # optimizer slots: ignored
  stack = ac.AttentionLstmStack.from_magenta_variables(v, attn_length=5)
  assert stack.layer_sizes == (3, 2, 2) and stack.output_size == 2
  out = stack.to_magenta_variables('q_network/')
  assert set(out) == set(v) - {'q_network/' + W + 'kernel/Adam'}
  for name, value in out.items():
    assert value.shape == v[name].shape and np.array_equal(value, v[name]), name
  assert set(stack.to_magenta_variables()) == {n[len('q_network/'):] for n in out}
  copy = ac.AttentionLstmStack(4, (3, 2, 2), attn_length=5, seed=3)
  copy.set_weights(stack.get_weights())
  x = rng.normal(size=(2, 6, 4)).astype(np.float32)
  np.testing.assert_array_equal(copy.run(x)[0].numpy(), stack.run(x)[0].numpy())


def test_bad_variables_are_named():
  rng = np.random.default_rng(2)
  v = random_tf1_variables(rng, 3, (2, 2), 2, 2, 3)
  broken = dict(v)
  del broken[W + 'attention/attn_v']
  with pytest.raises(ac.AttentionFormatError, match='attention/attn_v'):
    ac.AttentionLstmStack.from_magenta_variables(broken)
  with pytest.raises(ac.AttentionFormatError, match=r'no rnn/multi_rnn_cell/cell_0/attention'):
    ac.AttentionLstmStack.from_magenta_variables(
        mc.melody_rnn_arrays(note_rnn.build((4,), seed=1)))
  twice = dict(v, **{'other/' + n: a for n, a in v.items()})
  with pytest.raises(ac.AttentionFormatError, match=r"\['', 'other'\]|scopes"):
    ac.AttentionLstmStack.from_magenta_variables(twice)
  assert ac.AttentionLstmStack.from_magenta_variables(twice, scope='other').layer_sizes == (2, 2)
  assert ac.AttentionLstmStack.from_magenta_variables(twice, scope='').layer_sizes == (2, 2)
  wrong = dict(v)
  wrong['rnn/multi_rnn_cell/cell_1/basic_lstm_cell/kernel'] = np.zeros((5, 8), np.float32)
  with pytest.raises(ac.AttentionFormatError, match=r'cell_1/basic_lstm_cell/kernel \(5, 8\)'):
    ac.AttentionLstmStack.from_magenta_variables(wrong)
  gap = dict(v, **{'rnn/multi_rnn_cell/cell_3/basic_lstm_cell/bias': np.zeros(8, np.float32)})
  with pytest.raises(ac.AttentionFormatError, match='cell_3'):
    ac.AttentionLstmStack.from_magenta_variables(gap)
  stack = ac.AttentionLstmStack.from_magenta_variables(v)
  before = stack.get_weights()
  with pytest.raises(ValueError, match='shape mismatch'):
    stack.set_weights(before[:-1] + [np.zeros(3)])
  for a, b in zip(before, stack.get_weights()):
    np.testing.assert_array_equal(a, b)


def test_attn_length_needs_the_window_in_the_metagraph():
  with pytest.raises(ac.AttentionFormatError, match='initial_state'):
    ac.attn_length_from_metagraph(tf.compat.v1.MetaGraphDef().SerializeToString(), 32)


def test_state_spec_and_magenta_state_layout():
  stack = ac.AttentionLstmStack(3, (2, 4), attn_length=5, seed=0)
  state = stack.initial_state(tf.constant(3))
  specs = tf.nest.flatten(stack.state_spec())
  for spec, tensor in zip(specs, tf.nest.flatten(state)):
    assert [3] + spec.shape.as_list() == tensor.shape.as_list()
  assert state.attn_states.shape == (3, 5, 2) and state.lstm[1][0].shape == (3, 4)
  _, state = stack.step(np.ones((3, 3), np.float32), state)
  flat = stack.to_magenta_state(state)
  assert [t.shape[1] for t in flat] == [2, 2, 2, 10, 4, 4]
  np.testing.assert_array_equal(flat[0].numpy(), state.lstm[0][1].numpy())  # c first
  back = stack.from_magenta_state(flat)
  for a, b in zip(tf.nest.flatten(back), tf.nest.flatten(state)):
    np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_step_in_tf_function_and_while_loop_without_retracing():
  stack = ac.AttentionLstmStack(3, (4, 4), attn_length=6, seed=5)
  traces = []
  spec = (tf.TensorSpec([None, 3], tf.float32),
          tf.nest.map_structure(lambda s: tf.TensorSpec([None] + s.shape.as_list(), s.dtype),
                                stack.state_spec()))

  @tf.function(input_signature=spec)
  def step(x, state):
    traces.append(1)
    return stack.step(x, state)

  @tf.function
  def roll(x):
    return stack.run(x)

  rng = np.random.default_rng(0)
  for batch in (2, 5):
    x = rng.normal(size=(batch, 8, 3)).astype(np.float32)
    eager, _ = stack.run(x)
    state = stack.initial_state(batch)
    for t in range(8):
      y, state = step(x[:, t], state)
      np.testing.assert_allclose(y.numpy(), eager.numpy()[:, t], atol=1e-6)
    np.testing.assert_allclose(roll(x)[0].numpy(), eager.numpy(), atol=1e-6)
  assert len(traces) == 1


def test_gradients_reach_every_variable():
  stack = ac.AttentionLstmStack(3, (2, 2), attn_length=3, seed=4)
  x = np.random.default_rng(0).normal(size=(2, 5, 3)).astype(np.float32)
  with tf.GradientTape() as tape:
    loss = tf.reduce_sum(stack.run(x)[0] ** 2)
  grads = tape.gradient(loss, stack.weight_variables)
  assert len(stack.trainable_variables) == len(grads) == 12
  assert all(g is not None and np.any(g.numpy() != 0) for g in grads)


@pytest.fixture(scope='module')
def golden(shared_data):
  bundle = shared_data / BUNDLE
  if not bundle.exists():
    pytest.skip('%s is absent' % bundle)
  data = dict(np.load(GOLDEN_NPZ))
  sha = hashlib.sha256(bundle.read_bytes()).hexdigest()
  assert sha == str(data['bundle_sha256']), (
      '%s changed since %s was made; re-run %s' % (bundle, GOLDEN_NPZ.name, PROBE.name))
  return bundle, mc.bundle_variables(str(bundle)), data


def _check_against(stack, data, variables=None, atol=1e-5):
  """Outputs (and logits when ``variables`` has fully_connected) and final states, both runs."""
  num_state = len(stack.to_magenta_state(stack.initial_state(1)))
  for run in ('zero', 'warm'):
    start = None
    if run == 'warm':
      start = stack.from_magenta_state([data['warm_initial_%d' % k] for k in range(num_state)])
    out, final = stack.run(data[run + '_inputs'], start)
    np.testing.assert_allclose(out.numpy(), data[run + '_outputs'], atol=atol, err_msg=run)
    if variables is not None:
      logits = (out.numpy() @ variables['fully_connected/weights']
                + variables['fully_connected/biases'])
      np.testing.assert_allclose(logits, data[run + '_logits'], atol=atol, err_msg=run)
    for k, t in enumerate(stack.to_magenta_state(final)):
      np.testing.assert_allclose(t.numpy(), data['%s_final_%d' % (run, k)], atol=atol,
                                 err_msg='%s state %d' % (run, k))


def _cell_variables(data):
  return {k[len('var|'):]: v for k, v in data.items() if k.startswith('var|')}


def test_golden_bundle_matches_magentas_graph(golden):
  bundle, variables, data = golden
  meta = mc.read_bundle(str(bundle)).metagraph_file
  stack = ac.AttentionLstmStack.from_magenta_variables(
      variables, attn_length=ac.attn_length_from_metagraph(meta, 32))
  assert (stack.input_size, stack.layer_sizes, stack.attn_length) == (74, (32, 32), 40)
  assert data['zero_inputs'].shape[1] > stack.attn_length  # the window wraps
  _check_against(stack, data, variables)
  exported = stack.to_magenta_variables()
  for name, value in exported.items():
    np.testing.assert_array_equal(value, variables[name])
  assert set(exported) | {'fully_connected/weights', 'fully_connected/biases'} == set(variables)


def test_three_layers_match_magentas_make_rnn_cell():
  """Magenta's own make_rnn_cell([4, 3, 2], attn_length=3), every variable random (the probe)."""
  data = dict(np.load(CELL_NPZ))
  variables = _cell_variables(data)
  stack = ac.AttentionLstmStack.from_magenta_variables(variables, int(data['attn_length']))
  assert (stack.input_size, stack.layer_sizes, stack.attn_length) == (5, (4, 3, 2), 3)
  assert data['zero_inputs'].shape[1] > stack.attn_length
  _check_against(stack, data)
  assert set(stack.to_magenta_variables()) == set(variables)


@pytest.mark.baseline
def test_probe_rerun_in_magentas_kit(golden, shared_dir, tmp_path):
  """Both probe modes, re-run in Magenta's kit, reproduce the committed files and our stack."""
  bundle, variables, committed = golden
  python = lib.baseline_python(shared_dir)
  runs = [(['--bundle=%s' % bundle], committed, variables),
          (['--kit=%s' % (shared_dir / 'baseline' / 'magenta_rl_tuner'), '--steps=7'],
           dict(np.load(CELL_NPZ)), None)]
  for k, (flags, old, bundle_variables) in enumerate(runs):
    out = tmp_path / ('probe_%d.npz' % k)
    proc = subprocess.run([python, str(PROBE), '--out=%s' % out] + flags, capture_output=True,
                          text=True, timeout=300, env=lib.quiet_env())
    assert proc.returncode == 0, proc.stderr[-3000:]
    fresh = dict(np.load(out))
    assert set(fresh) == set(old)
    for key, value in fresh.items():
      if value.dtype.kind == 'f':
        np.testing.assert_allclose(value, old[key], atol=1e-6, err_msg=key)
    stack = ac.AttentionLstmStack.from_magenta_variables(
        bundle_variables or _cell_variables(fresh), int(fresh.get('attn_length', 40)))
    _check_against(stack, fresh, bundle_variables)
