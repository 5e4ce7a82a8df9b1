"""Every melody_rnn config as a Note RNN, against Magenta's own goldens.

Goldens: ``testdata/<config>_logits.npz`` (``magenta_logits_probe.py`` run on each bundle:
Magenta's encoder's inputs and labels for a fixed melody, and the bundle graph's logits),
Magenta's datasets and near-greedy generations under ../shared/data/magenta_golden/configs/,
and ``testdata/mono_rnn/`` (a 20-step Magenta mono_rnn bundle and its near-greedy output).
"""

import glob
import json
import pathlib
import subprocess

import note_seq
import numpy as np
import pytest
import tensorflow as tf

import note_rnn
from note_rnn import features
from note_rnn import generate
from note_rnn import melody_configs as mc
from note_rnn import model as model_lib
import note_rnn_testlib as lib

TESTDATA = pathlib.Path(__file__).parent / 'testdata'
CONFIGS = ('basic_rnn', 'mono_rnn', 'lookback_rnn', 'attention_rnn')
GREEDY_PRIMER = [78, -2, 76, -2, 74, -2, -2, -2, 72, -2, 69, -2, 67, -2, 64, -2, 64, -2, -2,
                 -2, 62, -2, 69, -2, 66, -2, 69, -2, 62, -2, 69, -2, 66, -2, 69, -2, 74, -2,
                 71, -2, 72, -2, 69, -2, 67, -2, 64, -2]


def _bundle(config, shared_data):
  if config == 'mono_rnn':
    return TESTDATA / 'mono_rnn' / 'mono_rnn.mag'
  if config == 'basic_rnn':
    return shared_data / 'magenta_golden' / 'basic_rnn.mag'
  return shared_data / 'magenta_golden' / 'configs' / config / ('%s.mag' % config)


def _probe(config):
  return np.load(TESTDATA / ('%s_logits.npz' % config))


def test_class_layouts_by_hand():
  lookback, key = mc.get('lookback_rnn'), mc.get('attention_rnn')
  events = np.array([[-2, 60, -2, -1] + [-2] * 12 + [60, 62, -2, -1] + [-2] * 12 + [60, 64]])
  classes = mc.classes_from_events(lookback, events)[0]
  # Holds in the first 32 steps are labelled 39; step 16's 60 keeps its own class (step 0 is
  # a hold); step 19 repeats step 3 and step 32 repeats step 16 (label 38, 16 back).
  assert list(classes[:4]) == [39, 14, 39, 1]
  assert classes[16] == 14 and classes[17] == 16 and classes[19] == 38
  assert classes[32] == 38 and classes[33] == 18
  key_classes = mc.classes_from_events(key, events)[0]
  assert list(key_classes[:4]) == [39, 12, 39, 37] and key_classes[33] == 16
  for config in (lookback, key):
    np.testing.assert_array_equal(
        mc.events_from_classes(config, mc.classes_from_events(config, events)), events)
  # A repeat label before the melody reaches back decodes to a hold.
  assert mc.events_from_classes(lookback, [[38, 39]]).tolist() == [[-2, -2]]
  assert mc.events_from_classes(lookback, [[38]], history=[[61] + [-2] * 15]).tolist() == [[61]]
  mono = mc.get('mono_rnn')
  assert mc.classes_from_events(mono, [[-2, -1, 0, 127]]).tolist() == [[0, 1, 2, 129]]
  with pytest.raises(ValueError, match='pitch in \\[48, 84\\)'):
    mc.classes_from_events(lookback, [[47]])


@pytest.mark.parametrize('config', CONFIGS)
def test_features_equal_magentas_encoder(config):
  golden = _probe(config)
  melody_config = mc.get(config)
  events = golden['events'][None]
  classes = mc.classes_from_events(melody_config, events)
  np.testing.assert_array_equal(classes[0], golden['event_labels'])
  got_events, inputs = features.encode_sequence(features.for_config(melody_config), classes)
  np.testing.assert_array_equal(got_events, events)
  np.testing.assert_array_equal(inputs[0], golden['inputs'])


def _first_event(config, inputs0):
  """Event 0 of a dataset melody, from its first input vector."""
  if config.encoder == 'key':
    return int(np.argmax(inputs0[:36])) + 48 if inputs0[38] == 1 else -2
  index = int(np.argmax(inputs0[:config.num_classes if config.encoder == 'one_hot' else 38]))
  return int(mc.base_events(config, index))


