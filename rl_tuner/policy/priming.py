"""Priming: how each composition starts, for training, evaluation and the report alike.

Magenta's RL Tuner primes each composition with one event before the first note it
plays (`priming_mode`):

* `random_note`: a random pitch. `corrected` draws indices 2..37 (a pitch, any of the
  36); `legacy` draws 0..36 as the original does (bug 5: it can start on a hold or a
  note-off and never on the top pitch). ε-exploration's random action has the same
  off-by-one in `legacy` (0..36) and draws 0..37 in `corrected`.
* `single_midi`: the first melody of a MIDI file (`midi_primer`), pitches 48-83.
* `random_midi`: the first 16 steps of a melody drawn from a SequenceExample TFRecord
  (`training_file_list`), one draw per composition.
* `primer_melody`: a list of Magenta melody events (`primer_melody`, e.g. `[60, -2, 62]`).

Every primer ends up as encoded class indices (0 = hold, 1 = note-off, k >= 2 = MIDI k + 46);
the last event is the observation before the first note, the earlier ones only prime the
networks' state. Bad primers raise `FlagError` naming the flag.
"""

import os
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from pipelines import encoding
from pipelines.errors import FlagError

PRIMING_MODES = ('random_note', 'single_midi', 'random_midi', 'primer_melody')
SEMANTICS = ('corrected', 'legacy')
RANDOM_MIDI_PRIMER_STEPS = 16
MIN_PRIMER_PITCH = encoding.MIN_MIDI_PITCH
MAX_PRIMER_PITCH = encoding.MAX_MIDI_PITCH - 1


def random_priming_range(semantics: str):
  """[low, high) of the random_note priming draw: legacy 0..36 (bug 5), corrected 2..37."""
  if semantics == 'legacy':
    return 0, encoding.NUM_CLASSES - 1
  return encoding.FIRST_PITCH_INDEX, encoding.NUM_CLASSES


def random_action_range(semantics: str, num_classes: int = encoding.NUM_CLASSES):
  """[low, high) of ε-exploration's random action: legacy 0..36 (bug 5), corrected 0..37.

  Models of other configs draw from their own ``num_classes`` (legacy: all but the last).
  """
  if semantics == 'legacy':
    return 0, num_classes - 1
  return 0, num_classes



def random_priming_notes(num_compositions: int, *, semantics: str = 'corrected',
                         seed: int = 0) -> np.ndarray:
  """The ``random_note`` priming events, one per composition.

  ``corrected`` draws a pitch (indices 2...37) uniformly; ``legacy`` draws from
  0...36 as the original does (bug 5: it can start on a hold or note-off and never
  on the top pitch).

  Returns:
    int32 [num_compositions].
  """
  if semantics not in SEMANTICS:
    raise ValueError('semantics must be one of %s, got %r' % (SEMANTICS, semantics))
  check_seed(seed)
  rng = np.random.default_rng([seed, 0x5052494d])  # a stream apart from sampling's
  low, high = random_priming_range(semantics)
  return rng.integers(low, high, size=num_compositions).astype(np.int32)


def primer_prefixes(primers: np.ndarray, num_compositions: int, *,
                    seed: int = 0) -> np.ndarray:
  """Prefixes for primer-based priming: one primer row per composition.

  One primer (``single_midi``, ``primer_melody``) primes every composition; several
  (``random_midi``: the first steps of training melodies) are drawn uniformly.

  Args:
    primers: int [P] or [M, P] encoded events (all rows the same length).
    num_compositions: N.
    seed: the draw's seed (only used when M > 1).

  Returns:
    int32 [N, P].
  """
  primers = np.asarray(primers)
  if primers.ndim == 1:
    primers = primers[None, :]
  if primers.ndim != 2 or primers.shape[0] == 0 or primers.shape[1] == 0:
    raise ValueError('primers must be [P] or [M, P] with M, P >= 1, got shape %s'
                     % (primers.shape,))
  check_class_indices(primers, 'primers')
  if primers.shape[0] == 1:
    rows = np.zeros(num_compositions, dtype=np.int64)
  else:
    rng = np.random.default_rng([seed, 0x524d4944])
    rows = rng.integers(0, primers.shape[0], size=num_compositions)
  return primers[rows].astype(np.int32)


def check_seed(seed: int) -> None:
  if not 0 <= int(seed) < 2**63:
    raise ValueError('seed must be in [0, 2**63), got %d' % seed)


def check_class_indices(array: np.ndarray, name: str,
                        num_classes: int = encoding.NUM_CLASSES) -> None:
  if array.size and (array.min() < 0 or array.max() >= num_classes):
    raise ValueError('%s holds class indices outside [0, %d): min %d, max %d'
                     % (name, num_classes, array.min(), array.max()))


def parse_primer_melody(text: Optional[Sequence[str]]) -> Optional[List[int]]:
  """`--primer_melody` as absl's list flag splits it ('[60', '-2', '62]') -> [60, -2, 62]."""
  if text is None:
    return None
  raw = ','.join(text).strip().strip('[]')
  try:
    return [int(x) for x in raw.replace(' ', '').split(',') if x]
  except ValueError:
    raise FlagError('primer_melody', 'not a list of integers: %s' % ','.join(text)) from None


