"""extract_melodies, the per-sequence dataset stages, the SequenceExample."""

import collections
import json

import numpy as np
import pytest
from note_seq import sequences_lib
from note_seq.protobuf import music_pb2

import pipelines_testlib as lib
from pipelines import converters
from pipelines import encoding
from pipelines import melody_dataset
from pipelines import melody_extraction
from pipelines import sequence_example
from pipelines import splits
from pipelines import stats


def _quantized(notes, numerator=4, denominator=4, instrument_of=None):
  """A 120-qpm NoteSequence of (pitch, start_step, end_step) in 16ths."""
  sequence = music_pb2.NoteSequence()
  sequence.tempos.add(qpm=120)
  sequence.time_signatures.add(numerator=numerator, denominator=denominator)
  sequence.ticks_per_quarter = 220
  step = 0.125  # seconds per 16th at 120 qpm
  for i, (pitch, start, end) in enumerate(notes):
    sequence.notes.add(pitch=pitch, velocity=100, start_time=start * step,
                       end_time=end * step,
                       instrument=instrument_of(i) if instrument_of else 0)
  sequence.total_time = max((n.end_time for n in sequence.notes), default=0)
  return sequences_lib.quantize_note_sequence(sequence, 4)


def _scale_notes(bars, pitches=(60, 62, 64, 65, 67, 69, 71), offset=0):
  """Quarter notes cycling through `pitches` for `bars` 4/4 bars."""
  return [(pitches[i % len(pitches)], offset + 4 * i, offset + 4 * i + 4)
          for i in range(4 * bars)]


ARGS = melody_extraction.MELODY_RNN_EXTRACTOR_ARGS


class TestExtractMelodies:

  def test_seven_bars_pass(self):
    melodies, st = melody_extraction.extract_melodies(
        _quantized(_scale_notes(7)), **ARGS)
    # The last note ends on step 112; its NOTE_OFF there is not kept.
    assert [len(m) for m in melodies] == [7 * 16]
    assert list(melodies[0])[:5] == [60, -2, -2, -2, 62]
    assert st.counters['melodies_discarded_too_short'] == 0
    assert st.lengths_in_bars == [7]

  def test_too_short(self):
    melodies, st = melody_extraction.extract_melodies(
        _quantized(_scale_notes(6)), **ARGS)
    assert melodies == []
    assert st.counters['melodies_discarded_too_short'] == 1

  def test_too_few_pitch_classes_counts_octaves_once(self):
    notes = _scale_notes(10, pitches=(60, 72, 62, 74, 64, 76, 65))
    melodies, st = melody_extraction.extract_melodies(_quantized(notes), **ARGS)
    assert melodies == []
    assert st.counters['melodies_discarded_too_few_pitches'] == 1

  def test_truncated_to_512(self):
    melodies, st = melody_extraction.extract_melodies(
        _quantized(_scale_notes(40)), **ARGS)
    assert [len(m) for m in melodies] == [512]
    assert st.counters['melodies_truncated'] == 1
    assert st.lengths_in_bars == [32]

  def test_polyphony_abandons_the_rest_of_the_track_only(self):
    notes = _scale_notes(8) + [(48, 4, 8)]  # a second onset at step 4
    other = _scale_notes(8, pitches=(67, 69, 71, 72, 74))
    n = len(notes)
    melodies, st = melody_extraction.extract_melodies(
        _quantized(notes + other, instrument_of=lambda i: 0 if i < n else 1),
        **ARGS)
    assert st.counters['polyphonic_tracks_discarded'] == 1
    assert len(melodies) == 1  # instrument 1 still gives its melody

  def test_gap_of_a_bar_splits_and_search_restarts_on_a_bar_line(self):
    first = _scale_notes(8)
    second = _scale_notes(8, offset=(8 + 2) * 16)  # two silent bars between
    melodies, _ = melody_extraction.extract_melodies(
        _quantized(first + second), **ARGS)
    assert [m.start_step for m in melodies] == [0, 160]

  def test_drums_are_ignored(self):
    sequence = _quantized(_scale_notes(8))
    for note in sequence.notes:
      note.is_drum = True
    melodies, _ = melody_extraction.extract_melodies(sequence, **ARGS)
    assert melodies == []

  def test_three_four_bars_are_twelve_steps(self):
    notes = [(60 + (i % 7), 4 * i, 4 * i + 4) for i in range(3 * 8)]
    melodies, _ = melody_extraction.extract_melodies(
        _quantized(notes, numerator=3), **ARGS)
    assert melodies[0].steps_per_bar == 12

  def test_histogram_buckets_are_magentas(self):
    assert stats.bucket_labels(melody_extraction.length_histogram_boundaries(7)) == [
        '[-inf,0)', '[0,1)', '[1,3)', '[3,6)', '[6,7)', '[7,8)', '[8,10)',
        '[10,20)', '[20,30)', '[30,40)', '[40,50)', '[50,100)', '[100,200)',
        '[200,500)', '[500,inf)']