@pytest.mark.parametrize('config', ['mono_rnn', 'lookback_rnn', 'attention_rnn'])
def test_features_equal_magentas_dataset(config, shared_data):
  path = shared_data / 'magenta_golden' / 'configs' / config / 'dataset' / 'training_melodies.tfrecord'
  melody_config = mc.get(config)
  spec = {'inputs': tf.io.FixedLenSequenceFeature([melody_config.input_size], tf.float32),
          'labels': tf.io.FixedLenSequenceFeature([], tf.int64)}
  count = 0
  for record in tf.data.TFRecordDataset(str(path)):
    _, seq = tf.io.parse_single_sequence_example(record, sequence_features=spec)
    inputs, labels = seq['inputs'].numpy(), seq['labels'].numpy()
    first = [[_first_event(melody_config, inputs[0])]]
    events = np.concatenate(
        [first, mc.events_from_classes(melody_config, labels[None], history=first)], 1)
    classes = mc.classes_from_events(melody_config, events)
    np.testing.assert_array_equal(classes[0, 1:], labels)
    _, ours = features.encode_sequence(features.for_config(melody_config), classes[:, :-1])
    np.testing.assert_array_equal(ours[0], inputs)
    count += 1
  assert count == 2  # Magenta's pipeline keeps 2 of the 18 NoteSequences


@pytest.mark.parametrize('config', CONFIGS)
def test_bundle_logits_equal_magentas(config, shared_data):
  model = note_rnn.load(str(_bundle(config, shared_data)))
  golden = _probe(config)
  assert model.config_name == config and model.num_classes == golden['logits'].shape[1]
  assert model.input_size == golden['inputs'].shape[1]
  np.testing.assert_allclose(model.logits(golden['inputs'][None]).numpy()[0],
                             golden['logits'], atol=1e-5)
  classes = model.classes_from_events(golden['events'][None])
  step = tf.function(model.step_classes)
  state, out = model.initial_state(1), []
  for t in range(classes.shape[1]):
    logits, state = step(tf.constant(classes[:, t], tf.int32), state)
    out.append(logits.numpy()[0])
  np.testing.assert_allclose(np.stack(out), golden['logits'], atol=1e-5)
  assert step.experimental_get_tracing_count() == 1
  cell = state['cell'] if isinstance(state, dict) else state
  if config == 'attention_rnn':
    assert model.attn_length == 40
    flat = model.stack.to_magenta_state(cell)
  else:
    flat = [t for h, c in cell for t in (c, h)]
  for k, tensor in enumerate(flat):
    np.testing.assert_allclose(tensor.numpy()[0], golden['final_state_%d' % k], atol=1e-5)


@pytest.mark.parametrize('config', CONFIGS)
def test_state_spec_and_batch_shapes(config):
  model = model_lib.build((8, 6), seed=2, config=config)
  spec = model.state_spec()
  for batch in (1, 5):
    state = model.initial_state(batch)
    tf.nest.assert_same_structure(spec, state)
    for s, t in zip(tf.nest.flatten(spec), tf.nest.flatten(state)):
      assert t.shape == [batch] + s.shape.as_list() and t.dtype == s.dtype
  step = tf.function(model.step_classes)
  for batch in (2, 3):
    logits, state = step(tf.zeros([batch], tf.int32), model.initial_state(batch))
    assert logits.shape == (batch, model.num_classes)
  assert step.experimental_get_tracing_count() <= 2  # a new batch size may retrace once


def _notes(path):
  seq = note_seq.midi_file_to_note_sequence(str(path))
  return [(n.pitch, round(n.start_time, 4), round(n.end_time, 4)) for n in seq.notes]


@pytest.mark.parametrize('config', ['mono_rnn', 'lookback_rnn', 'attention_rnn'])
def test_greedy_generation_equals_magentas(config, shared_data, tmp_path):
  if config == 'mono_rnn':
    golden = TESTDATA / 'mono_rnn' / 'greedy.mid'
  else:
    golden, = glob.glob(str(shared_data / 'magenta_golden' / 'configs' / config / 'greedy'
                            / '*.mid'))
  paths = generate.run(generate.GenerateConfig(
      checkpoint=str(_bundle(config, shared_data)), output_dir=str(tmp_path), num_outputs=1,
      num_steps=160, primer_melody=GREEDY_PRIMER, temperature=0.0))
  assert _notes(paths[0]) == _notes(golden)
  assert len(_notes(golden)) > 20


