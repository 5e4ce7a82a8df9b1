#!/usr/bin/env python3
"""Fault injection summary: fuzzed inputs through both pipelines, kill -9 in training.

  .venv/bin/python bench/faults.py                  # ~4 min on 2 busy cores
  .venv/bin/python bench/faults.py --scale=4 --kills=4 --seed=7
  .venv/bin/python bench/faults.py --skip_training  # pipelines only (~1 min)

1. Pipelines. The real files of ../shared/data (midi, musicxml, abc) are copied
   into a folder together with seeded mutants of them (truncations, bit flips,
   empty files; --scale multiplies the flips), crafted MIDI files (a header
   claiming a 2 GB track, huge tempo / time-signature changes, ticks far
   beyond any score, only drums, only note-offs, zero-length notes, a
   10,000-note melody, ...) and odd entries (a directory named x.mid, a
   symlink loop, a dangling link, a name that is not UTF-8).
   convert_dir_to_note_sequences runs on the good files alone and on the mix
   (--recursive); create_melody_dataset runs on the good NoteSequences alone
   and on the mix plus a cut-short copy, a CRC-damaged copy and a file of
   records that are not NoteSequences. Both run in-process (DirectRunner).
2. Training. bin/train_rl_tuner and bin/train_note_rnn (tiny configs) are
   killed with SIGKILL at seeded random moments --kills times each; after each
   kill every checkpoint the state file lists is read back completely; then
   the same command must finish with the full step count.

Prints one JSON line:
  inputs_tried          files and TFRecord inputs given to the pipelines
  bad_inputs            of those, the ones that gave no output
  bad_inputs_counted    ... that are under a named error counter AND whose
                        path is in a WARNING log line (must equal bad_inputs)
  mutants_accepted      mutants that still parse (e.g. a flipped velocity bit)
  good_inputs_lost      good files whose NoteSequence changed or vanished, plus
                        good melody examples missing from the mixed run (0)
  kills, kills_survived SIGKILLs sent, and those after which the checkpoints were
                        complete and the rerun finished (must be equal)
  crashes               pipeline runs or reruns that raised or exited non-zero
                        with a traceback, for any input (must be 0)
"""

import argparse
import collections
import json
import logging
import os
import pathlib
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

REPO = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / 'tests' / 'reliability'))
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')

import reliability_fuzzlib as fuzzlib  # noqa: E402  pylint: disable=wrong-import-position


class _Records(logging.Handler):

  def __init__(self):
    super().__init__(logging.INFO)
    self.messages = []

  def emit(self, record):
    if record.levelno >= logging.WARNING:
      self.messages.append(record.getMessage())


def _odd_entries(root: pathlib.Path, good: pathlib.Path):
  (root / 'x.mid').mkdir()
  os.symlink('.', root / 'loop')
  os.symlink(root / 'missing.mid', root / 'dangling.mid')
  shutil.copyfile(good, os.path.join(os.fsencode(root), b'name\xff.mid'))


