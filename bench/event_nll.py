#!/usr/bin/env python3
"""Held-out negative log-likelihood per decoded melody event, for Note RNNs of any config.

  .venv/bin/python bench/event_nll.py \
      --model=shipped:data/cache/corpus/melody_dataset/eval_melodies.tfrecord \
      --model=runs/attention:data/cache/corpus/attention_dataset/eval_melodies.tfrecord

Each ``--model=CHECKPOINT:EVAL_FILE`` pairs a Note RNN (anything ``note_rnn.load`` reads;
``shipped`` = the default model) with the held-out melodies *in its config's encoding*. Write
the same melodies for every config (``bin/create_melody_dataset --config=X`` on the same
NoteSequences; the split is by id hash, so the held-out melodies are the same) and the figures
compare: ``note_rnn.event_likelihood`` sums the probability of every class that decodes to the
true event (repeat labels included), which for basic_rnn is the training loss. One JSON line per
model: event_nll, label_nll (the model's own per-class loss), steps.
"""

import argparse
import json
import os
import sys

sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) !=
               os.path.dirname(os.path.abspath(__file__))]
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

import note_rnn  # noqa: E402
from note_rnn import dataset as dataset_lib  # noqa: E402
from note_rnn import event_likelihood  # noqa: E402


def main():
  p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  p.add_argument('--model', action='append', required=True, help='CHECKPOINT:EVAL_FILE')
  p.add_argument('--batch_size', type=int, default=64)
  args = p.parse_args()
  for spec in args.model:
    checkpoint, sep, eval_file = spec.rpartition(':')
    if not sep or not checkpoint or not os.path.exists(eval_file):
      sys.exit('event_nll: --model=%s: expected CHECKPOINT:EVAL_FILE with an existing file'
               % spec)
    model = note_rnn.load(None if checkpoint == 'shipped' else checkpoint)
    batches = dataset_lib.make_dataset([eval_file], args.batch_size, training=False,
                                       config=model.config_name)
    result = event_likelihood.mean_event_nll(model, batches)
    print(json.dumps({'checkpoint': checkpoint, 'config': model.config_name,
                      'eval_file': eval_file, **result}), flush=True)


if __name__ == '__main__':
  main()
