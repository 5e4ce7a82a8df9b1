"""Beam plumbing shared by the pipelines: options, counters as data, outputs.

Everything here is runner-agnostic: the same code runs on the DirectRunner
(in-process or ``--direct_num_workers=2 --direct_running_mode=multi_processing``)
and on the Dask runner, which reports no Beam metrics; that is why every
counter also travels as ``(name, n)`` data into a stats JSON beside the output.
"""

import json
import logging
import os
import shlex
import shutil
import struct
import sys
import time
import uuid
from typing import List, Mapping, Optional, Sequence

import apache_beam as beam
import google_crc32c
from apache_beam.metrics import Metrics
from apache_beam.options import pipeline_options

from pipelines import quiet
from pipelines import stats

COUNTERS_TAG = 'counters'
MAIN_TAG = 'main'


def tagged(tag: str, payload):
  """An output element routed by split_by_tag.

  The Dask runner of Beam 2.77 delivers every output of a multi-output ParDo
  (``with_outputs``) to one consumer, so the DoFns here have one output of
  ``(tag, payload)`` pairs and split_by_tag routes them with plain FlatMaps.
  """
  return (tag, payload)


def _select(element, tag):
  if element[0] == tag:
    yield element[1]


def split_by_tag(pcoll, tags: Sequence[str], label: str = 'Route'):
  """(tag, payload) elements -> {tag: PCollection of payloads}."""
  return {tag: pcoll | '%s_%s' % (label, tag) >> beam.FlatMap(_select, tag)
          for tag in tags}


class CountingDoFn(beam.DoFn):
  """A DoFn whose counters go both to Beam metrics and, as data, to a side tag.

  The Dask runner reports no Beam metrics, so every count is also emitted as a
  ``(COUNTERS_TAG, (name, n))`` element that WriteStats sums into the stats file.
  """

  def __init__(self, metrics_namespace: str):
    super().__init__()
    self._metrics_namespace = metrics_namespace
    self._counters = {}

  def _count(self, name: str, n: int):
    if name not in self._counters:
      self._counters[name] = Metrics.counter(self._metrics_namespace, name)
    self._counters[name].inc(n)
    return tagged(COUNTERS_TAG, (name, n))


class BeamArgsError(ValueError):
  """A command-line argument is neither one of ours nor a Beam option (`flag` names it)."""

  def __init__(self, message: str, flag: str = ''):
    super().__init__(message)
    self.flag = flag


def _register_optional_option_classes(args: Sequence[str]) -> None:
  # The Dask runner's options (e.g. --dask_client_address) exist only once its
  # module is imported; import it only when asked for (it pulls in dask).
  if any('dask' in arg.lower() for arg in args):
    from apache_beam.runners.dask import dask_runner  # noqa: F401  (registers its options)


def make_pipeline_options(beam_args: Sequence[str],
                          **defaults) -> pipeline_options.PipelineOptions:
  """Beam options from pass-through flags; unknown flags are an error.

  Args:
    beam_args: the command-line arguments absl did not consume, e.g.
      ['--runner=DirectRunner', '--direct_num_workers=2'].
    **defaults: option values used when the flags do not set them (e.g.
      direct_num_workers=2 for the corpus build).

  Raises:
    BeamArgsError: an argument is not a Beam pipeline option (the message
      names it).
  """
  args = list(beam_args)
  _register_optional_option_classes(args)
  parser = pipeline_options._BeamArgumentParser(allow_abbrev=False)  # pylint: disable=protected-access
  seen = set()
  for cls in pipeline_options.PipelineOptions.__subclasses__():
    if str(cls) not in seen:
      seen.add(str(cls))
      cls._add_argparse_args(parser)  # pylint: disable=protected-access
  _, unknown = parser.parse_known_args(args)
  unknown = [arg for arg in unknown if arg.startswith('-')]
  if unknown:
    raise BeamArgsError('unknown flag %s (neither a flag of this program nor '
                        'a Beam pipeline option; see --helpfull)' % unknown[0],
                        flag=unknown[0].lstrip('-').split('=', 1)[0])
  given = pipeline_options.PipelineOptions(args).get_all_options(
      drop_default=True)
  # Keyword values override flags in PipelineOptions, so pass only the
  # defaults that no flag sets.
  defaults.setdefault('default_sdk_harness_log_level', 'WARNING')
  defaults.setdefault('sdk_harness_log_level_overrides', dict(quiet.BEAM_WORKER_LOG_OVERRIDES))
  missing = {k: v for k, v in defaults.items() if k not in given}
  return pipeline_options.PipelineOptions(args, **missing)


WORKER_COMMAND = '%s %s' % (shlex.quote(sys.executable), shlex.quote(
    os.path.join(os.path.dirname(os.path.abspath(__file__)), 'beam_worker.py')))


