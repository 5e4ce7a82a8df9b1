"""Deterministic bad inputs for the reliability tests and bench/faults.py.

Every input is made at run time from a seed and the real files in
``../shared/data`` (nothing generated is committed). A "mutant" is a file
that a converter may or may not accept; a "crafted" MIDI is a structurally
valid file with a pathological musical content (huge tempo, only drums, a
10,000-note melody, ...), written byte by byte so no library's writer can
normalise the pathology away.
"""

import collections
import dataclasses
import os
import pathlib
import random
import shutil
import struct
from typing import Dict, List, Sequence

GOOD_SUBDIRS = ('midi', 'musicxml', 'abc')


@dataclasses.dataclass(frozen=True)
class FuzzInput:
  """One generated input: its file name and bytes, and how it was made."""
  name: str
  data: bytes
  how: str


def good_files(shared_data: pathlib.Path) -> List[pathlib.Path]:
  """The real inputs (midi/, musicxml/, abc/), sorted by path."""
  out = []
  for sub in GOOD_SUBDIRS:
    out.extend(sorted((shared_data / sub).iterdir()))
  return [p for p in out if p.is_file()]


def read_tfrecord(path) -> List[bytes]:
  """Records of a TFRecord file (framing only; the pipelines check CRCs)."""
  data = pathlib.Path(path).read_bytes()
  records, pos = [], 0
  while pos < len(data):
    (length,) = struct.unpack('<Q', data[pos:pos + 8])
    records.append(data[pos + 12:pos + 12 + length])
    pos += 12 + length + 4
  return records


def by_filename(records) -> Dict[str, List[bytes]]:
  """Serialized NoteSequences grouped by their source filename, each group sorted."""
  from note_seq.protobuf import music_pb2  # pylint: disable=g-import-not-at-top
  out = collections.defaultdict(list)
  for record in records:
    out[music_pb2.NoteSequence.FromString(record).filename].append(record)
  return {k: sorted(v) for k, v in out.items()}


# ---------------------------------------------------------------------------
# Raw MIDI writing (enough of SMF to craft pathological but parseable files).


def _vlq(value: int) -> bytes:
  """MIDI variable-length quantity."""
  out = [value & 0x7F]
  value >>= 7
  while value:
    out.append(0x80 | (value & 0x7F))
    value >>= 7
  return bytes(reversed(out))


def _track(events: Sequence[bytes], length: int = None) -> bytes:
  body = b''.join(events) + b'\x00\xff\x2f\x00'  # end of track
  return b'MTrk' + struct.pack('>I', len(body) if length is None else
                               length) + body


def _header(num_tracks: int, division: int = 220, fmt: int = 1) -> bytes:
  return b'MThd' + struct.pack('>IHHH', 6, fmt, num_tracks, division)


def _tempo(delta: int, usec_per_quarter: int) -> bytes:
  return _vlq(delta) + b'\xff\x51\x03' + usec_per_quarter.to_bytes(3, 'big')


def _time_signature(delta: int, numerator: int, denominator_pow: int) -> bytes:
  return _vlq(delta) + bytes([0xFF, 0x58, 0x04, numerator, denominator_pow,
                              24, 8])


def _note_on(delta, pitch, velocity=80, channel=0) -> bytes:
  return _vlq(delta) + bytes([0x90 | channel, pitch, velocity])


def _note_off(delta, pitch, channel=0) -> bytes:
  return _vlq(delta) + bytes([0x80 | channel, pitch, 0])


def _melody_events(num_notes: int, rng: random.Random, channel: int = 0,
                   ticks: int = 110, duration: int = None) -> List[bytes]:
  events = []
  scale = [60, 62, 64, 65, 67, 69, 71, 72]
  for _ in range(num_notes):
    pitch = rng.choice(scale)
    events.append(_note_on(0, pitch, channel=channel))
    events.append(_note_off(ticks if duration is None else duration, pitch,
                            channel=channel))
    if duration is not None:
      events.append(_vlq(ticks) + b'\xff\x01\x00')  # empty text: a gap
  return events


