"""NoteSequences -> a folder of MIDI files (for the demo and the benchmark).

The bundled corpus exists as NoteSequences; exporting it gives a realistic
folder of thousands of small MIDI files to feed ``convert_dir_to_note_sequences``
with.
"""

import os
from typing import Iterable, Optional

import note_seq
from note_seq.protobuf import music_pb2


def iterate_tfrecord(path: str) -> Iterable[bytes]:
  """The records of an uncompressed TFRecord file (framing only)."""
  import struct  # pylint: disable=g-import-not-at-top
  with open(path, 'rb') as f:
    while True:
      header = f.read(12)
      if len(header) < 12:
        return
      (length,) = struct.unpack('<Q', header[:8])
      yield f.read(length)
      f.read(4)


def midi_file_name(sequence: music_pb2.NoteSequence) -> str:
  """'<collection>_<last id component>.mid': unique and stable per sequence."""
  key = sequence.id.rstrip('/').rsplit('/', 1)[-1] or 'unnamed'
  return '%s_%s.mid' % (sequence.collection_name or 'corpus', key)


def export_midi_files(note_sequence_file: str, output_dir: str,
                      limit: Optional[int] = None) -> int:
  """Writes each NoteSequence of a TFRecord as a MIDI file; returns the count.

  Args:
    note_sequence_file: a NoteSequence TFRecord.
    output_dir: created if missing; existing files of the same name are
      overwritten.
    limit: export at most this many (None = all).
  """
  os.makedirs(output_dir, exist_ok=True)
  count = 0
  for record in iterate_tfrecord(note_sequence_file):
    if limit is not None and count >= limit:
      break
    sequence = music_pb2.NoteSequence.FromString(record)
    note_seq.note_sequence_to_midi_file(
        sequence, os.path.join(output_dir, midi_file_name(sequence)))
    count += 1
  return count