def pipeline_faults(shared_data: pathlib.Path, work: pathlib.Path, seed: int,
                    scale: int) -> dict:
  """Runs both pipelines on good and mixed inputs; returns the counts."""
  from pipelines import converters  # pylint: disable=g-import-not-at-top
  from pipelines import convert_pipeline  # pylint: disable=g-import-not-at-top
  from pipelines import dataset_pipeline  # pylint: disable=g-import-not-at-top
  from pipelines import melody_dataset  # pylint: disable=g-import-not-at-top
  counts = collections.Counter()
  good_dir = work / 'good' / 'corpus'
  mixed_dir = work / 'mixed' / 'corpus'
  good_names = fuzzlib.copy_good(shared_data, good_dir)
  fuzzlib.copy_good(shared_data, mixed_dir)
  fuzzlib.write_inputs(mixed_dir, fuzzlib.all_bad_inputs(shared_data, seed,
                                                         scale))
  _odd_entries(mixed_dir, good_dir / 'english1.mid')
  handler = _Records()
  root = logging.getLogger()
  root.addHandler(handler)
  root.setLevel(logging.WARNING)
  try:
    runs = {}
    for name, directory in (('good', good_dir), ('mixed', mixed_dir)):
      handler.messages.clear()
      output = work / ('%s.tfrecord' % name)
      try:
        convert_pipeline.run(convert_pipeline.ConvertConfig(
            input_dir=str(directory), output_file=str(output), recursive=True))
      except Exception as e:  # pylint: disable=broad-except
        counts['crashes'] += 1
        print('crash: convert %s: %r' % (name, e), file=sys.stderr)
        return dict(counts)
      runs[name] = (fuzzlib.read_tfrecord(output), list(handler.messages))
    good = fuzzlib.by_filename(runs['good'][0])
    mixed = fuzzlib.by_filename(runs['mixed'][0])
    warnings = '\n'.join(runs['mixed'][1])
    entries = converters.list_files(str(mixed_dir), recursive=True)
    counts['inputs_tried'] += len(entries)
    for filename, records in good.items():
      if mixed.get(filename) != records:
        counts['good_inputs_lost'] += 1
    for entry in entries:
      if entry in good_names:
        continue
      if entry in mixed:
        counts['mutants_accepted'] += 1
        continue
      counts['bad_inputs'] += 1
      result = converters.convert_file(str(mixed_dir), entry)
      shown = os.fsencode(os.path.join(str(mixed_dir), entry)).decode(
          'utf-8', 'backslashreplace')
      if (set(result.counters) & set(converters.ERROR_COUNTERS)
          and shown in warnings):
        counts['bad_inputs_counted'] += 1
      else:
        print('uncounted: %s %s' % (shown, result.counters), file=sys.stderr)

    # The melody dataset: the mixed NoteSequences plus damaged TFRecords.
    inputs = fuzzlib.melody_dataset_inputs(work, shared_data)
    data = (work / 'good.tfrecord').read_bytes()
    first = fuzzlib.read_tfrecord(work / 'good.tfrecord')[0]
    (inputs / 'c_cut.tfrecord').write_bytes(data[:len(data) // 2])
    flipped = bytearray(data)
    flipped[12 + len(first) + 4 + 20] ^= 0x08
    (inputs / 'd_crc.tfrecord').write_bytes(bytes(flipped))
    counts['inputs_tried'] += 4
    try:
      dataset_pipeline.run(dataset_pipeline.DatasetConfig(
          input=str(work / 'good.tfrecord'), output_dir=str(work / 'ds_good')))
      handler.messages.clear()
      stats = dataset_pipeline.run(dataset_pipeline.DatasetConfig(
          input=str(inputs / '*.tfrecord'), output_dir=str(work / 'ds_mixed')))
    except Exception as e:  # pylint: disable=broad-except
      counts['crashes'] += 1
      print('crash: melody dataset: %r' % e, file=sys.stderr)
      return dict(counts)
    corrupt = stats['counters'].get(dataset_pipeline.CORRUPT_TFRECORD_FILES, 0)
    counts['bad_inputs'] += 3  # cut, crc, not NoteSequences
    warnings = '\n'.join(handler.messages)
    counts['bad_inputs_counted'] += sum(
        str(inputs / n) in warnings for n in ('c_cut.tfrecord', 'd_crc.tfrecord'))
    counts['bad_inputs_counted'] += int(
        stats['counters'].get(melody_dataset.UNPARSEABLE_RECORDS, 0) +
        stats['counters'].get('record_errors', 0) >= 1)
    if corrupt != 2:
      print('corrupt_tfrecord_files = %d, expected 2' % corrupt,
            file=sys.stderr)
    for name in (dataset_pipeline.TRAINING_FILE, dataset_pipeline.EVAL_FILE):
      want = collections.Counter(fuzzlib.read_tfrecord(work / 'ds_good' / name))
      have = collections.Counter(fuzzlib.read_tfrecord(work / 'ds_mixed' / name))
      counts['good_inputs_lost'] += sum((want - have).values())
  finally:
    root.removeHandler(handler)
  return dict(counts)


# ---------------------------------------------------------------------------


def _listed_checkpoints_complete(ckpt_dir: pathlib.Path) -> bool:
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  if not (ckpt_dir / 'checkpoint').exists():
    return True
  try:
    state = tf.train.get_checkpoint_state(str(ckpt_dir))
    for prefix in state.all_model_checkpoint_paths:
      reader = tf.train.load_checkpoint(prefix)
      for name in reader.get_variable_to_shape_map():
        reader.get_tensor(name)
  except Exception as e:  # pylint: disable=broad-except
    print('incomplete checkpoint in %s: %s' % (ckpt_dir, e), file=sys.stderr)
    return False
  return True


def _kill_and_resume(command, ckpt_dir, kills, rng, done_marker, env):
  """Kills `command` `kills` times at random moments, then runs it to the end."""
  sent = survived = crashes = 0
  complete = True
  for _ in range(kills):
    before = set(ckpt_dir.glob('*.index')) if ckpt_dir.exists() else set()
    need = 1 + rng.randrange(2)
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=env)
    deadline = time.time() + 600
    while proc.poll() is None and time.time() < deadline:
      now = set(ckpt_dir.glob('*.index')) if ckpt_dir.exists() else set()
      if len(now - before) >= need:
        break
      time.sleep(0.05)
    time.sleep(rng.uniform(0.0, 0.4))
    if proc.poll() is None:
      proc.send_signal(signal.SIGKILL)
      sent += 1
    proc.wait()
    complete = _listed_checkpoints_complete(ckpt_dir) and complete
  done = subprocess.run(command, capture_output=True, text=True, env=env,
                        timeout=1200)
  text = done.stdout + done.stderr
  if done.returncode != 0 or 'Traceback' in text:
    crashes += 1
    print(text[-2000:], file=sys.stderr)
  elif done_marker in text and complete:
    survived = sent
  return sent, survived, crashes


def training_faults(shared_data: pathlib.Path, work: pathlib.Path, seed: int,
                    kills: int) -> dict:
  import note_rnn  # pylint: disable=g-import-not-at-top
  rng = random.Random(seed)
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3')
  prior = work / 'prior'
  note_rnn.build((8,), seed=0).save(str(prior))
  counts = collections.Counter()
  steps = 768
  rl_dir = work / 'rl_run'
  rl = [sys.executable, str(REPO / 'bin' / 'train_rl_tuner'),
        '--output_dir=%s' % rl_dir, '--note_rnn_checkpoint=%s' % prior,
        '--num_notes=8', '--num_parallel_envs=8', '--num_steps=%d' % steps,
        '--exploration_period=512', '--batch_size=16', '--replay_capacity=1024',
        '--output_every_nth=64', '--checkpoint_every_n=64',
        '--final_eval_compositions=0', '--num_midi_compositions=0']
  sent, survived, crashes = _kill_and_resume(
      rl, rl_dir / 'checkpoints', kills, rng,
      'done: %d env steps' % steps, env)
  counts.update(kills=sent, kills_survived=survived, crashes=crashes)
  nr_dir = work / 'note_rnn_run'
  melodies = (shared_data / 'magenta_golden' / 'melody_dataset' /
              'training_melodies.tfrecord')
  nr = [sys.executable, str(REPO / 'bin' / 'train_note_rnn'),
        '--sequence_example_file=%s' % melodies, '--run_dir=%s' % nr_dir,
        '--hparams=batch_size=2,rnn_layer_sizes=[8]',
        '--num_training_steps=400', '--checkpoint_every=20', '--eval_every=40',
        '--summary_every=20']
  sent, survived, crashes = _kill_and_resume(
      nr, nr_dir / 'checkpoints', kills, rng, 'Done at step 400', env)
  counts.update(kills=sent, kills_survived=survived, crashes=crashes)
  return dict(counts)


def main():
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--seed', type=int, default=20261127)
  parser.add_argument('--scale', type=int, default=2,
                      help='multiplies the number of bit-flipped copies')
  parser.add_argument('--kills', type=int, default=3,
                      help='SIGKILLs per training program')
  parser.add_argument('--skip_training', action='store_true')
  parser.add_argument('--shared_data', default=str(REPO.parent / 'shared' /
                                                   'data'))
  args = parser.parse_args()
  shared_data = pathlib.Path(args.shared_data)
  if not shared_data.is_dir():
    sys.exit('bench/faults.py: --shared_data %s is not a directory' %
             shared_data)
  start = time.time()
  work = pathlib.Path(tempfile.mkdtemp(prefix='faults_'))
  try:
    result = collections.Counter(
        inputs_tried=0, bad_inputs=0, bad_inputs_counted=0, mutants_accepted=0,
        good_inputs_lost=0, kills=0, kills_survived=0, crashes=0)
    result.update(pipeline_faults(shared_data, work / 'pipelines', args.seed,
                                  args.scale))
    if not args.skip_training:
      (work / 'training').mkdir()
      result.update(training_faults(shared_data, work / 'training', args.seed,
                                    args.kills))
  finally:
    shutil.rmtree(work, ignore_errors=True)
  out = {'bench': 'faults', 'seed': args.seed, 'scale': args.scale}
  out.update(result)
  out['ok'] = (out['bad_inputs'] == out['bad_inputs_counted'] and
               out['good_inputs_lost'] == 0 and out['crashes'] == 0 and
               out['kills'] == out['kills_survived'])
  out['seconds'] = round(time.time() - start, 1)
  print(json.dumps(out))
  return 0 if out['ok'] else 1


if __name__ == '__main__':
  sys.exit(main())
