#!/usr/bin/env python3
"""Note RNN throughput per melody_rnn config: training steps/s, sampling melodies/s. JSON lines.

  .venv/bin/python bench/note_rnn.py
  .venv/bin/python bench/note_rnn.py --sequence_example_file=PATH --layer_sizes=128,128
  .venv/bin/python bench/note_rnn.py --configs=lookback_rnn,attention_rnn --skip_train

* train: ``--train_steps`` optimiser steps of ``note_rnn.train``'s compiled step at batch
  ``--batch_size`` (128, Magenta's) on the bundled corpus's training melodies (bucketed,
  padded, masked, dropout on), after ``--warmup_steps`` steps that include tracing.
* sample: ``note_rnn.sample.sample`` of ``--num_melodies`` (1,000) melodies in one batch,
  one primer event then 31 or 127 sampled events (melodies of 32 and 128 steps), temperature
  1; one untimed warm-up call (tracing), then the median of ``--repeats`` timed calls.

The basic_rnn model is the shipped default when it exists, else a random model of
``--layer_sizes``; the other ``--configs`` (mono_rnn, lookback_rnn, attention_rnn) are random
models of ``--layer_sizes`` (throughput does not depend on the weights). Their training bench
reads ``--config_data`` with ``{config}`` replaced (Magenta's golden datasets by default: 2
melodies, so it measures the compiled step, not the input pipeline) and is skipped with a
``note`` line when the file is absent. Every line carries ``config``.
"""

import argparse
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import note_rnn  # noqa: E402
from note_rnn import config as config_lib  # noqa: E402
from note_rnn import dataset as dataset_lib  # noqa: E402
from note_rnn import model as model_lib  # noqa: E402
from note_rnn import sample as sample_lib  # noqa: E402
from note_rnn import train as train_lib  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_DATA = os.path.join(ROOT, 'data', 'cache', 'corpus', 'melody_dataset',
                            'training_melodies.tfrecord')
DEFAULT_CONFIG_DATA = os.path.join(
    os.environ.get('RL_TUNER_SHARED_DIR', os.path.join(os.path.dirname(ROOT), 'shared')),
    'data', 'magenta_golden', 'configs', '{config}', 'dataset', 'training_melodies.tfrecord')
ALL_CONFIGS = ('basic_rnn', 'mono_rnn', 'lookback_rnn', 'attention_rnn')


def _emit(record):
  print(json.dumps(record), flush=True)


def bench_train(args, layer_sizes, config='basic_rnn', data=None):
  files = dataset_lib.expand_file_patterns(data or args.sequence_example_file)
  hp = config_lib.NoteRnnHParams(rnn_layer_sizes=layer_sizes, batch_size=args.batch_size,
                                 attn_length=40 if config == 'attention_rnn' else 0)
  cfg = train_lib.TrainConfig(run_dir='/nonexistent', sequence_example_file=files[0],
                              hparams=hp, config=config)
  trainer = train_lib._Trainer(cfg)  # pylint: disable=protected-access
  ds = dataset_lib.make_dataset(files, args.batch_size, training=True, seed=0, config=config)
  it = iter(ds)
  for _ in range(args.warmup_steps):
    trainer.train_step(*next(it))
  seqs = steps_total = 0
  t0 = time.perf_counter()
  for _ in range(args.train_steps):
    inputs, labels, lengths = next(it)
    m = trainer.train_step(inputs, labels, lengths)
    seqs += int(inputs.shape[0])
    steps_total += int(tf.reduce_sum(lengths))
  float(m['loss'])
  elapsed = time.perf_counter() - t0
  _emit({'bench': 'note_rnn_train', 'config': config, 'layer_sizes': list(layer_sizes),
         'batch_size': args.batch_size, 'steps': args.train_steps,
         'seconds': round(elapsed, 3), 'steps_per_sec': round(args.train_steps / elapsed, 2),
         'sequences_per_sec': round(seqs / elapsed, 1),
         'melody_steps_per_sec': round(steps_total / elapsed, 0),
         'data': os.path.relpath(files[0])})


def bench_sample(args, model):
  primer = model.classes_from_events(np.full((args.num_melodies, 1), 60, np.int64))
  for length in args.lengths:
    sample_lib.sample(model, primer, length - 1, temperature=1.0, seed=0)  # trace
    times = []
    for r in range(args.repeats):
      t0 = time.perf_counter()
      out = sample_lib.sample(model, primer, length - 1, temperature=1.0, seed=r + 1)
      times.append(time.perf_counter() - t0)
    assert out.shape == (args.num_melodies, length)
    med = statistics.median(times)
    _emit({'bench': 'note_rnn_sample', 'config': model.config_name,
           'layer_sizes': list(model.layer_sizes),
           'melodies': args.num_melodies, 'steps': length, 'seconds_median': round(med, 4),
           'seconds_best': round(min(times), 4),
           'melodies_per_sec': round(args.num_melodies / med, 0),
           'note_steps_per_sec': round(args.num_melodies * length / med, 0)})


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--sequence_example_file', default=DEFAULT_DATA)
  parser.add_argument('--layer_sizes', default='100')
  parser.add_argument('--batch_size', type=int, default=128)
  parser.add_argument('--warmup_steps', type=int, default=5)
  parser.add_argument('--train_steps', type=int, default=30)
  parser.add_argument('--num_melodies', type=int, default=1000)
  parser.add_argument('--lengths', default='32,128')
  parser.add_argument('--repeats', type=int, default=5)
  parser.add_argument('--skip_train', action='store_true')
  parser.add_argument('--configs', default=','.join(ALL_CONFIGS))
  parser.add_argument('--config_data', default=DEFAULT_CONFIG_DATA)
  args = parser.parse_args()
  args.lengths = [int(x) for x in args.lengths.split(',')]
  layer_sizes = tuple(int(x) for x in args.layer_sizes.split(','))
  for config in args.configs.split(','):
    if config == 'basic_rnn':
      _bench_basic(args, layer_sizes)
      continue
    if not args.skip_train:
      data = args.config_data.format(config=config)
      if os.path.exists(data):
        bench_train(args, layer_sizes, config, data)
      else:
        _emit({'bench': 'note_rnn_train', 'config': config, 'note': 'skipped: no %s' % data})
    bench_sample(args, note_rnn.build(layer_sizes, seed=0, config=config))


def _bench_basic(args, layer_sizes):
  if model_lib.best_weights_prefix(note_rnn.default_model_dir()) and layer_sizes == (100,):
    model = note_rnn.load()
  else:
    model = note_rnn.build(layer_sizes, seed=0)
  if not args.skip_train:
    if not os.path.exists(args.sequence_example_file):
      sys.exit('bench/note_rnn.py: %s is missing; run bin/build_corpus or pass '
               '--sequence_example_file' % args.sequence_example_file)
    bench_train(args, layer_sizes)
  bench_sample(args, model)

if __name__ == '__main__':
  main()
