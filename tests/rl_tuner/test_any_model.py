"""Tuning Note RNNs of every melody_rnn config (issue 14): lookback_rnn, attention_rnn, mono_rnn.

Tiny random models (one layer of 8 units; attention window 4) go through bin/train_rl_tuner
for a few hundred steps, bin/evaluate_rl_tuner, the policy rebuild from checkpoint weights and
the note_rnn_export/ -> Magenta bundle round trip.
"""

import os

import numpy as np
import pytest
import tensorflow as tf

import note_rnn
from note_rnn import magenta_export
from pipelines import encoding
from rl_tuner.policy import encodings
from rl_tuner.rl import model_networks

import rl_testlib

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONFIGS = ('attention_rnn', 'lookback_rnn', 'mono_rnn')


def _tiny(config, seed=1):
  kwargs = {'attn_length': 4} if config == 'attention_rnn' else {}
  return note_rnn.build([8], seed=seed, config=config, **kwargs)


@pytest.fixture(scope='module')
def tiny_models(tmp_path_factory):
  root = tmp_path_factory.mktemp('models')
  return {c: _tiny(c).save(str(root / c)) for c in CONFIGS}


def _train(model_dir, out, algorithm='q', *extra):
  return rl_testlib.run_tool('train_rl_tuner', '--flagfile=configs/%s.cfg' % algorithm, '--algorithm=%s' % algorithm, '--note_rnn_checkpoint=%s' % model_dir,
              '--output_dir=%s' % out, '--num_steps=256', '--num_parallel_envs=8',
              '--num_notes=16', '--noxla', '--final_eval_compositions=16',
              '--num_midi_compositions=1', '--exploration_period=256', *extra)


# ----------------------------------------------------------------------------- encodings

def test_fold_pitches_keeps_pitch_class_and_specials():
  events = np.array([[-2, -1, 0, 47, 48, 83, 84, 96, 127]])
  folded = encodings.fold_pitches(events)
  np.testing.assert_array_equal(folded, [[-2, -1, 48, 59, 48, 83, 72, 72, 79]])
  np.testing.assert_array_equal(folded[folded >= 0] % 12, events[events >= 0] % 12)
  np.testing.assert_array_equal(encodings.events_to_rule_classes(folded),
                                [[0, 1, 2, 13, 2, 37, 26, 26, 33]])


def test_lookback_repeat_label_decodes_against_the_history():
  model = _tiny('lookback_rnn')
  melody = np.array([[60, -2, 62, -1] * 8 + [60]])  # step 32 repeats step 0 (32 back)
  classes = model.classes_from_events(melody)
  assert classes[0, 32] >= model.num_classes - 2  # a repeat label
  np.testing.assert_array_equal(encodings.events(model, classes), melody)
  rule = encodings.rule_classes(model, classes)
  np.testing.assert_array_equal(rule, encoding.event_to_index(melody))
  np.testing.assert_array_equal(encodings.model_classes(model, rule), classes)


def test_rule_distributions_move_repeat_labels_onto_the_repeated_event():
  model = _tiny('lookback_rnn')
  history = model.classes_from_events(np.array([[60, -2, 62, -1] * 4 + [64, 62]]))[0]
  repeat_16 = model.num_classes - 2
  probabilities = np.zeros((2, model.num_classes), np.float32)
  probabilities[0, repeat_16] = 0.25  # at step 16: the event 16 back, MIDI 60
  probabilities[0, history[16]] = 0.75  # MIDI 64
  probabilities[1, repeat_16] = 1.0  # at step 17: the event 16 back, a hold
  out = encodings.rule_distributions(model, history, probabilities)
  expected = np.zeros((2, encoding.NUM_CLASSES), np.float32)
  expected[0, encoding.event_to_index(60)] = 0.25
  expected[0, encoding.event_to_index(64)] = 0.75
  expected[1, encoding.event_to_index(-2)] = 1.0
  np.testing.assert_allclose(out, expected)


def test_basic_layout_is_the_identity():
  model = note_rnn.build([4], seed=0)
  notes = np.array([[0, 1, 2, 37]])
  assert encodings.is_rule_layout(model) and encodings.step_model(model) is model
  np.testing.assert_array_equal(encodings.rule_classes(model, notes), notes)
  np.testing.assert_array_equal(encodings.model_classes(model, notes), notes)


