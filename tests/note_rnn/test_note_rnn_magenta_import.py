"""Importing Magenta / RL Tuner checkpoints, checked numerically against the real fixtures."""

import json
import subprocess
import textwrap

import numpy as np
import pytest
import tensorflow as tf

import note_rnn
from note_rnn import magenta_checkpoint as mc
import note_rnn_testlib as lib

RESEARCH = 'checkpoints/rl_tuner_research/model.ckpt-1994'
GOLDEN = 'magenta_golden'


@pytest.fixture(scope='module')
def research_vars(shared_data):
  return mc.read_checkpoint_variables(str(shared_data / RESEARCH))


@pytest.fixture(scope='module')
def research_model(shared_data):
  return note_rnn.load(str(shared_data / RESEARCH))


def _research_tf1(variables):
  p = 'rnn_model/RNN/MultiRNNCell/Cell0/LSTMCell/'
  return ([variables[p + 'W_0']], [variables[p + 'B']],
          variables['rnn_model/fully_connected/weights'],
          variables['rnn_model/fully_connected/bias'])


def test_research_checkpoint_numpy_lstm_matches_keras(shared_data, research_vars, research_model):
  examples = lib.read_sequence_examples(
      shared_data / GOLDEN / 'melody_dataset' / 'training_melodies.tfrecord')
  # english2, a whole 253-step melody (3.2e-6 here; over english1's 287 steps float32
  # rounding drifts to 1.7e-5 at its largest logits).
  inputs = examples[0][0][None]
  expected, _ = lib.numpy_tf1_lstm_logits(*_research_tf1(research_vars), inputs)
  assert research_model.layer_sizes == (100,)
  np.testing.assert_allclose(research_model.logits(inputs).numpy(), expected, atol=1e-5)


def test_research_checkpoint_matches_rl_tuner_golden(shared_data, research_vars, research_model):
  g = shared_data / GOLDEN
  inputs = np.load(g / 'inputs_golden.npy')
  golden = np.load(g / 'rl_tuner_research_logits_golden.npy')
  numpy_logits, numpy_state = lib.numpy_tf1_lstm_logits(*_research_tf1(research_vars), inputs)
  np.testing.assert_allclose(numpy_logits, golden, atol=1e-5)
  logits, ((h, c),) = research_model.logits_and_state(inputs)
  np.testing.assert_allclose(logits.numpy(), golden, atol=1e-5)
  # The RL Tuner's flat state is [c, h]; ours is (h, c) per layer.
  final = np.load(g / 'rl_tuner_research_final_state_golden.npy')
  np.testing.assert_allclose(np.concatenate([c, h], axis=1), final, atol=1e-5)
  np.testing.assert_allclose(np.concatenate(numpy_state[0], axis=1), final, atol=1e-5)


def test_research_checkpoint_nll_on_golden_dataset(shared_data, research_model):
  examples = lib.read_sequence_examples(
      shared_data / GOLDEN / 'melody_dataset' / 'training_melodies.tfrecord')
  per_example, all_nll = [], []
  for inputs, labels in examples:
    logits = research_model.logits(inputs[None])[0]
    nll = tf.nn.sparse_softmax_cross_entropy_with_logits(labels, logits).numpy()
    per_example.append(nll.mean())
    all_nll.append(nll)
  assert [len(x) for x in all_nll] == [253, 287]
  np.testing.assert_allclose(per_example, [0.990, 1.185], atol=1e-3)
  assert abs(np.concatenate(all_nll).mean() - 1.094) < 1e-3


@pytest.mark.parametrize('source', ['basic_rnn.mag', 'basic_rnn_run/train/model.ckpt-20',
                                    'basic_rnn_run', 'basic_rnn_run/train'])
def test_magenta_basic_rnn_matches_golden(shared_data, source):
  g = shared_data / GOLDEN
  model = note_rnn.load(str(g / source))
  assert model.layer_sizes == (64, 64)
  inputs = np.load(g / 'inputs_golden.npy')
  logits, state = model.logits_and_state(inputs)
  np.testing.assert_allclose(logits.numpy(), np.load(g / 'logits_golden.npy'), atol=1e-5)
  probs = tf.nn.softmax(logits).numpy()
  np.testing.assert_allclose(probs, np.load(g / 'softmax_golden.npy'), atol=1e-6)
  # Magenta's flattened state is [c0, h0, c1, h1].
  final = np.load(g / 'final_state_golden.npy').reshape(4, 1, -1)
  ours = np.stack([state[0][1], state[0][0], state[1][1], state[1][0]])
  np.testing.assert_allclose(ours, final, atol=1e-5)


