"""Files -> NoteSequences with Magenta's ids: pure functions, no Beam.

The contract is Magenta's `convert_dir_to_note_sequences` (spec
Magenta's convert_dir_to_note_sequences):

* ``collection_name`` is ``os.path.basename(root_dir)`` of the root as given
  (a trailing slash gives an empty name, exactly as in Magenta);
* ``filename`` is the path relative to the root;
* ``id`` is ``/id/<midi|musicxml|abc>/<collection>/<sha1(filename)>``, and for
  ABC the hashed string is ``<filename>_<X: number>``.

Differences from Magenta, deliberately: ABC works on Python 3 (Magenta passes
bytes to a parser that needs ``str`` and so never converts an ABC file), and a
file's failure is classified under a named counter instead of only a log line.
"""

import dataclasses
import hashlib
import os
import zipfile
import zlib
from typing import Dict, List, Optional

from note_seq import abc_parser
from note_seq import midi_io
from note_seq import musicxml_reader
from note_seq.protobuf import music_pb2

from pipelines import limits

MIDI_EXTENSIONS = ('.mid', '.midi')
MUSICXML_EXTENSIONS = ('.xml', '.mxl')
ABC_EXTENSIONS = ('.abc',)

# Counter names (as data in F.stats.json and as Beam counters).
FILES_CONVERTED = 'files_converted'
SEQUENCES_WRITTEN = 'sequences_written'
MIDI_CONVERSION_ERRORS = 'midi_conversion_errors'
MUSICXML_CONVERSION_ERRORS = 'musicxml_conversion_errors'
ABC_CONVERSION_ERRORS = 'abc_conversion_errors'  # the whole tunebook failed
ABC_TUNE_ERRORS = 'abc_tune_errors'  # one tune of a tunebook failed
UNSUPPORTED_EXTENSION = 'unsupported_extension'
FILE_TOO_LARGE = 'file_too_large'
CONVERSION_TIMEOUT = 'conversion_timeout'
MIDI_TOO_MANY_TICKS = 'midi_too_many_ticks'  # limits.MAX_MIDI_TICKS
READ_ERRORS = 'read_errors'  # the file could not be opened or read
OTHER_CONVERSION_ERRORS = 'other_conversion_errors'  # Magenta's fatal-log path
DIRECTORY_CYCLES = 'directory_cycles'  # a symlink back to an enclosing folder
FILE_NAME_NOT_UTF8 = 'file_name_not_utf8'  # cannot be a NoteSequence filename

ERROR_COUNTERS = (MIDI_CONVERSION_ERRORS, MUSICXML_CONVERSION_ERRORS,
                  ABC_CONVERSION_ERRORS, ABC_TUNE_ERRORS, UNSUPPORTED_EXTENSION,
                  FILE_TOO_LARGE, CONVERSION_TIMEOUT, READ_ERRORS,
                  OTHER_CONVERSION_ERRORS, DIRECTORY_CYCLES, FILE_NAME_NOT_UTF8,
                  MIDI_TOO_MANY_TICKS)


@dataclasses.dataclass(frozen=True)
class ConversionLimits:
  """Per-file limits; 0 disables one."""
  max_file_bytes: int = limits.DEFAULT_MAX_FILE_BYTES
  max_seconds_per_file: float = limits.DEFAULT_MAX_SECONDS_PER_FILE


@dataclasses.dataclass
class FileResult:
  """What converting one file gave.

  Attributes:
    path: the full path of the file.
    sequences: the NoteSequences (one for MIDI/MusicXML, one per parsed tune
      for ABC, none on failure).
    counters: counter name -> increment (always includes every name that this
      file touched, errors included).
    errors: human-readable "reason: message" strings, one per failure.
  """
  path: str
  sequences: List[music_pb2.NoteSequence]
  counters: Dict[str, int]
  errors: List[str]


def source_type_for_path(path: str) -> Optional[str]:
  """'midi', 'musicxml', 'abc' or None, by case-insensitive extension."""
  lower = path.lower()
  if lower.endswith(MIDI_EXTENSIONS):
    return 'midi'
  if lower.endswith(MUSICXML_EXTENSIONS):
    return 'musicxml'
  if lower.endswith(ABC_EXTENSIONS):
    return 'abc'
  return None


def collection_name_for_root(root_dir: str) -> str:
  """Magenta's collection name: the base name of the root string as given."""
  return os.path.basename(root_dir)