def _examples(path):
  root, name = str(path.parent), path.name
  (sequence,) = converters.convert_file(root, name).sequences
  result = melody_dataset.process_sequence(sequence, eval_ratio=0.0)
  return [sequence_example.decode(e) for e in result.examples]


def test_spec_table_english1_english2_example_complex(shared_data):
  midi = shared_data / 'midi'
  assert [len(y) for _, y in _examples(midi / 'english1.mid')] == [287]
  assert [len(y) for _, y in _examples(midi / 'english2.mid')] == [253]
  assert [len(y) for _, y in _examples(midi / 'example_complex.mid')] == [
      315, 511, 511, 511, 511, 157, 265, 511, 157, 265, 511, 511]


def test_dataset_stages_match_magenta_golden_bytes_and_counters(shared_data):
  golden = shared_data / 'magenta_golden'
  totals = collections.Counter()
  examples = []
  for record in lib.read_tfrecord(golden / 'note_sequences.tfrecord'):
    result = melody_dataset.process_record(record, eval_ratio=0.0)
    totals.update(result.counters)
    examples += result.examples
  expected = lib.read_tfrecord(golden / 'melody_dataset' /
                               'training_melodies.tfrecord')
  assert lib.multiset(examples) == lib.multiset(expected)
  ours = stats.to_stats_json(totals, melody_dataset.HISTOGRAM_BOUNDARIES)
  theirs = json.loads((golden / 'melody_dataset' /
                       'pipeline_stats.json').read_text())
  for key in ('inputs_total', 'outputs_total', 'counters', 'histograms'):
    assert ours[key] == theirs[key], key


def test_abc_fixed_golden_dataset(shared_data):
  golden = shared_data / 'magenta_golden'
  examples = []
  for record in lib.read_tfrecord(golden / 'note_sequences_abc_fixed.tfrecord'):
    examples += melody_dataset.process_record(record, 0.0).examples
  expected = lib.read_tfrecord(golden / 'melody_dataset_abc_fixed' /
                               'training_melodies.tfrecord')
  assert len(expected) == 3
  assert lib.multiset(examples) == lib.multiset(expected)


def test_sequence_example_parses_with_tensorflow(shared_data):
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  (inputs, labels), = _examples(shared_data / 'midi' / 'english1.mid')
  serialized = sequence_example.encode_indices(
      list(np.argmax(inputs, axis=1)) + [labels[-1]])
  _, parsed = tf.io.parse_single_sequence_example(
      serialized, sequence_features={
          'inputs': tf.io.FixedLenSequenceFeature([encoding.NUM_CLASSES],
                                                  tf.float32),
          'labels': tf.io.FixedLenSequenceFeature([], tf.int64)})
  assert parsed['inputs'].shape == (287, 38)
  np.testing.assert_array_equal(parsed['inputs'].numpy(), inputs)
  np.testing.assert_array_equal(parsed['labels'].numpy(), labels)
  # Labels are the inputs shifted by one.
  np.testing.assert_array_equal(np.argmax(inputs[1:], axis=1), labels[:-1])
  assert tf.train.SequenceExample.FromString(serialized).SerializeToString() == serialized


def test_unreadable_record_is_counted():
  result = melody_dataset.process_record(b'hello world', 0.1)
  assert result.examples == []
  assert result.counters[melody_dataset.UNPARSEABLE_RECORDS] == 1


def test_quantizer_errors_are_counted_under_magenta_names():
  sequence = music_pb2.NoteSequence(id='x')
  sequence.tempos.add(qpm=120)
  sequence.time_signatures.add(numerator=4, denominator=3)  # bad: not 2^k
  sequence.notes.add(pitch=60, start_time=0, end_time=1, velocity=80)
  sequence.total_time = 1
  result = melody_dataset.process_sequence(sequence, 0.0)
  assert result.counters[
      'DAGPipeline_Quantizer_training_sequences_discarded_because_bad_time_signature'] == 1


class TestSplit:

  def test_deterministic_and_close_to_ratio(self):
    ids = ['/id/midi/c/%d' % i for i in range(4000)]
    sides = [splits.partition(i, 0.1) for i in ids]
    assert sides == [splits.partition(i, 0.1) for i in ids]
    assert 0.08 < sides.count('eval') / len(ids) < 0.12

  def test_raising_the_ratio_only_moves_records_to_eval(self):
    ids = ['/id/abc/c/%d' % i for i in range(500)]
    low = {i for i in ids if splits.partition(i, 0.1) == 'eval'}
    high = {i for i in ids if splits.partition(i, 0.3) == 'eval'}
    assert low <= high

  def test_edges(self):
    assert splits.partition('anything', 0.0) == 'training'
    assert splits.partition('anything', 1.0) == 'eval'
    with pytest.raises(ValueError, match='eval_ratio'):
      splits.partition('x', 1.5)

  def test_known_value_is_stable_across_versions(self):
    # md5('/id/midi/inputs/...english1') pinned so a change of hash is noticed.
    assert splits.hash_fraction('abc') == pytest.approx(
        int('900150983cd24fb0', 16) / 2**64)
