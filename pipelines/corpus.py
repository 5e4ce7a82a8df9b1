"""The bundled corpus: music21's own scores -> NoteSequences (pure parts).

music21's wheel ships, under ``music21/corpus/``, Bach's chorales (MusicXML /
Humdrum) and three folk-tune collections in ABC: essenFolksong, oneills1850 and
ryansMammoth. Nothing is downloaded. This module:

* lists the work units (one per ABC tune, one per chorale), in a stable order;
* converts one unit: music21 parses it (chorales: the soprano part only), its
  MIDI export is read by note-seq's MIDI converter, so the NoteSequence has the
  same fields as a converted MIDI file;
* caches each unit's result under a key of its content and of this code's
  version, so a rebuild converts only what changed.

Ids follow Magenta's scheme, with the source's type and the corpus folder as
the collection: ``/id/abc/essenFolksong/<sha1("altdeu10.abc_<X:>")>`` and
``/id/musicxml/bach/<sha1("bwv1.6.mxl")>``. ``source_info`` says the score was
parsed by music21 (``parser = MUSIC21``, ``source_type = SCORE_BASED``).

The Beam pipeline around it is ``corpus_pipeline``.
"""

import copy
import dataclasses
import hashlib
import json
import os
import re
from typing import Dict, List, Optional, Sequence, Tuple

from note_seq import midi_io
from note_seq.protobuf import music_pb2

from pipelines import converters
from pipelines import limits
from pipelines import files

# Where bin/build_corpus writes by default (relative to the working directory,
# i.e. the repository root): notesequences.tfrecord, melody_dataset/, cache/.
DEFAULT_CORPUS_DIR = os.path.join('data', 'cache', 'corpus')
NOTESEQUENCES_FILE = 'notesequences.tfrecord'
MELODY_DATASET_DIR = 'melody_dataset'
CACHE_DIR = 'cache'

BACH = 'bach'
ABC_COLLECTIONS = ('essenFolksong', 'oneills1850', 'ryansMammoth')
COLLECTIONS = (BACH,) + ABC_COLLECTIONS
BACH_EXTENSIONS = ('.mxl', '.xml', '.krn')

# Bump when the conversion of a unit changes, so cached results are redone.
CONVERTER_VERSION = '2'

# Counter names of the corpus conversion.
UNITS_TOTAL = 'units_total'
UNITS_CONVERTED = 'units_converted'
CACHE_HITS = 'cache_hits'
PARSE_ERRORS = 'music21_parse_errors'
MIDI_EXPORT_ERRORS = 'midi_export_errors'
EMPTY_SCORES = 'empty_scores'
REPEATS_NOT_EXPANDED = 'repeats_not_expanded'
CONVERSION_TIMEOUT = converters.CONVERSION_TIMEOUT

_X_LINE = re.compile(r'^X:', re.MULTILINE)


@dataclasses.dataclass(frozen=True)
class Unit:
  """One tune or chorale to convert.

  Attributes:
    collection: the corpus folder (the NoteSequence collection_name).
    filename: the file's path relative to the collection folder.
    id_string: the string hashed into the id (``<filename>_<X:>`` for ABC).
    source_type: 'abc', 'musicxml' or 'humdrum' (for the id).
    text: the ABC text of the tune (file header included); None for files.
    path: the full path of the file (chorales).
    cache_key: sha1 of everything that determines the result.
  """
  collection: str
  filename: str
  id_string: str
  source_type: str
  text: Optional[str]
  path: Optional[str]
  cache_key: str


def corpus_root() -> str:
  """The folder of music21's bundled corpus."""
  import music21.corpus  # pylint: disable=g-import-not-at-top
  return os.path.dirname(music21.corpus.__file__)


def _music21_version() -> str:
  import music21  # pylint: disable=g-import-not-at-top
  return music21.__version__


def _key(*parts: str) -> str:
  digest = hashlib.sha1()
  for part in parts:
    digest.update(part.encode('utf-8', 'surrogatepass'))
    digest.update(b'\0')
  return digest.hexdigest()


def split_abc_tunes(text: str) -> List[Tuple[str, str]]:
  """ABC tunebook text -> [(X: reference, tune text with the file header)].

  Everything before the first ``X:`` line is the file header (default fields
  for every tune), so it is prepended to each tune. A reference number used
  twice in a file gets ``#2``, ``#3``, ... so that ids stay unique.
  """
  starts = [m.start() for m in _X_LINE.finditer(text)]
  if not starts:
    return []
  header = text[:starts[0]]
  tunes, seen = [], {}
  for begin, end in zip(starts, starts[1:] + [len(text)]):
    body = text[begin:end]
    reference = body.split('\n', 1)[0][2:].strip() or str(len(tunes) + 1)
    seen[reference] = seen.get(reference, 0) + 1
    if seen[reference] > 1:
      reference = '%s#%d' % (reference, seen[reference])
    tunes.append((reference, header + body))
  return tunes


