"""The pinned stack imports together (note-seq's protobuf pin vs TensorFlow, tf-agents vs IPython)."""

import importlib


def test_stack_imports_together():
  for name in ('tensorflow', 'tf_agents', 'note_seq', 'apache_beam', 'music21', 'google_crc32c'):
    importlib.import_module(name)
  import tensorflow as tf
  import note_seq
  assert tf.__version__ == '2.15.1'
  assert note_seq.NoteSequence().SerializeToString() == b''


def test_encoding_round_trip():
  import numpy as np
  from pipelines import encoding
  events = np.array([-2, -1, 48, 60, 83])
  idx = encoding.event_to_index(events)
  assert idx.tolist() == [0, 1, 2, 14, 37]
  assert encoding.index_to_event(idx).tolist() == events.tolist()
  assert encoding.C_MAJOR_TONIC_INDEX == 14