def crafted_midis(seed: int) -> List[FuzzInput]:
  """Structurally valid MIDI files with pathological content."""
  rng = random.Random(seed)
  conductor = [_tempo(0, 500000), _time_signature(0, 4, 2)]
  out = []

  def add(name, data, how):
    out.append(FuzzInput(name, data, how))

  melody = _melody_events(64, rng)
  add('huge_track_length.mid',
      _header(2) + _track(conductor) + _track(melody, length=0x7FFFFFF0),
      'MTrk header claims a 2 GB track')
  add('huge_tempo_change.mid',
      _header(2) + _track(conductor + [_tempo(880, 1), _tempo(880, 0xFFFFFF)])
      + _track(melody), 'tempo changes to 1 us and 16.7 s per quarter')
  add('zero_tempo.mid',
      _header(2) + _track([_tempo(0, 0)]) + _track(melody),
      'tempo of 0 us per quarter')
  add('huge_time_signature.mid',
      _header(2) + _track(conductor + [_time_signature(880, 255, 255)])
      + _track(melody), 'time signature 255/2^255 mid-file')
  add('zero_time_signature.mid',
      _header(2) + _track([_time_signature(0, 0, 0)]) + _track(melody),
      'time signature 0/1')
  add('only_drums.mid',
      _header(2) + _track(conductor) + _track(_melody_events(64, rng, 9)),
      'every note on channel 10')
  add('only_note_offs.mid',
      _header(2) + _track(conductor) + _track(
          [_note_off(110, 60 + i % 12) for i in range(64)]),
      'note-off events without note-ons')
  add('zero_duration_notes.mid',
      _header(2) + _track(conductor) + _track(
          _melody_events(64, rng, duration=0)),
      'every note starts and ends on the same tick')
  add('ten_thousand_notes.mid',
      _header(2) + _track(conductor) + _track(_melody_events(10000, rng)),
      'a 10,000-note monophonic melody')
  add('zero_division.mid',
      _header(2, division=0) + _track(conductor) + _track(melody),
      '0 ticks per quarter')
  add('smpte_division.mid',
      _header(2, division=0xE728) + _track(conductor) + _track(melody),
      'SMPTE time division')
  add('many_empty_tracks.mid',
      _header(2000) + b''.join(_track([]) for _ in range(2000)),
      '2,000 empty tracks')
  add('header_only.mid', _header(1), 'MThd without any track')
  add('huge_gap.mid',
      _header(2) + _track(conductor) + _track(
          melody[:40] + [_note_on(0x0FFFFFFF, 60), _note_off(110, 60)]
          + melody[40:]), 'a gap of 2^28 ticks between two notes')
  add('huge_note.mid',
      _header(2) + _track(conductor) + _track(
          melody[:40] + [_note_on(0, 61), _note_off(0x0FFFFFFF, 61)]
          + melody[40:]), 'one note lasting 2^28 ticks')
  add('endless_note.mid',
      _header(2, division=1) + _track([_tempo(0, 500000)]) + _track(
          [_note_on(0, 60), _note_off(0x0FFFFFFF, 60)]),
      'one note lasting 2^28 quarters (10^9 steps)')
  add('late_time_signature.mid',
      _header(2) + _track(conductor + [_time_signature(0x0FFFFFFF, 7, 3)])
      + _track(melody), 'a 7/8 change after 2^28 ticks')
  return out


# ---------------------------------------------------------------------------
# Mutations of real files.


def _truncations(name: str, data: bytes, offsets: Sequence[int]):
  for offset in offsets:
    if 0 < offset < len(data):
      stem, ext = os.path.splitext(name)
      yield FuzzInput('%s_trunc%d%s' % (stem, offset, ext), data[:offset],
                      'first %d of %d bytes' % (offset, len(data)))


def _flips(name: str, data: bytes, rng: random.Random, copies: int,
           flips: int):
  for i in range(copies):
    mutated = bytearray(data)
    positions = [rng.randrange(len(data)) for _ in range(flips)]
    for pos in positions:
      mutated[pos] ^= 1 << rng.randrange(8)
    stem, ext = os.path.splitext(name)
    yield FuzzInput('%s_flip%d%s' % (stem, i, ext), bytes(mutated),
                    '%d bit flips at %s' % (flips, positions))