def test_bundle_numpy_lstm_matches_keras(shared_data):
  g = shared_data / GOLDEN
  variables = mc.bundle_variables(str(g / 'basic_rnn.mag'))
  p = 'rnn/multi_rnn_cell/cell_%d/basic_lstm_cell/'
  tf1 = ([variables[p % k + 'kernel'] for k in (0, 1)], [variables[p % k + 'bias'] for k in (0, 1)],
         variables['fully_connected/weights'], variables['fully_connected/biases'])
  inputs = np.load(g / 'inputs_golden.npy')
  expected, _ = lib.numpy_tf1_lstm_logits(*tf1, inputs)
  np.testing.assert_allclose(expected, np.load(g / 'logits_golden.npy'), atol=1e-5)
  np.testing.assert_allclose(mc.load_bundle(str(g / 'basic_rnn.mag')).logits(inputs).numpy(),
                             expected, atol=1e-5)


GENERATIONS = {
    'melody_rnn_tf12': ('rnn/multi_rnn_cell/cell_0/basic_lstm_cell/kernel',
                        'rnn/multi_rnn_cell/cell_0/basic_lstm_cell/bias',
                        'fully_connected/weights', 'fully_connected/biases'),
    'rl_tuner_head': ('rnn_model/rnn/multi_rnn_cell/cell_0/lstm_cell/kernel',
                      'rnn_model/rnn/multi_rnn_cell/cell_0/lstm_cell/bias',
                      'rnn_model/fully_connected/weights', 'rnn_model/fully_connected/bias'),
    'tf10': ('rnn/multi_rnn_cell/cell_0/basic_lstm_cell/weights',
             'rnn/multi_rnn_cell/cell_0/basic_lstm_cell/biases',
             'fully_connected/weights', 'fully_connected/biases'),
    'tf0x_melody_rnn': ('RNN/MultiRNNCell/Cell0/BasicLSTMCell/Linear/Matrix',
                        'RNN/MultiRNNCell/Cell0/BasicLSTMCell/Linear/Bias',
                        'fully_connected/weights', 'fully_connected/biases'),
    'research': ('rnn_model/RNN/MultiRNNCell/Cell0/LSTMCell/W_0',
                 'rnn_model/RNN/MultiRNNCell/Cell0/LSTMCell/B',
                 'rnn_model/fully_connected/weights', 'rnn_model/fully_connected/bias'),
}


@pytest.mark.parametrize('generation', sorted(GENERATIONS))
def test_every_name_generation_loads(tmp_path, research_vars, research_model, generation):
  names = GENERATIONS[generation]
  kernels, biases, dense_w, dense_b = _research_tf1(research_vars)
  arrays = {names[0]: kernels[0], names[1]: biases[0], names[2]: dense_w, names[3]: dense_b,
            names[0] + '/Adam': np.zeros((1,), np.float32), 'global_step': np.int64(5)}
  prefix = mc._save_tf1(arrays, str(tmp_path / 'model.ckpt'), v1=(generation == 'research'))
  model = note_rnn.load(prefix)
  for a, b in zip(model.get_weights(), research_model.get_weights()):
    np.testing.assert_array_equal(a, b)


def test_no_match_lists_names(tmp_path):
  prefix = mc._save_tf1({'foo/bar': np.zeros((3,), np.float32),
                         'rnn/some_cell/kernel': np.zeros((2, 4), np.float32)},
                        str(tmp_path / 'model.ckpt'), v1=False)
  with pytest.raises(mc.CheckpointFormatError, match=r'Names found: foo/bar, rnn/some_cell/kernel'):
    note_rnn.load(prefix)


