"""Both pipelines on the Dask runner (a LocalCluster on 127.0.0.1) give the
DirectRunner's records, compared as multisets (Beam keeps no order)."""

import json

import pytest

import pipelines_testlib as lib
from pipelines import beam_common
from pipelines import convert_pipeline
from pipelines import dataset_pipeline


@pytest.fixture(scope='module')
def dask_address():
  distributed = pytest.importorskip('distributed')
  cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1,
                                     host='127.0.0.1', dashboard_address=None,
                                     processes=True)
  client = distributed.Client(cluster)
  try:
    yield cluster.scheduler_address
  finally:
    client.close()
    cluster.close()


def _both(tmp_path, shared_data, runner_args, name):
  out = tmp_path / name
  options = beam_common.make_pipeline_options(runner_args)
  ns = out / 'ns.tfrecord'
  convert_stats = convert_pipeline.run(convert_pipeline.ConvertConfig(
      input_dir=str(shared_data / 'magenta_golden' / 'inputs'),
      output_file=str(ns)), options=options)
  dataset_stats = dataset_pipeline.run(dataset_pipeline.DatasetConfig(
      input=str(ns), output_dir=str(out / 'ds'), eval_ratio=0.5),
      options=options)
  return out, convert_stats, dataset_stats


@pytest.mark.slow
def test_dask_runner_equals_direct_runner(shared_data, tmp_path, dask_address):
  direct, direct_convert, direct_dataset = _both(tmp_path, shared_data, [],
                                                 'direct')
  dask, dask_convert, dask_dataset = _both(
      tmp_path, shared_data,
      ['--runner=apache_beam.runners.dask.dask_runner.DaskRunner',
       '--dask_client_address=%s' % dask_address], 'dask')
  direct_ns = lib.by_id(lib.read_tfrecord(direct / 'ns.tfrecord'))
  dask_ns = lib.by_id(lib.read_tfrecord(dask / 'ns.tfrecord'))
  assert len(direct_ns) == 19
  assert dask_ns == direct_ns
  for name in dataset_pipeline.OUTPUT_FILES.values():
    assert (lib.multiset(lib.read_tfrecord(dask / 'ds' / name)) ==
            lib.multiset(lib.read_tfrecord(direct / 'ds' / name)))
  # The counters travel as data, so the Dask run reports them too.
  for key in ('inputs_total', 'outputs_total', 'counters'):
    assert dask_convert[key] == direct_convert[key]
    assert dask_dataset[key] == direct_dataset[key]
  assert dask_dataset['outputs_total'] == 3
  saved = json.loads((dask / 'ds' / 'pipeline_stats.json').read_text())
  assert saved['counters'] == direct_dataset['counters']
