#!/usr/bin/env python3
"""Pipeline throughput: 1 vs 2 workers on the bundled corpus exported to MIDI.

  .venv/bin/python bench/pipelines.py                      # 3,000 files
  .venv/bin/python bench/pipelines.py --num_files=1000 --repeats=1

Exports the first --num_files NoteSequences of the corpus (built by
bin/build_corpus) as MIDI files, then times bin/convert_dir_to_note_sequences's
pipeline and the melody-dataset pipeline on them, each in a fresh process,
with --direct_num_workers=1 and =2 (--direct_running_mode=multi_processing),
on all the files and on a third of them. The two sizes give the marginal
(steady-state) rate, free of the fixed start-up cost, and show whether peak
memory grows with the input (it should not: records stream through).

Prints one JSON line per run, then one per pipeline with the 2-vs-1 speed-ups
(overall and marginal), the start-up cost and the peak memory at both sizes:
  {"bench": "convert", "workers": 2, "files": 3000, "seconds": ...,
   "files_per_sec": ..., "driver_peak_rss_mib": ..., "worker_peak_rss_mib": ...}
driver_peak_rss_mib / worker_peak_rss_mib: the driver's peak resident set and
the largest worker process's (getrusage in the run's own process).
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

_CHILD = r'''
import json, sys, time
from pipelines import beam_common, convert_pipeline, dataset_pipeline
stage, source, out, workers = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
options = beam_common.make_pipeline_options([
    '--direct_num_workers=%d' % workers,
    '--direct_running_mode=multi_processing'])
start = time.time()
if stage == 'convert':
  data = convert_pipeline.run(convert_pipeline.ConvertConfig(
      input_dir=source, output_file=out), options=options)
else:
  data = dataset_pipeline.run(dataset_pipeline.DatasetConfig(
      input=source, output_dir=out, eval_ratio=0.1), options=options)
import resource
print(json.dumps({'seconds': time.time() - start,
                  'inputs': data['inputs_total'],
                  'outputs': data['outputs_total'],
                  'driver_rss_kib': resource.getrusage(
                      resource.RUSAGE_SELF).ru_maxrss,
                  'worker_rss_kib': resource.getrusage(
                      resource.RUSAGE_CHILDREN).ru_maxrss}))
'''


def _run(stage, source, out, workers):
  """Runs one timed pipeline in a fresh process; returns its JSON line."""
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3', PYTHONWARNINGS='ignore')
  start = time.time()
  proc = subprocess.run([sys.executable, '-c', _CHILD, stage, source, out,
                         str(workers)], capture_output=True, text=True,
                        env=env, cwd=REPO, check=False)
  wall = time.time() - start
  if proc.returncode:
    sys.exit('bench run failed:\n' + proc.stderr[-3000:])
  child = json.loads(proc.stdout.strip().splitlines()[-1])
  return {
      'bench': stage, 'workers': workers, 'files': child['inputs'],
      'outputs': child['outputs'], 'seconds': round(child['seconds'], 2),
      'process_seconds': round(wall, 2),
      'files_per_sec': round(child['inputs'] / child['seconds'], 1),
      'driver_peak_rss_mib': round(child['driver_rss_kib'] / 1024.0, 1),
      'worker_peak_rss_mib': round(child['worker_rss_kib'] / 1024.0, 1),
  }


def main():
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--note_sequences', default=os.path.join(
      REPO, 'data', 'cache', 'corpus', 'notesequences.tfrecord'),
                      help='NoteSequence TFRecord to export (bin/build_corpus).')
  parser.add_argument('--num_files', type=int, default=3000)
  parser.add_argument('--repeats', type=int, default=1,
                      help='Runs per setting; the fastest is reported.')
  parser.add_argument('--work_dir', default=None,
                      help='Scratch folder (default: a temp dir, removed).')
  args = parser.parse_args()
  if not os.path.exists(args.note_sequences):
    sys.exit('Error: --note_sequences %s does not exist; run bin/build_corpus '
             'first' % args.note_sequences)
  from pipelines import midi_export  # pylint: disable=g-import-not-at-top
  work = args.work_dir or tempfile.mkdtemp(prefix='bench_pipelines_')
  try:
    small, large = os.path.join(work, 'midi_small'), os.path.join(work, 'midi')
    n = midi_export.export_midi_files(args.note_sequences, large,
                                      args.num_files)
    midi_export.export_midi_files(args.note_sequences, small, max(n // 3, 1))
    results = {}
    for workers in (1, 2):
      for size, folder in (('small', small), ('large', large)):
        for stage in ('convert', 'dataset'):
          ns = os.path.join(work, 'ns_%s_%d.tfrecord' % (size, workers))
          if stage == 'convert':
            line = _run('convert', folder, ns, workers)
          else:
            line = _run('dataset', ns, os.path.join(work, 'ds'), workers)
          line['size'] = size
          results[(stage, workers, size)] = line
          print(json.dumps(line), flush=True)
    for stage in ('convert', 'dataset'):
      summary = {'bench': stage, 'cpu_count': os.cpu_count(),
                 'load_avg_1min': round(os.getloadavg()[0], 2)}
      for workers in (1, 2):
        lo, hi = (results[(stage, workers, 'small')],
                  results[(stage, workers, 'large')])
        # The marginal rate between the two sizes cancels the fixed start-up
        # cost (worker processes, imports), leaving the streaming throughput.
        marginal = (hi['files'] - lo['files']) / max(
            hi['seconds'] - lo['seconds'], 1e-9)
        summary['files_per_sec_%d' % workers] = hi['files_per_sec']
        summary['marginal_files_per_sec_%d' % workers] = round(marginal, 1)
        summary['startup_seconds_%d' % workers] = round(
            lo['seconds'] - lo['files'] / marginal, 1)
        summary['worker_peak_rss_mib_%d_small_large' % workers] = [
            lo['worker_peak_rss_mib'], hi['worker_peak_rss_mib']]
        summary['driver_peak_rss_mib_%d_small_large' % workers] = [
            lo['driver_peak_rss_mib'], hi['driver_peak_rss_mib']]
      summary['speedup_2_vs_1_workers'] = round(
          summary['files_per_sec_2'] / summary['files_per_sec_1'], 2)
      summary['marginal_speedup_2_vs_1_workers'] = round(
          summary['marginal_files_per_sec_2'] /
          summary['marginal_files_per_sec_1'], 2)
      print(json.dumps(summary), flush=True)
  finally:
    if not args.work_dir:
      shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
  main()
