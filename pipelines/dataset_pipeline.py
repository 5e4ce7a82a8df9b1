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
import time
from typing import Optional, Sequence

import apache_beam as beam
from apache_beam.metrics import Metrics

from pipelines import beam_common
from pipelines import melody_dataset
from pipelines import splits
from pipelines import stats

METRICS_NAMESPACE = 'create_melody_dataset'
TRAINING_FILE = 'training_melodies.tfrecord'
EVAL_FILE = 'eval_melodies.tfrecord'
STATS_FILE = 'pipeline_stats.json'
OUTPUT_FILES = {splits.TRAINING: TRAINING_FILE, splits.EVAL: EVAL_FILE}


@dataclasses.dataclass(frozen=True)
class DatasetConfig:
  """What bin/create_melody_dataset asks for.

  Attributes:
    input: a NoteSequence TFRecord file, or a glob of them.
    output_dir: where the two TFRecords and pipeline_stats.json go.
    eval_ratio: the fraction of NoteSequences (by id hash) used for eval.
    config: the melody_rnn config (basic_rnn).
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


def input_files(pattern: str):
  """The files `pattern` names (a path or a glob), sorted."""
  return sorted(glob.glob(os.path.expanduser(pattern)))


class ProcessRecordFn(beam.DoFn):
  """Serialized NoteSequence -> examples tagged 'training' / 'eval' + counters.

  A record that fails for an unforeseen reason is logged and counted under
  ``record_errors`` instead of failing the job.
  """

  def __init__(self, eval_ratio: float):
    super().__init__()
    self._eval_ratio = eval_ratio
    self._counters = {}

  def _count(self, name, n):
    if name not in self._counters:
      self._counters[name] = Metrics.counter(METRICS_NAMESPACE, name)
    self._counters[name].inc(n)
    return beam.pvalue.TaggedOutput(beam_common.COUNTERS_TAG, (name, n))

  def process(self, record):
    try:
      result = melody_dataset.process_record(record, self._eval_ratio)
    except Exception as e:  # pylint: disable=broad-except
      logging.warning('Skipped a NoteSequence record: %s: %s',
                      type(e).__name__, e)
      yield self._count(stats.INPUTS_TOTAL, 1)
      yield self._count('record_errors', 1)
      return
    for name, n in result.counters.items():
      yield self._count(name, n)
    for example in result.examples:
      yield beam.pvalue.TaggedOutput(result.mode, example)


def build(pipeline: beam.Pipeline, config: DatasetConfig, files) -> None:
  """Adds reading, processing and writing to `pipeline`."""
  records = (pipeline
             | 'InputFiles' >> beam.Create(files)
             | 'ReadNoteSequences' >> beam.io.ReadAllFromTFRecord())
  results = records | 'ExtractMelodies' >> beam.ParDo(
      ProcessRecordFn(config.eval_ratio)).with_outputs(
          beam_common.COUNTERS_TAG, splits.TRAINING, splits.EVAL)
  for mode in splits.MODES:
    beam_common.write_tfrecords(
        results[mode], os.path.join(config.output_dir, OUTPUT_FILES[mode]),
        config.num_shards, label='Write_%s' % mode)
  header = {'tool': 'create_melody_dataset', 'config': config.config,
            'eval_ratio': config.eval_ratio,
            'split': 'md5(NoteSequence.id) as a fraction in [0, 1) < eval_ratio'
                     ' -> eval (deterministic; Magenta: random.random())',
            'input': config.input,
            'command_flags': list(config.command_flags)}
  _ = results[beam_common.COUNTERS_TAG] | 'Stats' >> beam_common.WriteStats(
      os.path.join(config.output_dir, STATS_FILE),
      histogram_boundaries=melody_dataset.HISTOGRAM_BOUNDARIES, header=header)


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
  pipeline = beam.Pipeline(options=options)
  build(pipeline, config, files)
  result = pipeline.run()
  result.wait_until_finish()
  for name in OUTPUT_FILES.values():
    beam_common.ensure_files_exist(beam_common.output_paths(
        os.path.join(config.output_dir, name), config.num_shards))
  path = os.path.join(config.output_dir, STATS_FILE)
  data = beam_common.read_stats(path)
  data['seconds'] = round(time.time() - start, 3)
  stats.write_json(path, data)
  beam_common.log_beam_counters(result, METRICS_NAMESPACE)
  return data


def produced_nothing(data: dict) -> bool:
  return not data.get('outputs_total')


def summary(data: dict, output_dir: Optional[str] = None) -> str:
  """Magenta's end-of-run lines, then the counters table."""
  head = 'Processed %d inputs total. Produced %d outputs.' % (
      data.get('inputs_total', 0), data.get('outputs_total', 0))
  if output_dir:
    head += '\nWrote %s, %s and %s in %s' % (TRAINING_FILE, EVAL_FILE,
                                             STATS_FILE, output_dir)
  return head + '\n' + stats.format_table(data)