@pytest.mark.parametrize('config', ['mono_rnn', 'lookback_rnn', 'attention_rnn'])
def test_run_dir_round_trip(config, tmp_path):
  model = model_lib.build((8, 6), seed=4, config=config)
  model.save(str(tmp_path / 'run'))
  loaded = note_rnn.load(str(tmp_path / 'run'))
  assert loaded.config_name == config and loaded.layer_sizes == (8, 6)
  for a, b in zip(model.get_weights(), loaded.get_weights()):
    np.testing.assert_array_equal(a, b)
  with open(tmp_path / 'run' / 'config.json') as f:
    assert json.load(f)['config_name'] == config
  prefix = str(tmp_path / 'run' / 'best' / 'model')
  assert note_rnn.load(prefix).config_name == config


def test_attention_window_from_metagraph(shared_data, tmp_path):
  from note_rnn import magenta_export  # pylint: disable=g-import-not-at-top
  model = model_lib.build((8, 6), seed=1, config='attention_rnn', attn_length=7)
  path = str(tmp_path / 'a.mag')
  magenta_export.export_magenta(model, bundle_file=path, batch_size=2)
  loaded = note_rnn.load(path)
  assert loaded.attn_length == 7
  for a, b in zip(model.get_weights(), loaded.get_weights()):
    np.testing.assert_array_equal(a, b)
  assert note_rnn.load(str(_bundle('attention_rnn', shared_data))).attn_length == 40


def test_wrong_generator_id_is_refused(shared_data, tmp_path):
  from note_seq.protobuf import generator_pb2  # pylint: disable=g-import-not-at-top
  bundle = generator_pb2.GeneratorBundle()
  bundle.ParseFromString(_bundle('lookback_rnn', shared_data).read_bytes())
  bundle.generator_details.id = 'basic_rnn'
  path = tmp_path / 'wrong.mag'
  path.write_bytes(bundle.SerializeToString())
  with pytest.raises(ValueError, match="generator id 'basic_rnn', but the variables are a "
                                       'lookback_rnn model'):
    note_rnn.load(str(path))


@pytest.mark.parametrize('config', ['mono_rnn', 'lookback_rnn', 'attention_rnn'])
def test_train_on_magentas_dataset(config, shared_data, tmp_path):
  from note_rnn import config as config_lib  # pylint: disable=g-import-not-at-top
  from note_rnn import train as train_lib  # pylint: disable=g-import-not-at-top
  data = str(shared_data / 'magenta_golden' / 'configs' / config / 'dataset'
             / 'training_melodies.tfrecord')
  hparams = config_lib.parse_hparams(config_lib.named_config(config),
                                     'batch_size=2,rnn_layer_sizes=[8]')
  cfg = train_lib.TrainConfig(run_dir=str(tmp_path / 'run'), sequence_example_file=data,
                              eval_sequence_example_file=data, config=config,
                              hparams=hparams, num_training_steps=3, summary_every=3,
                              eval_every=3, checkpoint_every=3)
  result = train_lib.train(cfg)
  assert result['step'] == 3 and np.isfinite(result['eval']['loss'])
  model = note_rnn.load(str(tmp_path / 'run'))
  assert model.config_name == config and model.layer_sizes == (8,)
  other = 'lookback_rnn' if config != 'lookback_rnn' else 'attention_rnn'
  with pytest.raises(ValueError, match='inputs are %d wide \\(%s\\), but --config=%s takes'
                     % (mc.get(config).input_size, config, other)):
    train_lib.train(train_lib.TrainConfig(
        run_dir=str(tmp_path / 'other'), sequence_example_file=data, config=other,
        hparams=config_lib.named_config(other), num_training_steps=1))