def list_units(collections: Sequence[str] = COLLECTIONS,
               max_tunes: Optional[int] = None,
               root: Optional[str] = None) -> List[Unit]:
  """The work units of the selected collections, in a stable order.

  Args:
    collections: names from COLLECTIONS.
    max_tunes: at most this many units in total, taken in turn from each
      collection (so a small slice still mixes them); None = all.
    root: music21's corpus folder (default: the installed one).

  Raises:
    ValueError: an unknown collection name.
  """
  unknown = [c for c in collections if c not in COLLECTIONS]
  if unknown:
    raise ValueError('unknown collection %r; valid: %s'
                     % (unknown[0], ', '.join(COLLECTIONS)))
  root = root or corpus_root()
  version = '%s/%s' % (CONVERTER_VERSION, _music21_version())
  per_collection = []
  for collection in collections:
    folder = os.path.join(root, collection)
    units = []
    for name in sorted(os.listdir(folder)):
      path = os.path.join(folder, name)
      if collection == BACH:
        if not name.lower().endswith(BACH_EXTENSIONS):
          continue
        with open(path, 'rb') as f:
          content = hashlib.sha1(f.read()).hexdigest()
        source_type = 'humdrum' if name.endswith('.krn') else 'musicxml'
        units.append(Unit(collection, name, name, source_type, None, path,
                          _key(version, collection, name, content)))
      elif name.lower().endswith('.abc'):
        with open(path, 'rb') as f:
          text = converters.decode_abc(f.read())
        for reference, tune in split_abc_tunes(text):
          id_string = '%s_%s' % (name, reference)
          units.append(Unit(collection, name, id_string, 'abc', tune, None,
                            _key(version, collection, id_string, tune)))
    per_collection.append(units)
  if max_tunes is None:
    return [unit for units in per_collection for unit in units]
  out = []
  position = 0
  while len(out) < max_tunes and any(position < len(u) for u in per_collection):
    for units in per_collection:
      if position < len(units) and len(out) < max_tunes:
        out.append(units[position])
    position += 1
  return out


def _soprano(score):
  """The soprano part of a chorale (by name), else its first part."""
  parts = list(score.parts)
  for part in parts:
    names = ' '.join(str(x) for x in (part.partName, part.id) if x).lower()
    if 'soprano' in names:
      return part
  return parts[0] if parts else score


class CorpusConversionError(Exception):
  """A unit could not be turned into a NoteSequence; `counter` says why."""

  def __init__(self, counter: str, message: str):
    super().__init__(message)
    self.counter = counter


def _unshare_conductor_objects(score) -> None:
  """Gives each time/key signature and tempo mark its own object.

  music21's ABC reader sometimes puts one TimeSignature object into two
  measures; its MIDI export then fails ("already found in this Stream") when
  it gathers them into the conductor track. Copies fix that and change
  nothing else.
  """
  seen = set()
  for inner in list(score.recurse(streamsOnly=True, includeSelf=True)):
    for element in list(inner.getElementsByClass(
        ['TimeSignature', 'KeySignature', 'MetronomeMark'])):
      if id(element) in seen:
        inner.replace(element, copy.deepcopy(element))
      else:
        seen.add(id(element))


def _to_midi_bytes(score) -> Tuple[bytes, Dict[str, int]]:
  """music21 stream -> MIDI bytes, repeats expanded when they are well formed.

  music21 refuses to expand badly formed repeat marks; such a tune is exported
  as written (each repeated section once) and counted as
  ``repeats_not_expanded``.
  """
  from music21 import midi as m21_midi  # pylint: disable=g-import-not-at-top
  from music21 import repeat as m21_repeat  # pylint: disable=g-import-not-at-top
  _unshare_conductor_objects(score)
  try:
    return m21_midi.translate.streamToMidiFile(score).writestr(), {}
  except m21_repeat.ExpanderException:
    flat = score.flatten()
    return (m21_midi.translate.streamToMidiFile(flat).writestr(),
            {REPEATS_NOT_EXPANDED: 1})