@pytest.mark.parametrize('config', CONFIGS)
def test_network_unroll_equals_step_classes(config):
  model = _tiny(config)
  spec = model_networks.observation_spec(model.num_classes, False)
  net = model_networks.ModelQNetwork(spec, model)
  rng = np.random.default_rng(0)
  classes = rng.integers(0, model.num_classes, size=(3, 6)).astype(np.int32)
  step_type = np.ones((3, 6), np.int32)
  step_type[:, 0] = 0
  step_type[:, 3] = 0  # a new episode starts: the state resets to the model's initial one
  obs = {'note': tf.one_hot(classes, model.num_classes),
         'prior_log_probs': tf.zeros([3, 6, model.num_classes])}
  values, _ = net(obs, step_type=tf.constant(step_type))
  expected = []
  for t in range(6):
    if step_type[0, t] == 0:
      state = model.initial_state(3)
    logits, state = model.step_classes(tf.constant(classes[:, t]), state)
    expected.append(logits.numpy())
  np.testing.assert_allclose(values.numpy(), np.stack(expected, 1), atol=1e-5)
  assert len(net.trainable_weights) == len(model.trainable_variables)
  copy = net.copy(name='target')
  assert all(a is not b for a, b in zip(copy.trainable_weights, net.trainable_weights))


# ----------------------------------------------------------------------------- end to end

def _check_run(run_dir, model_dir, config):
  return rl_testlib.check_tuned_run(run_dir, model_dir, config)[0]


@pytest.mark.slow
@pytest.mark.parametrize('config', CONFIGS)
def test_q_tuning_run_per_config(config, tiny_models, tmp_path):
  run_dir = str(tmp_path / ('q_' + config))
  _train(tiny_models[config], run_dir)
  policy = _check_run(run_dir, tiny_models[config], config)
  # note_rnn_export/ is a Note RNN of the same config holding the tuned weights ...
  exported = note_rnn.load(os.path.join(run_dir, 'note_rnn_export'))
  assert exported.config_name == config
  for a, b in zip(exported.get_weights(), policy.network.get_weights()):
    np.testing.assert_array_equal(a, b)
  # ... and goes back into a Magenta bundle of its config with the same logits.
  bundle = str(tmp_path / ('%s.mag' % config))
  magenta_export.export_magenta(exported, bundle_file=bundle)
  back = note_rnn.load(bundle)
  assert back.config_name == config
  classes = np.array([[3, 5, 1, 0, 7, 3]], np.int32) % back.num_classes
  np.testing.assert_allclose(back.logits(back.inputs_from_classes(classes)),
                             exported.logits(exported.inputs_from_classes(classes)),
                             atol=1e-5)


@pytest.mark.slow
@pytest.mark.parametrize('algorithm', ['psi', 'g', 'pure_rl'])
def test_psi_g_pure_rl_on_attention(algorithm, tiny_models, tmp_path):
  run_dir = str(tmp_path / algorithm)
  _train(tiny_models['attention_rnn'], run_dir, algorithm)
  _check_run(run_dir, tiny_models['attention_rnn'], 'attention_rnn')


@pytest.mark.slow
def test_evaluate_saves_events_for_every_model(tiny_models, tmp_path):
  run_dir = str(tmp_path / 'q_att')
  _train(tiny_models['attention_rnn'], run_dir, 'q', '--final_eval_compositions=0',
         '--num_midi_compositions=0')
  out = str(tmp_path / 'eval')
  rl_testlib.run_tool('evaluate_rl_tuner', '--run_dir=%s' % run_dir, '--num_compositions=12',
       '--save_compositions', '--output_dir=%s' % out)
  with np.load(os.path.join(out, 'compositions.npz')) as data:
    saved = {k: data[k] for k in data.files}
  assert sorted(saved) == ['note_rnn', 'note_rnn_events', 'q_att', 'q_att_events']
  for name in ('note_rnn', 'q_att'):  # attention_rnn's events fit MIDI 48-83
    np.testing.assert_array_equal(saved[name], encoding.event_to_index(saved[name + '_events']))
  rl_testlib.run_tool('make_report', '--eval_dir=%s' % out, '--run_dir=%s' % run_dir, '--noaudio',
       '--output_dir=%s' % str(tmp_path / 'report'))
  assert os.path.isfile(os.path.join(str(tmp_path / 'report'), 'report.html'))
