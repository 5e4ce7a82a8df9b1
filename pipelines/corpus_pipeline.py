"""Beam pipeline for the bundled corpus: music21 scores -> NoteSequences ->
melody dataset. ``bin/build_corpus`` and the demo call ``build``.

Layout of the output directory (default ``corpus.DEFAULT_CORPUS_DIR``):

  notesequences.tfrecord             one NoteSequence per tune / chorale
  notesequences.tfrecord.stats.json  conversion counters (parse failures, ...)
  melody_dataset/                    training_melodies.tfrecord,
                                     eval_melodies.tfrecord, pipeline_stats.json
  cache/                             one result per unit, keyed by content
  build.json                         what was built, the counts, the stamps

Both stages run on Beam (two workers by default, multi-processing). A rerun
converts only units whose cache entry is missing, and rewrites an output only
when the set of units (or the NoteSequence file) changed.
"""

import dataclasses
import hashlib
import json
import logging
import os
import threading
import time
from typing import Optional, Sequence

import apache_beam as beam

from pipelines import beam_common
from pipelines import corpus
from pipelines import dataset_pipeline
from pipelines import limits
from pipelines import midi_export
from pipelines import sequence_example
from pipelines import stats

METRICS_NAMESPACE = 'build_corpus'
BUILD_FILE = 'build.json'
DEFAULT_WORKER_OPTIONS = {'direct_num_workers': 2,
                          'direct_running_mode': 'multi_processing'}


@dataclasses.dataclass(frozen=True)
class CorpusConfig:
  """What bin/build_corpus asks for.

  Attributes:
    output_dir: where everything goes (see the module docstring).
    collections: which of corpus.COLLECTIONS to use.
    max_tunes: at most this many tunes/chorales in total (None = all).
    eval_ratio: the melody dataset's eval fraction (hash split).
    max_seconds_per_file: the time bound per tune.
    use_cache: reuse cached unit results and skip unchanged stages.
    beam_args: Beam pipeline options passed through (default: 2 workers,
      multi-processing).
  """
  output_dir: str = corpus.DEFAULT_CORPUS_DIR
  collections: Sequence[str] = corpus.COLLECTIONS
  max_tunes: Optional[int] = None
  eval_ratio: float = 0.1
  max_seconds_per_file: float = limits.DEFAULT_MAX_SECONDS_PER_FILE
  use_cache: bool = True
  beam_args: Sequence[str] = ()


class ConvertUnitFn(beam_common.CountingDoFn):
  """corpus.Unit -> serialized NoteSequence; counters on a side tag."""

  def __init__(self, cache_dir: Optional[str], max_seconds: float):
    super().__init__(METRICS_NAMESPACE)
    self._cache_dir = cache_dir
    self._max_seconds = max_seconds

  def process(self, unit):
    data, counts, error = corpus.convert_unit_cached(unit, self._cache_dir,
                                                     self._max_seconds)
    if error:
      logging.warning('Skipped %s/%s: %s', unit.collection, unit.id_string,
                      error)
    counts[stats.INPUTS_TOTAL] = 1
    counts[stats.OUTPUTS_TOTAL] = 1 if data else 0
    for name, n in counts.items():
      yield self._count(name, n)
      if not name.startswith('__'):
        yield self._count('%s_%s' % (unit.collection, name), n)
    if data:
      yield beam_common.tagged(beam_common.MAIN_TAG, data)


