"""One NoteSequence -> melody SequenceExamples, Magenta's stage order (pure).

The stages of ``melody_rnn_create_dataset``, applied to
one input sequence:

1. partition (here by hash of the id, ``splits``; Magenta: at random);
2. split on time-signature / tempo changes;
3. quantize at 4 steps per quarter (three errors counted);
4. transposition by 0 (drops a sequence with a non-drum pitch outside
   [0, 127]);
5. melody extraction (``melody_extraction``) with the fixed melody_rnn args;
6. squash into the config's pitch range (basic, lookback, attention: [48, 84)
   transposed to C; mono: [0, 128), not transposed), then encode with the
   config's encoder (``melody_encodings``).

Counters carry Magenta's full names, ``DAGPipeline_<Stage>_<mode>_<stat>``,
and appear exactly when Magenta's would (a stage that ran reports its
counters, zeros included; the quantizer's only when triggered).
"""

import dataclasses
from typing import Dict, List

import note_seq
from note_seq import constants
from note_seq import sequences_lib
from note_seq.protobuf import music_pb2

from pipelines import encoding
from pipelines import melody_encodings
from pipelines import melody_extraction
from pipelines import sequence_example
from pipelines import splits
from pipelines import stats

CONFIGS = encoding.CONFIG_NAMES
HISTOGRAM_BOUNDARIES = {
    melody_extraction.MELODY_LENGTHS_IN_BARS:
        melody_extraction.length_histogram_boundaries(
            melody_extraction.MELODY_RNN_EXTRACTOR_ARGS['min_bars'])}

# Not Magenta statistics: Magenta aborts the whole run on a NegativeTimeError
# and on an unreadable record; here they are counted and the record skipped.
NEGATIVE_TIME = 'sequences_discarded_because_negative_time'
UNPARSEABLE_RECORDS = 'input_records_not_note_sequences'
# Also ours: melody extraction holds one event per step, so a single note
# lasting 2^28 MIDI ticks at 1 tick per quarter (a 60-byte file) would need
# ~10^9 events (gigabytes). One million steps is 35 hours at 120 qpm.
MAX_QUANTIZED_STEPS = 1_000_000
TOO_MANY_STEPS = 'sequences_discarded_because_too_many_steps'


@dataclasses.dataclass
class RecordResult:
  """The examples one input NoteSequence gives, and its counter increments."""
  mode: str
  examples: List[bytes]
  counters: Dict[str, int]


def stat_name(stage: str, mode: str, stat: str) -> str:
  """Magenta's DAG statistic name, e.g. DAGPipeline_Quantizer_eval_..."""
  return 'DAGPipeline_%s_%s_%s' % (stage, mode, stat)


def _quantize(piece, mode, counts):
  name = lambda stat: stat_name('Quantizer', mode, stat)
  try:
    if any(ts.numerator < 0 for ts in piece.time_signatures):
      # note-seq rejects a 0 numerator but not a negative one (ABC "M:-3/4"),
      # which makes bars negative and melody extraction loop forever.
      raise sequences_lib.BadTimeSignatureError('negative numerator')
    return sequences_lib.quantize_note_sequence(
        piece, encoding.STEPS_PER_QUARTER)
  except sequences_lib.MultipleTimeSignatureError:
    stats.add(counts, name(
        'sequences_discarded_because_multiple_time_signatures'))
  except sequences_lib.MultipleTempoError:
    stats.add(counts, name('sequences_discarded_because_multiple_tempos'))
  except sequences_lib.BadTimeSignatureError:
    stats.add(counts, name('sequences_discarded_because_bad_time_signature'))
  except sequences_lib.NegativeTimeError:
    stats.add(counts, name(NEGATIVE_TIME))
  return None


def _transposition_in_range(sequence, mode, counts) -> bool:
  """Magenta's TranspositionPipeline with range (0,): a range check only."""
  name = lambda stat: stat_name('TranspositionPipeline', mode, stat)
  ok = all(note.is_drum or
           constants.MIN_MIDI_PITCH <= note.pitch <= constants.MAX_MIDI_PITCH
           for note in sequence.notes)
  stats.add(counts, name('skipped_due_to_range_exceeded'), 0 if ok else 1)
  stats.add(counts, name('transpositions_generated'), 1 if ok else 0)
  return ok