def convert_unit(unit: Unit) -> Tuple[music_pb2.NoteSequence, Dict[str, int]]:
  """Parses one unit with music21 and returns its NoteSequence.

  Returns:
    (the NoteSequence, counter increments for what was worked around).

  Raises:
    CorpusConversionError: with `counter` PARSE_ERRORS, MIDI_EXPORT_ERRORS or
      EMPTY_SCORES.
  """
  from music21 import converter  # pylint: disable=g-import-not-at-top
  try:
    if unit.text is not None:
      score = converter.parseData(unit.text, format='abc')
    else:
      score = _soprano(converter.parse(unit.path))
  except limits.ConversionTimeout:
    raise
  except Exception as e:  # pylint: disable=broad-except  # music21 raises many kinds
    raise CorpusConversionError(PARSE_ERRORS, '%s: %s' % (type(e).__name__, e))
  try:
    data, workarounds = _to_midi_bytes(score)
    sequence = midi_io.midi_to_note_sequence(data)
  except limits.ConversionTimeout:
    raise
  except Exception as e:  # pylint: disable=broad-except
    raise CorpusConversionError(MIDI_EXPORT_ERRORS,
                                '%s: %s' % (type(e).__name__, e))
  if not sequence.notes:
    raise CorpusConversionError(EMPTY_SCORES, 'no notes')
  sequence.collection_name = unit.collection
  sequence.filename = unit.filename
  sequence.id = converters.note_sequence_id(unit.id_string, unit.collection,
                                            unit.source_type)
  info = sequence.source_info
  info.source_type = music_pb2.NoteSequence.SourceInfo.SCORE_BASED
  info.encoding_type = {
      'abc': music_pb2.NoteSequence.SourceInfo.ABC,
      'musicxml': music_pb2.NoteSequence.SourceInfo.MUSIC_XML,
  }.get(unit.source_type,
        music_pb2.NoteSequence.SourceInfo.UNKNOWN_ENCODING_TYPE)
  info.parser = music_pb2.NoteSequence.SourceInfo.MUSIC21
  return sequence, workarounds


def cache_path(cache_dir: str, unit: Unit, failed: bool = False) -> str:
  """Where a unit's result lives: <cache>/<collection>/<k[:2]>/<k>.pb|.err."""
  return os.path.join(cache_dir, unit.collection, unit.cache_key[:2],
                      unit.cache_key + ('.err' if failed else '.pb'))


def read_cached(cache_dir: str, unit: Unit) -> Optional[Tuple[str, bytes]]:
  """('ok', NoteSequence bytes) or ('error', b'counter\\tmessage') or None."""
  for failed, kind in ((False, 'ok'), (True, 'error')):
    path = cache_path(cache_dir, unit, failed)
    if os.path.exists(path):
      with open(path, 'rb') as f:
        return kind, f.read()
  return None


def write_cached(cache_dir: str, unit: Unit, data: bytes,
                 failed: bool = False) -> None:
  """Writes a result atomically (a temp file, then rename)."""
  path = cache_path(cache_dir, unit, failed)
  os.makedirs(os.path.dirname(path), exist_ok=True)
  files.write_bytes_atomic(path, data)


def _workarounds_path(cache_dir: str, unit: Unit) -> str:
  return cache_path(cache_dir, unit)[:-len('.pb')] + '.json'


def _read_workarounds(cache_dir: str, unit: Unit) -> Dict[str, int]:
  """The counters a cached conversion reported (e.g. repeats_not_expanded)."""
  path = _workarounds_path(cache_dir, unit)
  if not os.path.exists(path):
    return {}
  with open(path) as f:
    return json.load(f)


def _write_workarounds(cache_dir: str, unit: Unit,
                       workarounds: Dict[str, int]) -> None:
  path = _workarounds_path(cache_dir, unit)
  os.makedirs(os.path.dirname(path), exist_ok=True)
  with open(path, 'w') as f:
    json.dump(workarounds, f)


def convert_unit_cached(unit: Unit, cache_dir: Optional[str],
                        max_seconds: float) -> Tuple[Optional[bytes],
                                                     Dict[str, int], str]:
  """Converts a unit, or reads its cached result.

  Timeouts are not cached (they may pass on a less busy machine).

  Returns:
    (serialized NoteSequence or None, counter increments, error message or '').
  """
  counts = {UNITS_TOTAL: 1}
  if cache_dir:
    cached = read_cached(cache_dir, unit)
    if cached is not None:
      counts[CACHE_HITS] = 1
      kind, data = cached
      if kind == 'ok':
        counts[UNITS_CONVERTED] = 1
        counts.update(_read_workarounds(cache_dir, unit))
        return data, counts, ''
      counter, message = data.decode('utf-8').split('\t', 1)
      counts[counter] = 1
      return None, counts, message
  try:
    with limits.time_limit(max_seconds, '%s/%s' % (unit.collection,
                                                   unit.id_string)):
      sequence, workarounds = convert_unit(unit)
  except limits.ConversionTimeout as e:
    counts[CONVERSION_TIMEOUT] = 1
    return None, counts, str(e)
  except CorpusConversionError as e:
    counts[e.counter] = 1
    if cache_dir:
      write_cached(cache_dir, unit,
                   ('%s\t%s' % (e.counter, e)).encode('utf-8'), failed=True)
    return None, counts, str(e)
  data = sequence.SerializeToString()
  if cache_dir:
    if workarounds:
      _write_workarounds(cache_dir, unit, workarounds)
    write_cached(cache_dir, unit, data)
  counts[UNITS_CONVERTED] = 1
  counts.update(workarounds)
  return data, counts, ''
