"""Beam pipeline: NoteSequence TFRecords -> melody SequenceExample TFRecords.

``bin/create_melody_dataset`` (Magenta: ``melody_rnn_create_dataset``) calls
``run``. Each input record goes through the pure
``melody_dataset.process_record``; this module routes its examples to
``training_melodies.tfrecord`` / ``eval_melodies.tfrecord`` and sums its
counters into ``pipeline_stats.json`` (the shape of Magenta's, same names).
"""

import dataclasses
import glob
import logging
import os
import struct
import time
from typing import Iterator, Optional, Sequence

import apache_beam as beam
from apache_beam.metrics import Metrics
import google_crc32c

from pipelines import beam_common
from pipelines import limits
from pipelines import melody_dataset
from pipelines import splits
from pipelines import stats

METRICS_NAMESPACE = 'create_melody_dataset'
TRAINING_FILE = 'training_melodies.tfrecord'
EVAL_FILE = 'eval_melodies.tfrecord'
STATS_FILE = 'pipeline_stats.json'
OUTPUT_FILES = {splits.TRAINING: TRAINING_FILE, splits.EVAL: EVAL_FILE}
# Not a Magenta statistic: an input TFRecord that is cut short or fails a CRC
# (Magenta, and Beam's ReadFromTFRecord, abort the whole run).
CORRUPT_TFRECORD_FILES = 'corrupt_tfrecord_files'


@dataclasses.dataclass(frozen=True)
class DatasetConfig:
  """What bin/create_melody_dataset asks for.

  Attributes:
    input: a NoteSequence TFRecord file, or a glob of them.
    output_dir: where the two TFRecords and pipeline_stats.json go.
    eval_ratio: the fraction of NoteSequences (by id hash) used for eval.
    config: the melody_rnn config (``melody_dataset.CONFIGS``).
    num_shards: 1 = exactly the two file names; N > 1 = sharded names.
    beam_args: Beam pipeline options passed through.
    command_flags: the command line, recorded in the stats file.
  """
  input: str
  output_dir: str
  eval_ratio: float = 0.1
  config: str = 'basic_rnn'
  num_shards: int = 1
  beam_args: Sequence[str] = ()
  command_flags: Sequence[str] = ()


class CorruptTFRecordError(ValueError):
  """A TFRecord file's framing or checksum is wrong at some offset."""


def _masked_crc32c(data: bytes) -> int:
  crc = google_crc32c.value(data)
  return (((crc >> 15) | (crc << 17)) + 0xa282ead8) & 0xffffffff


def read_tfrecord_file(path: str) -> Iterator[bytes]:
  """The records of one TFRecord file, checking both CRCs of each.

  Raises:
    CorruptTFRecordError: after the last good record, naming the file and the
      byte offset where the damage starts (a partial write, a flipped byte).
  """
  size = os.path.getsize(path)
  with open(path, 'rb') as f:
    offset = 0
    while True:
      header = f.read(12)
      if not header:
        return
      if len(header) < 12:
        raise CorruptTFRecordError('%s: truncated record header at byte %d'
                                   % (path, offset))
      length_bytes, length_crc = header[:8], struct.unpack('<I', header[8:])[0]
      if _masked_crc32c(length_bytes) != length_crc:
        raise CorruptTFRecordError('%s: bad length checksum at byte %d'
                                   % (path, offset))
      (length,) = struct.unpack('<Q', length_bytes)
      if offset + 12 + length + 4 > size:  # before reading: 2^60 would be a MemoryError
        raise CorruptTFRecordError('%s: record at byte %d claims %d bytes, past the end '
                                   'of the file' % (path, offset, length))
      data = f.read(length)
      footer = f.read(4)
      if len(data) < length or len(footer) < 4:
        raise CorruptTFRecordError('%s: record at byte %d is cut short'
                                   % (path, offset))
      if _masked_crc32c(data) != struct.unpack('<I', footer)[0]:
        raise CorruptTFRecordError('%s: bad data checksum in the record at '
                                   'byte %d' % (path, offset))
      yield data
      offset += 12 + length + 4


class ReadTFRecordFileFn(beam.DoFn):
  """File path -> its records; a damaged file keeps the records before the
  damage and is logged and counted under ``corrupt_tfrecord_files``."""

  def __init__(self):
    super().__init__()
    self._counter = None

  def process(self, path):
    count = 0
    try:
      for record in read_tfrecord_file(path):
        count += 1
        yield beam_common.tagged(beam_common.MAIN_TAG, record)
    except (CorruptTFRecordError, OSError) as e:
      logging.warning('Stopped reading %s after %d records: %s', path, count,
                      e)
      if self._counter is None:
        self._counter = Metrics.counter(METRICS_NAMESPACE,
                                        CORRUPT_TFRECORD_FILES)
      self._counter.inc()
      yield beam_common.tagged(beam_common.COUNTERS_TAG,
                               (CORRUPT_TFRECORD_FILES, 1))


def input_files(pattern: str):
  """The files `pattern` names (a path or a glob), sorted."""
  return sorted(glob.glob(os.path.expanduser(pattern)))