def _extract(sequence, mode, counts) -> List[note_seq.Melody]:
  name = lambda stat: stat_name('MelodyExtractor', mode, stat)
  try:
    melodies, extraction = melody_extraction.extract_melodies(
        sequence, **melody_extraction.MELODY_RNN_EXTRACTOR_ARGS)
  except note_seq.NonIntegerStepsPerBarError:
    stats.add(counts, name(melody_extraction.NON_INTEGER_STEPS_PER_BAR))
    return []
  for stat, n in extraction.counters.items():
    stats.add(counts, name(stat), n)
  histogram = name(melody_extraction.MELODY_LENGTHS_IN_BARS)
  boundaries = HISTOGRAM_BOUNDARIES[melody_extraction.MELODY_LENGTHS_IN_BARS]
  # A zero names the histogram even when nothing was accepted, as in Magenta.
  stats.add(counts, stats.histogram_key(
      histogram, stats.bucket_labels(boundaries)[0]), 0)
  for bars in extraction.lengths_in_bars:
    stats.add(counts, stats.histogram_key(
        histogram, stats.bucket_label(bars, boundaries)))
  return melodies


def encode_melody(melody: note_seq.Melody, config: str = 'basic_rnn') -> bytes:
  """Squash into the config's range and key, then a serialized SequenceExample.

  ``Melody.squash`` is note-seq's own (its key estimate and rounding define
  the data); it modifies `melody` in place.
  """
  melody_encoder = melody_encodings.encoder(config)
  constants = melody_encoder.config
  melody.squash(constants.min_note, constants.max_note,
                transpose_to_key=constants.transpose_to_key)
  return sequence_example.encode_events(list(melody), melody_encoder)


def process_sequence(sequence: music_pb2.NoteSequence, eval_ratio: float,
                     config: str = 'basic_rnn') -> RecordResult:
  """Runs stages 1-6 on one NoteSequence.

  Args:
    sequence: an unquantized NoteSequence (a record of a NoteSequence
      TFRecord).
    eval_ratio: the fraction of sequences (by id hash) that go to eval.
    config: the melody_rnn config (``CONFIGS``); only the encoding differs.

  Returns:
    The partition, the serialized SequenceExamples, and counter increments
    keyed by Magenta's statistic names (plus the totals of ``stats``).

  Raises:
    ValueError: an unknown config (before any work, whatever the sequence).
  """
  melody_encodings.encoder(config)
  mode = splits.partition(sequence.id, eval_ratio)
  counts = {stats.INPUTS_TOTAL: 1}
  stats.add(counts, stat_name('RandomPartition', mode, 'melodies_count'))
  examples = []
  for piece in sequences_lib.split_note_sequence_on_time_changes(sequence):
    quantized = _quantize(piece, mode, counts)
    if quantized is None:
      continue
    if quantized.total_quantized_steps > MAX_QUANTIZED_STEPS:
      stats.add(counts, stat_name('Quantizer', mode, TOO_MANY_STEPS))
      continue
    if not _transposition_in_range(quantized, mode, counts):
      continue
    for melody in _extract(quantized, mode, counts):
      examples.append(encode_melody(melody, config))
  stats.add(counts, stats.OUTPUTS_TOTAL, len(examples))
  return RecordResult(mode=mode, examples=examples, counters=counts)


def describe_record(record: bytes) -> str:
  """'<filename> (<id>)' of a serialized NoteSequence, for log lines."""
  try:
    sequence = music_pb2.NoteSequence.FromString(record)
  except Exception:  # pylint: disable=broad-except  # protobuf DecodeError
    return 'a record that is not a NoteSequence'
  return '%s (%s)' % (sequence.filename, sequence.id)


def process_record(record: bytes, eval_ratio: float,
                   config: str = 'basic_rnn') -> RecordResult:
  """Like process_sequence, from a serialized NoteSequence.

  A record that is not a NoteSequence is counted under
  ``input_records_not_note_sequences`` (mode 'training', no examples).
  """
  try:
    sequence = music_pb2.NoteSequence.FromString(record)
  except Exception:  # pylint: disable=broad-except  # protobuf DecodeError
    return RecordResult(splits.TRAINING, [], {stats.INPUTS_TOTAL: 1,
                                               UNPARSEABLE_RECORDS: 1})
  return process_sequence(sequence, eval_ratio, config)