@pytest.mark.baseline
@pytest.mark.parametrize('config', ['mono_rnn', 'lookback_rnn', 'attention_rnn'])
def test_magenta_generates_from_exported_bundle(config, shared_data, shared_dir, tmp_path,
                                                python_exe):
  """bin/export_magenta_bundle of each config -> Magenta's melody_rnn_generate runs it; its
  near-greedy output equals ours at --temperature=0 byte for byte (and Magenta's golden)."""
  python = lib.baseline_python(shared_dir)
  out = tmp_path / 'export'
  proc = subprocess.run(
      [python_exe, str(lib.REPO_ROOT / 'bin' / 'export_magenta_bundle'),
       '--checkpoint=%s' % _bundle(config, shared_data), '--output_dir=%s' % out,
       '--batch_size=4'], capture_output=True, text=True, timeout=300, env=lib.quiet_env())
  assert proc.returncode == 0, proc.stderr[-3000:]
  bundle = out / ('%s.mag' % config)
  primer = json.dumps(GREEDY_PRIMER)
  runs = {
      'magenta': [python, str(shared_dir / 'baseline' / 'run_magenta.py'),
                  'melody_rnn_generate', '--temperature=0.0001'],
      'ours': [python_exe, str(lib.REPO_ROOT / 'bin' / 'generate_melodies'),
               '--temperature=0'],
  }
  files = {}
  for who, cmd in runs.items():
    proc = subprocess.run(
        cmd + ['--bundle_file=%s' % bundle, '--output_dir=%s' % (tmp_path / who),
               '--num_outputs=1', '--num_steps=160', '--primer_melody=%s' % primer],
        capture_output=True, text=True, timeout=600, env=lib.quiet_env())
    assert proc.returncode == 0, proc.stderr[-3000:]
    (files[who],) = sorted((tmp_path / who).glob('*.mid'))
  assert files['magenta'].read_bytes() == files['ours'].read_bytes()
  if config == 'mono_rnn':
    golden = TESTDATA / 'mono_rnn' / 'greedy.mid'
  else:
    golden, = glob.glob(str(shared_data / 'magenta_golden' / 'configs' / config / 'greedy'
                            / '*.mid'))
  assert _notes(files['magenta']) == _notes(golden)


def test_attn_length_of_a_training_checkpoint_comes_from_the_caller(tmp_path):
  from note_rnn import magenta_export  # pylint: disable=g-import-not-at-top
  model = model_lib.build((8, 6), seed=5, config='attention_rnn', attn_length=7)
  prefix = str(tmp_path / 'train' / 'model.ckpt-3')
  magenta_export.export_magenta(model, checkpoint_prefix=prefix, batch_size=2, global_step=3)
  assert note_rnn.load(prefix).attn_length == 40  # the variables do not record it
  loaded = note_rnn.load(str(tmp_path), attn_length=7)  # a Magenta run dir
  inputs = model.inputs_from_classes(np.random.RandomState(0).randint(0, 40, size=(2, 50)))
  np.testing.assert_allclose(loaded.logits(inputs).numpy(), model.logits(inputs).numpy(),
                             atol=1e-5)


@pytest.mark.parametrize('config', CONFIGS)
def test_agrees_with_the_dataset_encoders(config):
  """The batch numpy layouts and the in-graph features equal pipelines' per-melody encoders
  (the ones that write the datasets) on random melodies with many repeats."""
  from pipelines import melody_encodings  # pylint: disable=g-import-not-at-top
  melody_config, dataset = mc.get(config), melody_encodings.encoder(config)
  rng = np.random.RandomState(7)
  pitches = np.arange(melody_config.min_note, melody_config.max_note)
  vocab = np.concatenate([[-2] * 8, [-1] * 2, rng.choice(pitches, 6)])
  bar = rng.choice(vocab, size=(4, 16))
  events = np.concatenate([bar, rng.choice(vocab, size=(4, 16)), bar, bar[:, :9]], axis=1)
  events[:, 0] = bar[:, 0] = rng.choice(pitches, 4)
  classes = mc.classes_from_events(melody_config, events)
  _, inputs = features.encode_sequence(features.for_config(melody_config), classes)
  for row in range(events.shape[0]):
    np.testing.assert_array_equal(classes[row], dataset.encode_labels(events[row]))
    np.testing.assert_array_equal(
        mc.events_from_classes(melody_config, classes[row:row + 1])[0],
        dataset.decode_labels(classes[row], []))
    np.testing.assert_array_equal(inputs[row], dataset.encode_inputs(events[row]))