def make_pipeline(options: pipeline_options.PipelineOptions) -> beam.Pipeline:
  """beam.Pipeline(options=options); the Direct runner's worker processes start quiet.

  With `--direct_running_mode=multi_processing` the Direct runner starts each worker as
  Beam's own module; here they start as `pipelines/beam_worker.py` (which silences the
  third-party start-up noise first) on the same Fn API runner, with the same number of
  workers.
  """
  direct = options.view_as(pipeline_options.DirectOptions)
  runner = options.view_as(pipeline_options.StandardOptions).runner
  if runner not in (None, 'DirectRunner') or direct.direct_running_mode != 'multi_processing':
    return beam.Pipeline(options=options)
  # pylint: disable=g-import-not-at-top
  from apache_beam.portability.api import beam_provision_api_pb2
  from apache_beam.runners.portability import portable_runner
  from apache_beam.runners.portability.fn_api_runner import fn_runner
  from apache_beam.transforms import environments
  # pylint: enable=g-import-not-at-top
  direct.direct_running_mode = 'in_memory'  # the environment below replaces Beam's own
  # As the Direct runner does: the workers get the pipeline options (log levels among them).
  encoded = portable_runner.JobServiceHandle.encode_pipeline_options(options.get_all_options())
  return beam.Pipeline(runner=fn_runner.FnApiRunner(
      default_environment=environments.SubprocessSDKEnvironment.from_command_string(
          WORKER_COMMAND),
      provision_info=fn_runner.ExtendedProvisionInfo(
          beam_provision_api_pb2.ProvisionInfo(pipeline_options=encoded))), options=options)


def runner_name(options: pipeline_options.PipelineOptions) -> str:
  return str(options.view_as(pipeline_options.StandardOptions).runner or
             'DirectRunner')


def _sum_values(keyed):
  name, values = keyed
  return name, sum(values)


def _write_stats(keyed, path: str,
                 histogram_boundaries: Mapping[str, Sequence[int]],
                 header: Mapping) -> str:
  _, pairs = keyed
  totals = {}
  for name, n in pairs:
    stats.add(totals, name, n)
  data = stats.to_stats_json(totals, histogram_boundaries, **header)
  directory = os.path.dirname(path)
  if directory:
    os.makedirs(directory, exist_ok=True)
  stats.write_json(path, data)
  return path


class WriteStats(beam.PTransform):
  """(name, n) pairs -> summed per name -> one stats JSON file at `path`.

  Built from GroupByKey and Map only (no CombineFn): the Dask runner's
  handling of combiners mangled the accumulators, GroupByKey works on every
  runner. With no input at all nothing is written here; ``finish_stats``
  then writes the zeros from the driver.
  """

  def __init__(self, path: str, histogram_boundaries=None, header=None):
    super().__init__()
    self._path = path
    self._boundaries = dict(histogram_boundaries or {})
    self._header = dict(header or {})

  def expand(self, pairs):
    return (pairs
            | 'GroupByName' >> beam.GroupByKey()
            | 'SumPerName' >> beam.Map(_sum_values)
            | 'OneKey' >> beam.Map(lambda total: ('stats', total))
            | 'GatherTotals' >> beam.GroupByKey()
            | 'WriteStatsJson' >> beam.Map(_write_stats, self._path,
                                           self._boundaries, self._header))


def finish_stats(path: str, histogram_boundaries=None, header=None) -> dict:
  """Reads the stats file a run wrote (or writes the zeros of an empty run)."""
  if not os.path.exists(path):
    _write_stats(('stats', []), path, dict(histogram_boundaries or {}),
                 dict(header or {}))
  return read_stats(path)


def finish_run(result, path: str, start: float, namespace: str,
               histogram_boundaries=None, header=None) -> dict:
  """Completes a finished run's stats file with its wall time and returns it.

  Args:
    result: the finished Beam PipelineResult (its counters are logged).
    path: the run's stats JSON file.
    start: `time.time()` when the run began.
    namespace: the Beam metrics namespace of the run's counters.
    histogram_boundaries, header: as for finish_stats (used for an empty run).
  """
  data = finish_stats(path, histogram_boundaries, header)
  data['seconds'] = round(time.time() - start, 3)
  stats.write_json(path, data)
  log_beam_counters(result, namespace)
  return data


def _discard(unused_element):
  return None


def join_leaves(leaves, label: str = 'AllOutputsWritten'):
  """Makes one final transform that depends on every output branch.

  The Dask runner of Beam 2.77 computes only the Dask graph of the last
  transform applied, as if every pipeline were a straight line; a second
  branch (e.g. the stats file beside the records) would silently not run.
  Joining the branches' results makes the last transform depend on all of
  them. On other runners this costs one trivial step.
  """
  return (tuple(leaves)
          | label + '/Flatten' >> beam.Flatten()
          | label + '/Done' >> beam.Map(_discard))


