"""Beam pipeline: a directory of MIDI / MusicXML / ABC files -> NoteSequences.

``bin/convert_dir_to_note_sequences`` calls ``run``. The work per file is the
pure ``converters.convert_file``; this module only adapts it to Beam and
writes ``F`` (one TFRecord of serialized NoteSequences, or ``--num_shards``
shards) and ``F.stats.json`` (the per-reason counters as data).
"""

import dataclasses
import logging
import os
import time
from typing import List, Optional, Sequence

import apache_beam as beam

from pipelines import beam_common
from pipelines import converters
from pipelines import stats

METRICS_NAMESPACE = 'convert_dir_to_note_sequences'


@dataclasses.dataclass(frozen=True)
class ConvertConfig:
  """What bin/convert_dir_to_note_sequences asks for.

  Attributes:
    input_dir: the collection root (its base name is the collection name).
    output_file: the TFRecord to write (overwritten).
    recursive: also convert the files of subdirectories.
    num_shards: 1 = exactly `output_file`; N > 1 = `output_file-0000i-of-N`.
    limits: the per-file size cap and time bound.
    beam_args: Beam pipeline options passed through.
  """
  input_dir: str
  output_file: str
  recursive: bool = False
  num_shards: int = 1
  limits: converters.ConversionLimits = converters.ConversionLimits()
  beam_args: Sequence[str] = ()


def stats_path(output_file: str) -> str:
  return output_file + '.stats.json'


class ConvertFileFn(beam_common.CountingDoFn):
  """(root, relative path) -> serialized NoteSequences; counters on a side tag.

  Never raises for a bad file: each failure is logged with its path and
  reason, and counted (as data and as a Beam counter) under its reason.
  """

  def __init__(self, conversion_limits: converters.ConversionLimits):
    super().__init__(METRICS_NAMESPACE)
    self._limits = conversion_limits

  def process(self, element):
    root_dir, relative_path = (os.fsdecode(part) for part in element)
    result = converters.convert_file(root_dir, relative_path, self._limits)
    for error in result.errors:
      if error.startswith(converters.ABC_TUNE_ERRORS):
        logging.warning('Skipped a tune of %s: %s', result.path, error)
      else:
        logging.warning('Skipped %s: %s', result.path, error)
    if result.sequences:
      logging.debug('Converted %s (%d sequence%s).', result.path,
                   len(result.sequences),
                   '' if len(result.sequences) == 1 else 's')
    yield self._count(stats.INPUTS_TOTAL, 1)
    yield self._count(stats.OUTPUTS_TOTAL, len(result.sequences))
    for name, n in result.counters.items():
      yield self._count(name, n)
    for sequence in result.sequences:
      yield beam_common.tagged(beam_common.MAIN_TAG,
                               sequence.SerializeToString())


def build(pipeline: beam.Pipeline, config: ConvertConfig,
          relative_paths: List[str]) -> None:
  """Adds the conversion to `pipeline` for the listed files."""
  # As bytes: a file name that is not UTF-8 (a surrogate-escaped str) would
  # make Beam's str coder fail the whole job; convert_file counts it instead.
  elements = [(os.fsencode(config.input_dir), os.fsencode(path))
              for path in relative_paths]
  results = beam_common.split_by_tag(
      pipeline
      | 'ListedFiles' >> beam.Create(elements, reshuffle=False)
      | 'Distribute' >> beam.Reshuffle()
      | 'Convert' >> beam.ParDo(ConvertFileFn(config.limits)),
      (beam_common.MAIN_TAG, beam_common.COUNTERS_TAG))
  written = beam_common.write_tfrecords(
      results[beam_common.MAIN_TAG], config.output_file, config.num_shards,
      label='WriteNoteSequences')
  stats_written = results[beam_common.COUNTERS_TAG] | 'Stats' >> (
      beam_common.WriteStats(stats_path(config.output_file),
                             header=_header(config)))
  beam_common.join_leaves([written, stats_written])


def _header(config: ConvertConfig) -> dict:
  return {'tool': 'convert_dir_to_note_sequences',
          'input_dir': config.input_dir, 'output_file': config.output_file,
          'recursive': config.recursive, 'num_shards': config.num_shards,
          'max_file_bytes': config.limits.max_file_bytes,
          'max_seconds_per_file': config.limits.max_seconds_per_file}


def run(config: ConvertConfig, options=None) -> dict:
  """Converts `config.input_dir`; returns the stats JSON it wrote.

  The inputs are listed in the driver in Magenta's order (the listing is cheap
  and gives every file a stable relative name); the conversion runs on the
  runner. Output order is the runner's, not the listing's.

  Args:
    config: the conversion settings.
    options: Beam PipelineOptions (default: from `config.beam_args`).

  Raises:
    FileNotFoundError: `config.input_dir` is not a directory.
  """
  if not os.path.isdir(config.input_dir):
    raise FileNotFoundError('--input_dir %s is not a directory'
                            % config.input_dir)
  if options is None:
    options = beam_common.make_pipeline_options(config.beam_args)
  output_dir = os.path.dirname(config.output_file)
  if output_dir:
    os.makedirs(output_dir, exist_ok=True)
  relative_paths = converters.list_files(config.input_dir, config.recursive)
  logging.info("Converting %d entries under '%s' with %s.",
               len(relative_paths), config.input_dir,
               beam_common.runner_name(options))
  start = time.time()
  pipeline = beam_common.make_pipeline(options)
  build(pipeline, config, relative_paths)
  result = pipeline.run()
  result.wait_until_finish()
  beam_common.finish_tfrecords(config.output_file, config.num_shards)
  return beam_common.finish_run(result, stats_path(config.output_file), start,
                                METRICS_NAMESPACE, header=_header(config))


produced_nothing = stats.produced_nothing


def summary(data: dict, output_file: Optional[str] = None) -> str:
  """The counters table printed at the end of a run."""
  head = 'Processed %d files total. Produced %d NoteSequences.' % (
      data.get('inputs_total', 0), data.get('outputs_total', 0))
  if output_file:
    head += '\nWrote %s and %s' % (output_file, stats_path(output_file))
  return head + '\n' + stats.format_table(data)