def check_primer_melody(events: Optional[Sequence[int]]) -> None:
  """Pitches 48-83, -1 note-off, -2 hold, and at least one pitch first."""
  if not events:
    return
  for event in events:
    if event in (-1, -2):
      continue
    if not MIN_PRIMER_PITCH <= event <= MAX_PRIMER_PITCH:
      raise FlagError('primer_melody', 'pitch %d is outside %d-%d (or -1 note-off, -2 hold)'
                      % (event, MIN_PRIMER_PITCH, MAX_PRIMER_PITCH))
  if events[0] in (-1, -2) and len(events) == 1:
    raise FlagError('primer_melody', 'must hold at least one pitch')


def primer_rows(settings: Dict[str, Any]) -> Optional[np.ndarray]:
  """`load_primers` as int32 [M, P] rows (one row for a single primer); None for random_note."""
  primers = load_primers(settings)
  if primers is None:
    return None
  primers = np.asarray(primers, np.int32)
  return primers[None] if primers.ndim == 1 else primers






def load_primers(settings: Dict[str, Any]) -> Optional[np.ndarray]:
  """Encoded primer events for the primer-based priming modes (None for random_note).

  Returns:
    int32 [P] (single_midi, primer_melody) or [M, 16] (random_midi: the first
    16 steps of each training melody long enough).
  """
  mode = settings['priming_mode']
  if mode == 'random_note':
    return None
  if mode == 'primer_melody':
    events = settings.get('primer_melody')
    if not events:
      raise FlagError('primer_melody', 'is required with --priming_mode=primer_melody')
    try:
      return encoding.event_to_index(np.asarray(events)).astype(np.int32)
    except ValueError as e:
      raise FlagError('primer_melody', str(e)) from None
  if mode == 'single_midi':
    return _midi_primer(settings.get('midi_primer'))
  if mode == 'random_midi':
    return _training_primers(settings.get('training_file_list'))
  raise FlagError('priming_mode', 'unknown priming mode %r' % mode)


def _midi_primer(path: Optional[str]) -> np.ndarray:
  """The first melody of a MIDI file, unsquashed (its pitches must lie in 48-83)."""
  import note_seq  # pylint: disable=g-import-not-at-top
  from pipelines import limits  # pylint: disable=g-import-not-at-top
  from pipelines import melody_extraction  # pylint: disable=g-import-not-at-top
  if not path or not os.path.isfile(path):
    raise FlagError('midi_primer', 'no such file: %s' % path)
  try:
    limits.check_file_size(path, limits.DEFAULT_MAX_FILE_BYTES)
    with open(path, 'rb') as f:
      data = f.read()
    limits.check_midi_ticks(data, path)
    sequence = note_seq.midi_to_note_sequence(data)
    quantized = note_seq.quantize_note_sequence(sequence, encoding.STEPS_PER_QUARTER)
    melodies, _ = melody_extraction.extract_melodies(
        quantized, min_bars=0, min_unique_pitches=1, gap_bars=float('inf'),
        ignore_polyphonic_notes=True)
  except Exception as e:  # pylint: disable=broad-except
    raise FlagError('midi_primer', '%s: not a usable MIDI primer (%s)' % (
        path, str(e).splitlines()[0] if str(e) else type(e).__name__)) from None
  if not melodies:
    raise FlagError('midi_primer', '%s: no melody found' % path)
  events = np.asarray(list(melodies[0]), np.int64)
  bad = events[(events >= 0) & ((events < encoding.MIN_MIDI_PITCH)
                                | (events >= encoding.MAX_MIDI_PITCH))]
  if bad.size:
    raise FlagError('midi_primer', '%s: pitch %d is outside %d-%d' % (
        path, bad[0], encoding.MIN_MIDI_PITCH, encoding.MAX_MIDI_PITCH - 1))
  return encoding.event_to_index(events).astype(np.int32)


def _training_primers(path: Optional[str]) -> np.ndarray:
  """The first 16 steps of each melody of a SequenceExample TFRecord."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  if not path or not os.path.isfile(path):
    raise FlagError('training_file_list', 'no such file: %s' % path)
  rows = []
  try:
    for record in tf.data.TFRecordDataset(path).take(100000):
      example = tf.train.SequenceExample.FromString(record.numpy())
      inputs = example.feature_lists.feature_list['inputs'].feature
      if len(inputs) < RANDOM_MIDI_PRIMER_STEPS:
        continue
      rows.append([int(np.argmax(f.float_list.value))
                   for f in inputs[:RANDOM_MIDI_PRIMER_STEPS]])
  except Exception as e:  # pylint: disable=broad-except
    raise FlagError('training_file_list', '%s: not a SequenceExample TFRecord (%s)'
                        % (path, str(e).splitlines()[0])) from None
  if not rows:
    raise FlagError('training_file_list', '%s: no melody of %d steps or more'
                        % (path, RANDOM_MIDI_PRIMER_STEPS))
  return np.asarray(rows, np.int32)