def _parts_dir(path: str) -> str:
  return path + '.parts'


def _masked_crc32c(data: bytes) -> int:
  crc = google_crc32c.value(data)
  return (((crc >> 15) | (crc << 17)) + 0xa282ead8) & 0xffffffff


def tfrecord_frame(record: bytes) -> bytes:
  """One TFRecord: length, its masked CRC32C, the data, the data's CRC."""
  length = struct.pack('<Q', len(record))
  return (length + struct.pack('<I', _masked_crc32c(length)) + record +
          struct.pack('<I', _masked_crc32c(record)))


class _WriteParts(beam.DoFn):
  """Streams each bundle's records into its own part file (no grouping).

  A part is written as ``part-<uuid>.inprogress`` and renamed to
  ``part-<uuid>`` when its bundle finishes, so a failed bundle leaves nothing
  that finish_tfrecords would pick up.
  """

  def __init__(self, parts_dir: str):
    super().__init__()
    self._parts_dir = parts_dir
    self._file = None
    self._path = None

  def start_bundle(self):
    self._file = None

  def process(self, record):
    if self._file is None:
      os.makedirs(self._parts_dir, exist_ok=True)
      self._path = os.path.join(self._parts_dir, 'part-' + uuid.uuid4().hex)
      self._file = open(self._path + '.inprogress', 'wb')
    self._file.write(tfrecord_frame(record))

  def finish_bundle(self):
    if self._file is not None:
      self._file.close()
      os.replace(self._path + '.inprogress', self._path)
      self._file = None


def write_tfrecords(pcoll, path: str, num_shards: int = 1, label: str = 'Write'):
  """Writes serialized records to `path` (one file) or `path-SSSSS-of-NNNNN`.

  The framing (length, masked CRC32C) is TensorFlow's ``TFRecordWriter``'s and
  Magenta's. Beam's sink with a fixed shard count first groups every record
  by shard, so the runner holds the whole output in memory; for the default
  single file each bundle instead streams its records into a part under
  ``<path>.parts/`` (no grouping, memory independent of the corpus size), and
  ``finish_tfrecords`` concatenates the parts into `path` after the run
  (TFRecord framing is per record, so concatenation is exact). Call it from
  the driver after ``wait_until_finish``.
  """
  if num_shards <= 1:
    shutil.rmtree(_parts_dir(path), ignore_errors=True)  # a crashed run's parts
    return pcoll | label >> beam.ParDo(_WriteParts(_parts_dir(path)))
  return pcoll | label >> beam.io.WriteToTFRecord(path, num_shards=num_shards)


def output_paths(path: str, num_shards: int) -> List[str]:
  """The files write_tfrecords makes for `path`."""
  if num_shards <= 1:
    return [path]
  return ['%s-%05d-of-%05d' % (path, i, num_shards) for i in range(num_shards)]


def finish_tfrecords(path: str, num_shards: int = 1) -> List[str]:
  """Completes write_tfrecords' output after the run; returns its files.

  For one file: concatenates the parts (in name order) into `path` with a
  constant-size buffer, atomically, and removes the parts. Either way, a shard
  the runner skipped because it was empty is created empty (Magenta always
  creates both dataset files).
  """
  if num_shards <= 1:
    parts_dir = _parts_dir(path)
    parts = sorted(
        name for name in (os.listdir(parts_dir) if os.path.isdir(parts_dir)
                          else [])
        if name.startswith('part-') and not name.endswith('.inprogress'))
    temp = path + '.tmp'
    with open(temp, 'wb') as out:
      for name in parts:
        with open(os.path.join(parts_dir, name), 'rb') as part:
          shutil.copyfileobj(part, out, 1 << 20)
    os.replace(temp, path)
    shutil.rmtree(parts_dir, ignore_errors=True)
  paths = output_paths(path, num_shards)
  for shard in paths:
    if not os.path.exists(shard):
      open(shard, 'wb').close()
  return paths


def read_stats(path: str) -> dict:
  with open(path) as f:
    return json.load(f)


def log_beam_counters(result, namespace: Optional[str] = None) -> None:
  """Logs Beam's own counters where the runner reports them (not Dask)."""
  try:
    metrics = result.metrics().query()
  except (NotImplementedError, AttributeError) as e:
    logging.info('This runner reports no Beam metrics (%s); the counters '
                 'above come from the stats file.', e)
    return
  for counter in metrics.get('counters', []):
    if namespace and counter.key.metric.namespace != namespace:
      continue
    logging.debug('Beam counter %s/%s = %s', counter.key.metric.namespace,
                  counter.key.metric.name, counter.committed)