def note_sequence_id(filename: str, collection_name: str,
                     source_type: str) -> str:
  """``/id/<type>/<collection>/<sha1 hex of filename as UTF-8>``.

  Args:
    filename: the path relative to the collection root (for an ABC tune,
      ``<filename>_<X: number>``).
    collection_name: the collection (base name of the root).
    source_type: 'midi', 'musicxml' or 'abc' (lower-cased here, as Magenta).
  """
  digest = hashlib.sha1(filename.encode('utf-8')).hexdigest()
  return '/id/%s/%s/%s' % (source_type.lower(), collection_name, digest)


def _stamp(sequence: music_pb2.NoteSequence, filename: str,
           collection_name: str, source_type: str,
           id_string: Optional[str] = None) -> music_pb2.NoteSequence:
  sequence.collection_name = collection_name
  sequence.filename = filename
  sequence.id = note_sequence_id(id_string or filename, collection_name,
                                 source_type)
  return sequence


def midi_bytes_to_sequence(data: bytes, filename: str,
                           collection_name: str) -> music_pb2.NoteSequence:
  """MIDI bytes -> NoteSequence with Magenta's id fields.

  Raises:
    note_seq.MIDIConversionError: the bytes are not a readable MIDI file.
  """
  sequence = midi_io.midi_to_note_sequence(data)
  return _stamp(sequence, filename, collection_name, 'midi')


def musicxml_file_to_sequence(path: str, filename: str,
                              collection_name: str) -> music_pb2.NoteSequence:
  """MusicXML (.xml or .mxl) file -> NoteSequence with Magenta's id fields.

  Raises:
    note_seq.MusicXMLConversionError: the reference converter rejects it.
  """
  sequence = musicxml_reader.musicxml_file_to_sequence_proto(path)
  return _stamp(sequence, filename, collection_name, 'musicxml')


def decode_abc(data: bytes) -> str:
  """ABC bytes -> str: UTF-8, or Latin-1 for the older tunebooks that use it.

  This is the Python-3 fix: Magenta hands the raw bytes to a parser that
  needs ``str``.
  """
  try:
    return data.decode('utf-8')
  except UnicodeDecodeError:
    return data.decode('latin-1')


def abc_text_to_sequences(text: str, filename: str, collection_name: str):
  """ABC tunebook text -> (NoteSequences in X: order, per-tune exceptions).

  Raises:
    note_seq.abc_parser.ABCParseError: the tunebook as a whole is unreadable.
  """
  tunes, exceptions = abc_parser.parse_abc_tunebook(text)
  sequences = []
  for index, tune in tunes.items():
    sequences.append(_stamp(tune, filename, collection_name, 'abc',
                            id_string='%s_%s' % (filename, index)))
  return sequences, exceptions


def _error(result: FileResult, counter: str, exc) -> FileResult:
  result.counters[counter] = result.counters.get(counter, 0) + 1
  result.errors.append('%s: %s: %s' % (counter, type(exc).__name__, exc))
  return result