def mutants(shared_data: pathlib.Path, seed: int,
            scale: int = 1) -> List[FuzzInput]:
  """Truncations, bit flips and empty files made from the real inputs.

  Args:
    shared_data: ../shared/data.
    seed: makes the byte flips reproducible.
    scale: multiplies the number of flipped copies (bench/faults.py uses more).
  """
  rng = random.Random(seed)
  out = []
  sources = {
      'midi': ['english1.mid', 'example_complex.mid', 'primer.mid'],
      'musicxml': ['flute_scale.xml', 'flute_scale.mxl'],
      'abc': ['english.abc'],
  }
  for sub, names in sources.items():
    for name in names:
      data = (shared_data / sub / name).read_bytes()
      n = len(data)
      offsets = sorted({1, 4, 13, 14, 22, 23, n // 3, n // 2, n - 1})
      if name != 'english1.mid':
        offsets = sorted({4, n // 2, n - 1})
      out.extend(_truncations(name, data, offsets))
      out.extend(_flips(name, data, rng, copies=2 * scale, flips=1 + rng.randrange(6)))
      stem, ext = os.path.splitext(name)
      out.append(FuzzInput('%s_empty%s' % (stem, ext), b'', 'zero bytes'))
  return out


BILLION_LAUGHS = ('<?xml version="1.0"?>\n<!DOCTYPE lolz [\n<!ENTITY lol "lol">\n' +
                  ''.join('<!ENTITY lol%d "%s">\n' % (i, ('&lol%s;' % (
                      '' if i == 1 else i - 1)) * 10) for i in range(1, 10)) +
                  ']>\n<score-partwise><work><work-title>&lol9;</work-title>'
                  '</work></score-partwise>\n')


def crafted_musicxml(shared_data: pathlib.Path,
                     bomb_bytes: int = 70 * 1024 * 1024) -> List[FuzzInput]:
  """An XML entity bomb and an .mxl whose score inflates past the size cap."""
  import io  # pylint: disable=g-import-not-at-top
  import zipfile  # pylint: disable=g-import-not-at-top
  score = (shared_data / 'musicxml' / 'flute_scale.xml').read_bytes()
  head, tail = score.split(b'?>', 1)
  buf = io.BytesIO()
  fixed = (2020, 1, 1, 0, 0, 0)  # zip headers hold a date: keep the bytes seeded
  with zipfile.ZipFile(buf, 'w', zipfile.ZIP_DEFLATED, compresslevel=9) as z:
    z.writestr(zipfile.ZipInfo('META-INF/container.xml', fixed),
               '<?xml version="1.0"?><container><rootfiles><rootfile '
               'full-path="score.xml"/></rootfiles></container>',
               compress_type=zipfile.ZIP_DEFLATED)
    z.writestr(zipfile.ZipInfo('score.xml', fixed),
               head + b'?>' + b' ' * bomb_bytes + tail,
               compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
  return [
      FuzzInput('billion_laughs.xml', BILLION_LAUGHS.encode(),
                'XML entity expansion (10^9 "lol")'),
      FuzzInput('zip_bomb.mxl', buf.getvalue(),
                '.mxl of %d kB inflating to %d MB' % (
                    len(buf.getvalue()) // 1024, bomb_bytes // 2 ** 20)),
  ]


ABC_TUNE = ('X:1\nT:crafted\n%s\nK:G\n' +
            'ABcd efga|bagf edcB|' * 8 + '\n')
CRAFTED_ABC_HEADERS = {
    'negative_meter.abc': 'M:-3/4', 'zero_meter.abc': 'M:0/0',
    'huge_meter.abc': 'M:99999999/1', 'zero_unit.abc': 'L:1/0',
    'negative_unit.abc': 'L:-1/8', 'huge_unit.abc': 'L:100000/1',
    'zero_tempo.abc': 'Q:1/4=0', 'huge_tempo.abc': 'Q:1/4=99999999999',
}


def crafted_abc() -> List[FuzzInput]:
  """ABC tunes with pathological meter, unit length and tempo fields."""
  return [FuzzInput(name, (ABC_TUNE % header).encode(), 'ABC header %s' % header)
          for name, header in sorted(CRAFTED_ABC_HEADERS.items())]


def all_bad_inputs(shared_data: pathlib.Path, seed: int,
                   scale: int = 1) -> List[FuzzInput]:
  return (mutants(shared_data, seed, scale) + crafted_midis(seed) +
          crafted_musicxml(shared_data) + crafted_abc())


def write_inputs(directory: pathlib.Path, inputs: Sequence[FuzzInput]
                 ) -> Dict[str, FuzzInput]:
  """Writes `inputs` under `directory`; returns name -> input."""
  directory.mkdir(parents=True, exist_ok=True)
  out = {}
  for item in inputs:
    assert item.name not in out, item.name
    (directory / item.name).write_bytes(item.data)
    out[item.name] = item
  return out


def copy_good(shared_data: pathlib.Path, directory: pathlib.Path) -> List[str]:
  """Copies the real inputs flat into `directory`; returns their names."""
  directory.mkdir(parents=True, exist_ok=True)
  names = []
  for path in good_files(shared_data):
    shutil.copyfile(path, directory / path.name)
    names.append(path.name)
  return names


def melody_dataset_inputs(base: pathlib.Path, shared_data: pathlib.Path
                          ) -> pathlib.Path:
  """Makes `base/ds_inputs` for create_melody_dataset and returns it.

  It holds the fuzzed NoteSequences a convert run wrote to `base/mixed.tfrecord`
  and a TFRecord whose records are not NoteSequences at all.
  """
  inputs = base / 'ds_inputs'
  inputs.mkdir()
  shutil.copyfile(base / 'mixed.tfrecord', inputs / 'a_mixed.tfrecord')
  shutil.copyfile(
      shared_data / 'notesequences' / 'tfrecord_iterator_test.tfrecord',
      inputs / 'b_not_note_sequences.tfrecord')
  return inputs