class ProcessRecordFn(beam_common.CountingDoFn):
  """Serialized NoteSequence -> examples tagged 'training' / 'eval' + counters.

  A record that fails for an unforeseen reason is logged and counted under
  ``record_errors`` instead of failing the job.
  """

  def __init__(self, eval_ratio: float, config: str = 'basic_rnn'):
    super().__init__(METRICS_NAMESPACE)
    self._eval_ratio = eval_ratio
    self._config = config

  def process(self, record):
    try:
      # The same per-input bound as the converters: one pathological record
      # must not hang the job (it is logged and counted under record_errors).
      with limits.time_limit(limits.DEFAULT_MAX_SECONDS_PER_FILE,
                             'the melody stage'):
        result = melody_dataset.process_record(record, self._eval_ratio,
                                               self._config)
    except Exception as e:  # pylint: disable=broad-except
      logging.warning('Skipped the NoteSequence record of %s: %s: %s',
                      melody_dataset.describe_record(record),
                      type(e).__name__, e)
      yield self._count(stats.INPUTS_TOTAL, 1)
      yield self._count('record_errors', 1)
      return
    for name, n in result.counters.items():
      yield self._count(name, n)
    for example in result.examples:
      yield beam_common.tagged(result.mode, example)


def build(pipeline: beam.Pipeline, config: DatasetConfig, files) -> None:
  """Adds reading, processing and writing to `pipeline`."""
  read = beam_common.split_by_tag(
      pipeline
      | 'InputFiles' >> beam.Create(files)
      | 'ReadNoteSequences' >> beam.ParDo(ReadTFRecordFileFn()),
      (beam_common.MAIN_TAG, beam_common.COUNTERS_TAG), label='RouteRead')
  records = read[beam_common.MAIN_TAG] | 'Distribute' >> beam.Reshuffle()
  results = beam_common.split_by_tag(
      records | 'ExtractMelodies' >> beam.ParDo(
          ProcessRecordFn(config.eval_ratio, config.config)),
      (beam_common.COUNTERS_TAG,) + splits.MODES)
  leaves = [beam_common.write_tfrecords(
      results[mode], os.path.join(config.output_dir, OUTPUT_FILES[mode]),
      config.num_shards, label='Write_%s' % mode) for mode in splits.MODES]
  counters = ((results[beam_common.COUNTERS_TAG],
               read[beam_common.COUNTERS_TAG])
              | 'AllCounters' >> beam.Flatten())
  leaves.append(counters | 'Stats' >> beam_common.WriteStats(
      os.path.join(config.output_dir, STATS_FILE),
      histogram_boundaries=melody_dataset.HISTOGRAM_BOUNDARIES,
      header=_header(config)))
  beam_common.join_leaves(leaves)


def _header(config: DatasetConfig) -> dict:
  return {'tool': 'create_melody_dataset', 'config': config.config,
          'eval_ratio': config.eval_ratio,
          'split': 'md5(NoteSequence.id) as a fraction in [0, 1) < eval_ratio'
                   ' -> eval (deterministic; Magenta: random.random())',
          'input': config.input,
          'command_flags': list(config.command_flags)}


def run(config: DatasetConfig, options=None) -> dict:
  """Builds the melody dataset; returns the pipeline_stats.json it wrote.

  Raises:
    FileNotFoundError: `config.input` matches no file.
    ValueError: unknown config or eval_ratio outside [0, 1].
  """
  if config.config not in melody_dataset.CONFIGS:
    raise ValueError('--config must be one of %s, got %r'
                     % (', '.join(melody_dataset.CONFIGS), config.config))
  if not 0.0 <= config.eval_ratio <= 1.0:
    raise ValueError('--eval_ratio must be in [0, 1], got %r'
                     % config.eval_ratio)
  files = input_files(config.input)
  if not files:
    raise FileNotFoundError('--input %s matches no file' % config.input)
  if options is None:
    options = beam_common.make_pipeline_options(config.beam_args)
  os.makedirs(config.output_dir, exist_ok=True)
  logging.info('Building the %s melody dataset from %d file(s) with %s.',
               config.config, len(files), beam_common.runner_name(options))
  start = time.time()
  pipeline = beam_common.make_pipeline(options)
  build(pipeline, config, files)
  result = pipeline.run()
  result.wait_until_finish()
  for name in OUTPUT_FILES.values():
    beam_common.finish_tfrecords(os.path.join(config.output_dir, name),
                                 config.num_shards)
  path = os.path.join(config.output_dir, STATS_FILE)
  return beam_common.finish_run(result, path, start, METRICS_NAMESPACE,
                                melody_dataset.HISTOGRAM_BOUNDARIES,
                                _header(config))


produced_nothing = stats.produced_nothing


def summary(data: dict, output_dir: Optional[str] = None) -> str:
  """Magenta's end-of-run lines, then the counters table."""
  head = 'Processed %d inputs total. Produced %d outputs.' % (
      data.get('inputs_total', 0), data.get('outputs_total', 0))
  if output_dir:
    head += '\nWrote %s, %s and %s in %s' % (TRAINING_FILE, EVAL_FILE,
                                             STATS_FILE, output_dir)
  return head + '\n' + stats.format_table(data)
