"""Deterministic train/eval split by a stable hash of the NoteSequence id.

Magenta's ``melody_rnn_create_dataset`` draws Python's unseeded
``random.random()`` per input sequence, so its split changes on every run and a
melody can move between training and evaluation. Here the side is a function of
the id alone (the idea of Magenta's score2perf ``select_split`` and TFX's hash
partitioning): the MD5 of the id, read as a fraction in [0, 1), goes to eval when
it is below ``eval_ratio``. A record's side therefore never changes between
runs, runners or worker counts, and raising ``eval_ratio`` only moves records
from training to eval. As in Magenta, the split is per NoteSequence, not per
melody, so no tune contributes to both sides.
"""

import hashlib

EVAL = 'eval'
TRAINING = 'training'
MODES = (EVAL, TRAINING)


def hash_fraction(sequence_id: str) -> float:
  """MD5 of the UTF-8 id as a fraction in [0, 1) (first 8 bytes, big-endian)."""
  digest = hashlib.md5(sequence_id.encode('utf-8')).digest()
  return int.from_bytes(digest[:8], 'big') / 2.0**64


def partition(sequence_id: str, eval_ratio: float) -> str:
  """'eval' if hash_fraction(id) < eval_ratio else 'training'.

  Raises:
    ValueError: eval_ratio is outside [0, 1].
  """
  if not 0.0 <= eval_ratio <= 1.0:
    raise ValueError('eval_ratio must be in [0, 1], got %r' % eval_ratio)
  return EVAL if hash_fraction(sequence_id) < eval_ratio else TRAINING
