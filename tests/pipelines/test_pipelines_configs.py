"""mono_rnn, lookback_rnn, attention_rnn datasets against Magenta's goldens.

magenta_golden/configs/<config>/dataset (in ../shared) holds what Magenta's
``melody_rnn_create_dataset --config=<config> --eval_ratio=0.0`` wrote for
magenta_golden/note_sequences.tfrecord, and create_dataset.log its counters;
data/magenta_corpus_sample (committed) the same for 14 corpus tunes.
"""

import collections
import lzma

import numpy as np
import pytest

import pipelines_testlib as lib
from pipelines import encoding
from pipelines import melody_dataset
from pipelines import melody_encodings
from pipelines import sequence_example
from pipelines import stats

CONFIGS = ('mono_rnn', 'lookback_rnn', 'attention_rnn')


def _golden_dir(shared_data, config):
  return shared_data / 'magenta_golden' / 'configs' / config


def _golden_records(shared_data, config):
  dataset = _golden_dir(shared_data, config) / 'dataset'
  return (lib.read_tfrecord(dataset / 'training_melodies.tfrecord') +
          lib.read_tfrecord(dataset / 'eval_melodies.tfrecord'))


def _ours(shared_data, config):
  totals = collections.Counter()
  examples = []
  path = shared_data / 'magenta_golden' / 'note_sequences.tfrecord'
  for record in lib.read_tfrecord(path):
    result = melody_dataset.process_record(record, 0.0, config)
    totals.update(result.counters)
    examples += result.examples
  return examples, totals


@pytest.mark.parametrize('config', CONFIGS)
def test_records_are_magentas_byte_for_byte(shared_data, config):
  examples, totals = _ours(shared_data, config)
  expected = _golden_records(shared_data, config)
  assert len(expected) == 2
  assert lib.multiset(examples) == lib.multiset(expected)
  inputs, outputs, counters, histograms = lib.magenta_log_stats(
      (_golden_dir(shared_data, config) / 'create_dataset.log').read_text())
  ours = stats.to_stats_json(totals, melody_dataset.HISTOGRAM_BOUNDARIES)
  assert (ours['inputs_total'], ours['outputs_total']) == (inputs, outputs)
  assert ours['counters'] == counters
  assert {name: {b: n for b, n in buckets.items() if n}
          for name, buckets in ours['histograms'].items()} == histograms


@pytest.mark.parametrize('config', CONFIGS)
def test_golden_labels_decode_to_the_events_the_inputs_show(shared_data,
                                                            config):
  """Decoding Magenta's labels (repeats included) gives back the melody."""
  melody_encoder = melody_encodings.encoder(config)
  constants = melody_encoder.config
  for record in _golden_records(shared_data, config):
    inputs, labels = sequence_example.decode(record)
    assert inputs.shape == (len(labels), constants.input_size)
    assert labels.max() < constants.num_classes
    first = _first_event(inputs[0], constants)
    events = np.concatenate(
        [[first], melody_encoder.decode_labels(labels, [first])])
    np.testing.assert_array_equal(melody_encoder.encode_inputs(events)[:-1],
                                  inputs)
    assert sequence_example.encode_events(events, melody_encoder) == record


def _first_event(row, constants):
  """The first melody event, read off its input row."""
  if constants.encoder == encoding.KEY:
    assert row[constants.note_range + 2] == 1  # an attack: melodies start on a note
    return constants.min_note + int(np.argmax(row[:constants.note_range]))
  return int(melody_encodings.class_events(
      np.argmax(row[:constants.num_event_classes]), constants))


def test_mono_rnn_is_basic_rnn_before_its_move_into_c(shared_data):
  """mono_rnn keeps the pitches played; basic_rnn's records are the same
  melodies transposed as a whole (english1 and english2 are in G: -7)."""
  def labels(records):
    return sorted((sequence_example.decode(r)[1] for r in records), key=len)
  mono = labels(_golden_records(shared_data, 'mono_rnn'))
  basic = labels(lib.read_tfrecord(shared_data / 'magenta_golden' /
                                   'melody_dataset' /
                                   'training_melodies.tfrecord'))
  mono_config = encoding.config_encoding('mono_rnn')
  for mono_labels, basic_labels in zip(mono, basic):
    mono_events = melody_encodings.class_events(mono_labels, mono_config)
    basic_events = encoding.index_to_event(basic_labels)
    pitched = mono_events >= 0
    np.testing.assert_array_equal(basic_events >= 0, pitched)
    np.testing.assert_array_equal(basic_events[~pitched], mono_events[~pitched])
    assert set(mono_events[pitched] - basic_events[pitched]) == {7}


def test_bin_writes_a_config_and_rejects_unknown_ones(shared_data, tmp_path):
  golden = shared_data / 'magenta_golden'
  out = tmp_path / 'ds'
  proc = lib.run_bin('create_melody_dataset', '--config=lookback_rnn',
                     '--input=%s' % (golden / 'note_sequences.tfrecord'),
                     '--output_dir=%s' % out, '--eval_ratio=0.0')
  assert proc.returncode == 0, proc.stderr[-3000:]
  written = (lib.read_tfrecord(out / 'training_melodies.tfrecord') +
             lib.read_tfrecord(out / 'eval_melodies.tfrecord'))
  assert lib.multiset(written) == lib.multiset(
      _golden_records(shared_data, 'lookback_rnn'))
  proc = lib.run_bin('create_melody_dataset', '--config=lookback',
                     '--input=%s' % (golden / 'note_sequences.tfrecord'),
                     '--output_dir=%s' % (tmp_path / 'bad'))
  assert proc.returncode == 2
  assert proc.stderr.strip().splitlines()[-1] == (
      "create_melody_dataset: --config: must be one of basic_rnn, mono_rnn, lookback_rnn, "
      "attention_rnn, got 'lookback'")
  assert not (tmp_path / 'bad').exists()


SAMPLE = lib.REPO_ROOT / 'tests' / 'pipelines' / 'data' / 'magenta_corpus_sample'


@pytest.mark.parametrize('config', CONFIGS)
def test_corpus_sample_records_are_magentas_byte_for_byte(config):
  """15 melodies in 9 keys and 6 meters; committed, so this never skips."""
  totals = collections.Counter()
  examples = []
  for record in lib.read_tfrecord(SAMPLE / 'note_sequences.tfrecord'):
    result = melody_dataset.process_record(record, 0.0, config)
    totals.update(result.counters)
    examples += result.examples
  expected = lib.read_tfrecord_bytes(lzma.decompress(
      (SAMPLE / ('%s_melodies.tfrecord.xz' % config)).read_bytes()))
  assert len(expected) == 15
  assert lib.multiset(examples) == lib.multiset(expected)
  inputs, outputs, counters, histograms = lib.magenta_log_stats(
      (SAMPLE / ('%s_stats.log' % config)).read_text())
  ours = stats.to_stats_json(totals, melody_dataset.HISTOGRAM_BOUNDARIES)
  assert (ours['inputs_total'], ours['outputs_total']) == (inputs, outputs)
  assert ours['counters'] == counters
  assert {name: {b: n for b, n in buckets.items() if n}
          for name, buckets in ours['histograms'].items()} == histograms