def test_several_scopes_need_a_choice(research_vars, research_model):
  tf1 = _research_tf1(research_vars)
  variables = {}
  for scope in ('q_network', 'reward_rnn'):
    variables.update({scope + '/rnn/multi_rnn_cell/cell_0/lstm_cell/kernel': tf1[0][0],
                      scope + '/rnn/multi_rnn_cell/cell_0/lstm_cell/bias': tf1[1][0],
                      scope + '/fully_connected/weights': tf1[2],
                      scope + '/fully_connected/bias': tf1[3]})
  with pytest.raises(mc.CheckpointFormatError, match="'q_network', 'reward_rnn'"):
    mc.model_from_tf1_variables(variables)
  model = mc.model_from_tf1_variables(variables, scope='reward_rnn')
  np.testing.assert_array_equal(model.get_weights()[0], research_model.get_weights()[0])


def test_shape_mismatch_is_named(research_vars):
  tf1 = _research_tf1(research_vars)
  variables = {'rnn/multi_rnn_cell/cell_0/lstm_cell/kernel': tf1[0][0][:100],
               'rnn/multi_rnn_cell/cell_0/lstm_cell/bias': tf1[1][0],
               'fully_connected/weights': tf1[2], 'fully_connected/bias': tf1[3]}
  with pytest.raises(mc.CheckpointFormatError, match='do not fit input size 38'):
    mc.model_from_tf1_variables(variables)


def test_export_rl_tuner_checkpoint_round_trip(tmp_path, research_model):
  prefix = mc.export_rl_tuner_checkpoint(research_model, str(tmp_path / 'rlt' / 'model.ckpt'))
  names = sorted(n for n, _ in tf.train.list_variables(prefix))
  assert names == ['rnn_model/fully_connected/bias', 'rnn_model/fully_connected/weights',
                   'rnn_model/rnn/multi_rnn_cell/cell_0/lstm_cell/bias',
                   'rnn_model/rnn/multi_rnn_cell/cell_0/lstm_cell/kernel']
  assert tf.train.latest_checkpoint(str(tmp_path / 'rlt')) == prefix
  again = note_rnn.load(str(tmp_path / 'rlt'))
  for a, b in zip(again.get_weights(), research_model.get_weights()):
    np.testing.assert_array_equal(a, b)


_ORIGINAL_LOADER_SCRIPT = textwrap.dedent('''
    import json, os, sys
    import numpy as np
    kit, ckpt_dir, inputs_path, sizes = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
    sys.path.insert(0, kit)
    import tensorflow.compat.v1 as tf
    tf.disable_v2_behavior()
    from magenta.models.rl_tuner import note_rnn_loader, rl_tuner_ops
    hparams = rl_tuner_ops.default_hparams()
    hparams.rnn_layer_sizes = sizes
    graph = tf.Graph()
    loader = note_rnn_loader.NoteRNNLoader(graph, scope='q_network', checkpoint_dir=ckpt_dir,
                                           hparams=hparams)
    with graph.as_default():
      session = tf.Session(graph=graph)
      loader.initialize_and_restore(session)
      x = np.load(inputs_path)
      logits = session.run(loader.logits, {loader.melody_sequence: x,
                                           loader.lengths: [x.shape[1]],
                                           loader.initial_state: loader.get_zero_state()})
    np.save(sys.argv[5], logits.reshape(x.shape[0], x.shape[1], -1))
''')


@pytest.mark.baseline
def test_original_rl_tuner_loader_reads_our_export(tmp_path, shared_dir, shared_data,
                                                   research_model):
  python = lib.baseline_python(shared_dir)
  model = note_rnn.build((100,), seed=11)
  # Mix in trained weights so the logits are not near-uniform.
  model.set_weights(research_model.get_weights())
  ckpt_dir = tmp_path / 'ckpt'
  mc.export_rl_tuner_checkpoint(model, str(ckpt_dir / 'model.ckpt'))
  inputs = np.load(shared_data / GOLDEN / 'inputs_golden.npy')
  np.save(tmp_path / 'inputs.npy', inputs)
  script = tmp_path / 'run_original.py'
  script.write_text(_ORIGINAL_LOADER_SCRIPT)
  proc = subprocess.run(
      [python, str(script), str(shared_dir / 'baseline' / 'magenta_rl_tuner'), str(ckpt_dir),
       str(tmp_path / 'inputs.npy'), json.dumps([100]), str(tmp_path / 'out.npy')],
      capture_output=True, text=True, timeout=300, env=lib.quiet_env())
  assert proc.returncode == 0, proc.stderr[-3000:]
  original = np.load(tmp_path / 'out.npy')
  np.testing.assert_allclose(model.logits(inputs).numpy(), original, atol=1e-5)
