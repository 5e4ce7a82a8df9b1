"""Helpers shared by the pipelines tests (not a test module)."""

import collections
import os
import pathlib
import struct
import subprocess
import sys
from typing import Dict, List

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = REPO_ROOT / 'bin'


def read_tfrecord(path) -> List[bytes]:
  """Records of an uncompressed TFRecord file (framing only, no CRC check)."""
  with open(path, 'rb') as f:
    return read_tfrecord_bytes(f.read())


def read_tfrecord_bytes(data: bytes) -> List[bytes]:
  """Records of the bytes of an uncompressed TFRecord file (no CRC check)."""
  out, offset = [], 0
  while offset < len(data):
    (length,) = struct.unpack('<Q', data[offset:offset + 8])
    out.append(data[offset + 12:offset + 12 + length])
    offset += 12 + length + 4
  return out


def multiset(records) -> collections.Counter:
  return collections.Counter(records)


def run_bin(name: str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
  """Runs bin/NAME with this interpreter; returns the completed process."""
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3', PYTHONWARNINGS='ignore')
  return subprocess.run([sys.executable, str(BIN / name), *args],
                        capture_output=True, text=True, timeout=timeout,
                        env=env, cwd=str(REPO_ROOT))


def by_id(note_sequence_records) -> Dict[str, bytes]:
  from note_seq.protobuf import music_pb2  # pylint: disable=g-import-not-at-top
  out = {}
  for record in note_sequence_records:
    out[music_pb2.NoteSequence.FromString(record).id] = record
  return out


def magenta_log_stats(log_text: str):
  """(inputs, outputs, counters, non-empty histogram buckets) from the end of a
  ``melody_rnn_create_dataset`` log (its "INFO:tensorflow:" lines)."""
  prefix = 'INFO:tensorflow:'
  lines = log_text.splitlines()
  start = max(i for i, line in enumerate(lines)
              if line.startswith(prefix + 'Processed '))
  inputs, outputs = [int(w) for w in lines[start].split() if w.isdigit()]
  counters, histograms, current = {}, {}, None
  for line in lines[start + 1:]:
    if line.startswith(prefix):
      name, _, value = line[len(prefix):].rpartition(':')
      if value.strip():
        counters[name] = int(value)
        current = None
      else:
        current = histograms.setdefault(name, {})
    elif current is not None and line.startswith('  ['):
      bucket, _, n = line.strip().rpartition(':')
      current[bucket] = int(n)
    else:
      current = None
  return inputs, outputs, counters, histograms