def _stamp(*parts) -> str:
  return hashlib.sha1(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def _file_sha1(path: str) -> str:
  digest = hashlib.sha1()
  with open(path, 'rb') as f:
    for block in iter(lambda: f.read(1 << 20), b''):
      digest.update(block)
  return digest.hexdigest()


def _read_build(output_dir: str) -> dict:
  path = os.path.join(output_dir, BUILD_FILE)
  if os.path.exists(path):
    with open(path) as f:
      return json.load(f)
  return {}


class _Progress:
  """Logs conversion progress from the growth of the cache (any runner)."""

  def __init__(self, cache_dir: str, todo: int, every: float = 15.0):
    self._cache_dir = cache_dir
    self._todo = todo
    self._every = every
    self._stop = threading.Event()
    self._start_count = self._count()
    self._thread = threading.Thread(target=self._run, daemon=True)

  def _count(self) -> int:
    n = 0
    for _, _, files in os.walk(self._cache_dir):
      n += sum(1 for f in files if f.endswith(('.pb', '.err')))
    return n

  def _run(self):
    start = time.time()
    while not self._stop.wait(self._every):
      done = self._count() - self._start_count
      rate = done / max(time.time() - start, 1e-9)
      if not done:
        logging.info('corpus: 0/%d tunes converted (the workers are starting)', self._todo)
        continue
      logging.info('corpus: %d/%d tunes converted (%.0f%%), %.1f/s, about '
                   '%.0f s left', done, self._todo,
                   100.0 * done / max(self._todo, 1), rate, (self._todo - done) / rate)

  def __enter__(self):
    if self._todo:
      self._thread.start()
    return self

  def __exit__(self, *exc):
    self._stop.set()


def convert(config: CorpusConfig, units, options) -> dict:
  """Stage 1: units -> notesequences.tfrecord (+ .stats.json)."""
  cache_dir = (os.path.join(config.output_dir, corpus.CACHE_DIR)
               if config.use_cache else None)
  output = os.path.join(config.output_dir, corpus.NOTESEQUENCES_FILE)
  todo = (sum(1 for u in units if corpus.read_cached(cache_dir, u) is None)
          if cache_dir else len(units))
  logging.info('corpus: %d units, %d to convert (%d cached), with %s.',
               len(units), todo, len(units) - todo,
               beam_common.runner_name(options))
  pipeline = beam_common.make_pipeline(options)
  results = beam_common.split_by_tag(
      pipeline
      | 'Units' >> beam.Create(units, reshuffle=False)
      | 'Distribute' >> beam.Reshuffle()
      | 'Convert' >> beam.ParDo(ConvertUnitFn(cache_dir,
                                              config.max_seconds_per_file)),
      (beam_common.MAIN_TAG, beam_common.COUNTERS_TAG))
  written = beam_common.write_tfrecords(results[beam_common.MAIN_TAG], output,
                                        label='WriteNoteSequences')
  header = {'tool': 'build_corpus', 'collections': list(config.collections),
            'max_tunes': config.max_tunes}
  stats_written = results[beam_common.COUNTERS_TAG] | 'Stats' >> (
      beam_common.WriteStats(output + '.stats.json', header=header))
  beam_common.join_leaves([written, stats_written])
  os.makedirs(config.output_dir, exist_ok=True)
  if cache_dir:
    os.makedirs(cache_dir, exist_ok=True)
  with _Progress(cache_dir or config.output_dir, todo if cache_dir else 0):
    result = pipeline.run()
    result.wait_until_finish()
  beam_common.finish_tfrecords(output)
  beam_common.log_beam_counters(result, METRICS_NAMESPACE)
  return beam_common.finish_stats(output + '.stats.json', header=header)


def count_examples(path: str):
  """(number of SequenceExamples, total steps) of a melody TFRecord file."""
  n = steps = 0
  for record in midi_export.iterate_tfrecord(path):
    n += 1
    steps += len(sequence_example.SequenceExample.FromString(record)
                 .feature_lists.feature_list['labels'].feature)
  return n, steps


def build(config: CorpusConfig) -> dict:
  """Builds (or refreshes) the corpus; returns the build summary (build.json).

  Raises:
    ValueError: an unknown collection or a bad eval_ratio / max_tunes.
  """
  if config.max_tunes is not None and config.max_tunes < 1:
    raise ValueError('--max_tunes must be >= 1, got %d' % config.max_tunes)
  options = beam_common.make_pipeline_options(config.beam_args,
                                              **DEFAULT_WORKER_OPTIONS)
  start = time.time()
  units = corpus.list_units(config.collections, config.max_tunes)
  previous = _read_build(config.output_dir) if config.use_cache else {}
  ns_file = os.path.join(config.output_dir, corpus.NOTESEQUENCES_FILE)
  units_stamp = _stamp(corpus.CONVERTER_VERSION,
                       sorted(u.cache_key for u in units))
  if (previous.get('units_stamp') == units_stamp and
      os.path.exists(ns_file) and
      previous.get('notesequences_sha1') == _file_sha1(ns_file)):
    logging.info('corpus: the NoteSequences are up to date (%d units).',
                 len(units))
    convert_stats = beam_common.read_stats(ns_file + '.stats.json')
  else:
    convert_stats = convert(config, units, options)
  ns_sha1 = _file_sha1(ns_file)
  dataset_dir = os.path.join(config.output_dir, corpus.MELODY_DATASET_DIR)
  dataset_stamp = _stamp(ns_sha1, config.eval_ratio, 'basic_rnn')
  stats_file = os.path.join(dataset_dir, dataset_pipeline.STATS_FILE)
  if (previous.get('dataset_stamp') == dataset_stamp and
      os.path.exists(stats_file) and all(
          os.path.exists(os.path.join(dataset_dir, name))
          for name in dataset_pipeline.OUTPUT_FILES.values())):
    logging.info('corpus: the melody dataset is up to date.')
    dataset_stats = beam_common.read_stats(stats_file)
    dataset_unchanged = True
  else:
    dataset_unchanged = False
    dataset_stats = dataset_pipeline.run(dataset_pipeline.DatasetConfig(
        input=ns_file, output_dir=dataset_dir, eval_ratio=config.eval_ratio,
        command_flags=('build_corpus',)), options=options)
  summary = {
      'output_dir': config.output_dir,
      'collections': list(config.collections),
      'max_tunes': config.max_tunes,
      'units': len(units),
      'notesequences': convert_stats.get('outputs_total', 0),
      'notesequences_file': ns_file,
      'melody_dataset_dir': dataset_dir,
      'units_stamp': units_stamp,
      'notesequences_sha1': ns_sha1,
      'dataset_stamp': dataset_stamp,
  }
  for mode, name in dataset_pipeline.OUTPUT_FILES.items():
    keys = ('%s_melodies' % mode, '%s_steps' % mode)
    if dataset_unchanged and all(k in previous for k in keys):
      counts = tuple(previous[k] for k in keys)  # parsing 300 MB again is slow
    else:
      counts = count_examples(os.path.join(dataset_dir, name))
    summary.update(zip(keys, counts))
  summary['seconds'] = round(time.time() - start, 1)
  summary['convert_counters'] = convert_stats.get('counters', {})
  summary['dataset_counters'] = dataset_stats.get('counters', {})
  stats.write_json(os.path.join(config.output_dir, BUILD_FILE), summary)
  return summary


def format_summary(summary: dict) -> str:
  """Human-readable end-of-build report."""
  conv = summary.get('convert_counters', {})
  lines = [
      'Bundled corpus in %s (%s)' % (summary['output_dir'],
                                    ', '.join(summary['collections'])),
      '  units (tunes + chorales): %d' % summary['units'],
      '  NoteSequences:            %d  -> %s' % (summary['notesequences'],
                                                 summary['notesequences_file']),
      '  training melodies:        %d (%d steps)' % (
          summary['training_melodies'], summary['training_steps']),
      '  eval melodies:            %d (%d steps)' % (
          summary['eval_melodies'], summary['eval_steps']),
      '  melody dataset:           %s' % summary['melody_dataset_dir'],
      '  conversion failures:      %s' % ', '.join(
          '%s=%d' % (k, conv.get(k, 0)) for k in (
              corpus.PARSE_ERRORS, corpus.MIDI_EXPORT_ERRORS,
              corpus.EMPTY_SCORES, corpus.CONVERSION_TIMEOUT)),
      '  seconds:                  %s' % summary['seconds'],
  ]
  return '\n'.join(lines)