def convert_file(root_dir: str, relative_path: str,
                 conversion_limits: ConversionLimits = ConversionLimits()
                 ) -> FileResult:
  """Converts one file under `root_dir`; never raises for bad input.

  Args:
    root_dir: the collection root as the user gave it (its base name is the
      collection name).
    relative_path: the file's path relative to `root_dir` (the NoteSequence
      ``filename``), with '/' separators as ``os.path.join`` makes them.
    conversion_limits: the per-file size cap and time bound.

  Returns:
    A FileResult; every failure is classified under one counter and described
    in `errors`.
  """
  path = os.path.join(root_dir, relative_path)
  collection = collection_name_for_root(root_dir)
  result = FileResult(path=path, sequences=[], counters={}, errors=[])
  source_type = source_type_for_path(path)
  if source_type is None and is_directory_cycle(root_dir, relative_path):
    return _error(result, DIRECTORY_CYCLES, ValueError(
        'a link back to an enclosing directory; not followed'))
  if source_type is None:
    return _error(result, UNSUPPORTED_EXTENSION,
                  ValueError('no converter for this file name'))
  try:
    limits.check_file_size(path, conversion_limits.max_file_bytes)
    if path.lower().endswith('.mxl'):
      limits.check_zip_members(path, conversion_limits.max_file_bytes)
  except limits.FileTooLargeError as e:
    return _error(result, FILE_TOO_LARGE, e)
  except OSError as e:
    return _error(result, READ_ERRORS, e)
  try:
    relative_path.encode('utf-8')
  except UnicodeEncodeError:
    # os.listdir gives undecodable bytes as surrogates; a NoteSequence's
    # filename (and its id's hash) must be UTF-8.
    result.path = os.fsencode(path).decode('utf-8', 'backslashreplace')
    return _error(result, FILE_NAME_NOT_UTF8, ValueError(
        'the file name is not valid UTF-8'))
  error_counter = {'midi': MIDI_CONVERSION_ERRORS,
                   'musicxml': MUSICXML_CONVERSION_ERRORS,
                   'abc': ABC_CONVERSION_ERRORS}[source_type]
  try:
    with limits.time_limit(conversion_limits.max_seconds_per_file, path):
      if source_type == 'midi':
        with open(path, 'rb') as f:
          data = f.read()
        limits.check_midi_ticks(data, path)
        result.sequences.append(
            midi_bytes_to_sequence(data, relative_path, collection))
      elif source_type == 'musicxml':
        result.sequences.append(
            musicxml_file_to_sequence(path, relative_path, collection))
      else:
        with open(path, 'rb') as f:
          text = decode_abc(f.read())
        sequences, tune_errors = abc_text_to_sequences(text, relative_path,
                                                       collection)
        result.sequences.extend(sequences)
        for exc in tune_errors:
          _error(result, ABC_TUNE_ERRORS, exc)
        if not sequences and not tune_errors:
          raise abc_parser.ABCParseError('no tune (X: field) in the file')
  except limits.ConversionTimeout as e:
    result.sequences = []
    return _error(result, CONVERSION_TIMEOUT, e)
  except limits.MidiTooLongError as e:
    return _error(result, MIDI_TOO_MANY_TICKS, e)
  except (midi_io.MIDIConversionError, musicxml_reader.MusicXMLConversionError,
          abc_parser.ABCParseError) as e:
    return _error(result, error_counter, e)
  except (zipfile.BadZipFile, zlib.error, EOFError) as e:
    # A damaged .mxl container: note-seq wraps only some zip errors.
    return _error(result, error_counter, e)
  except OSError as e:
    return _error(result, READ_ERRORS, e)
  except Exception as e:  # pylint: disable=broad-except
    # Magenta logs any other converter exception and skips the file; so do we,
    # but under its own counter so a programming error stays visible.
    return _error(result, OTHER_CONVERSION_ERRORS, e)
  if result.sequences:
    result.counters[FILES_CONVERTED] = 1
    result.counters[SEQUENCES_WRITTEN] = len(result.sequences)
  return result


def list_files(root_dir: str, recursive: bool = False) -> List[str]:
  """Relative paths to convert, in Magenta's traversal order.

  Each directory's entries are taken in raw listing order (``os.listdir``,
  like ``tf.gfile.ListDirectory``); files come first, then, with `recursive`,
  each subdirectory in turn (pre-order). Without `recursive` a subdirectory is
  returned like any file, so it is reported as unsupported, as in Magenta.

  Raises:
    FileNotFoundError / NotADirectoryError: `root_dir` is not a directory.
  """
  out = []

  def walk(sub_dir):
    directory = os.path.join(root_dir, sub_dir)
    queued = []
    for name in os.listdir(directory):
      relative = os.path.join(sub_dir, name)
      full = os.path.join(root_dir, relative)
      if (source_type_for_path(full) is None and recursive and
          os.path.isdir(full) and not is_directory_cycle(root_dir, relative)):
        queued.append(relative)
      else:
        out.append(relative)
    for relative in queued:
      walk(relative)

  walk('')
  return out


def is_directory_cycle(root_dir: str, relative_path: str) -> bool:
  """Whether `relative_path` is a directory that is `root_dir` or encloses it
  along the path (a symlink loop, which ``--recursive`` must not follow)."""
  full = os.path.join(root_dir, relative_path)
  if not os.path.isdir(full):
    return False
  target = os.path.realpath(full)
  parent = os.path.dirname(relative_path)
  while True:
    if os.path.realpath(os.path.join(root_dir, parent)) == target:
      return True
    if not parent:
      return False
    parent = os.path.dirname(parent)
