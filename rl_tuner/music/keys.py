"""Musical keys over the 38-class melody encoding.

The original RL Tuner hard-codes C major (`C_MAJOR_KEY`, tonic index 14 and the
C, E and G note lists of its interval classifier). A `Key` derives the same sets
for any major or natural-minor key, so that `parse_key('C')` reproduces the
original's tables exactly (tested) and every other key is a transposition of
them (rl_tuner/README.md):

  in key       {NO_EVENT, NOTE_OFF} ∪ {i >= 2 : pitch class of i - tonic in degrees}
  tonic index  C_MAJOR_TONIC_INDEX + tonic pitch class (14 ... 25)
  tonic/third/fifth indices  pitches whose relative pitch class is 0 / third / 7

Encoding: index 0 = no event (hold), 1 = note off, k >= 2 = MIDI pitch k + 46
(`pipelines.encoding`).
"""

import dataclasses
from typing import Tuple

import numpy as np

from pipelines import encoding

MAJOR_DEGREES = (0, 2, 4, 5, 7, 9, 11)
NATURAL_MINOR_DEGREES = (0, 2, 3, 5, 7, 8, 10)
MAJOR_THIRD_SEMITONES = 4
MINOR_THIRD_SEMITONES = 3
FIFTH_SEMITONES = 7
OCTAVE_SEMITONES = 12
MINOR_SUFFIX = '_minor'
MAJOR_SUFFIX = '_major'

# Pitch class of each tonic name; sharps and flats both spell the black keys.
TONIC_PITCH_CLASSES = {
    'C': 0, 'C#': 1, 'Db': 1, 'D': 2, 'D#': 3, 'Eb': 3, 'E': 4, 'F': 5,
    'F#': 6, 'Gb': 6, 'G': 7, 'G#': 8, 'Ab': 8, 'A': 9, 'A#': 10, 'Bb': 10,
    'B': 11,
}
KEY_NAMES = tuple(list(TONIC_PITCH_CLASSES) +
                  [name + MINOR_SUFFIX for name in TONIC_PITCH_CLASSES])

_PITCH_INDICES = np.arange(encoding.FIRST_PITCH_INDEX, encoding.NUM_CLASSES)


def pitch_class_of_index(indices: np.ndarray) -> np.ndarray:
  """Pitch class (0 = C) of pitch indices (>= 2), elementwise."""
  return (np.asarray(indices) + encoding.PITCH_INDEX_OFFSET) % OCTAVE_SEMITONES


@dataclasses.dataclass(frozen=True, eq=False)
class Key:
  """A major or natural-minor key expressed as encoding-index sets.

  Attributes:
    name: the canonical name, e.g. 'C', 'F#', 'A_minor'.
    tonic_pitch_class: 0 (C) ... 11 (B).
    minor: True for natural minor.
    degrees: the scale's pitch classes relative to the tonic.
    third_semitones: 4 (major third) or 3 (minor third).
    tonic_index: the tonic rule's note, C_MAJOR_TONIC_INDEX + tonic pitch class.
    in_key: bool [38]; the special events count as in key (as in the original).
    tonic_indices, third_indices, fifth_indices: int arrays of the pitch
      indices on the tonic, third and fifth degree.
    scale: the 15 in-key pitches from an octave below to an octave above the
      tonic index (the original's C_MAJOR_SCALE for 'C'; used by `scale` mode).
  """
  name: str
  tonic_pitch_class: int
  minor: bool
  degrees: Tuple[int, ...]
  third_semitones: int
  tonic_index: int
  in_key: np.ndarray
  tonic_indices: np.ndarray
  third_indices: np.ndarray
  fifth_indices: np.ndarray
  scale: Tuple[int, ...]

  def is_tonic_or_fifth(self) -> np.ndarray:
    """bool [38]: index is a tonic- or fifth-degree pitch."""
    mask = np.zeros(encoding.NUM_CLASSES, dtype=bool)
    mask[self.tonic_indices] = True
    mask[self.fifth_indices] = True
    return mask

  def is_tonic_or_third(self) -> np.ndarray:
    """bool [38]: index is a tonic- or third-degree pitch."""
    mask = np.zeros(encoding.NUM_CLASSES, dtype=bool)
    mask[self.tonic_indices] = True
    mask[self.third_indices] = True
    return mask

  def __repr__(self) -> str:
    return 'Key(%r)' % self.name


def _canonical(name: str) -> str:
  """'a_MINOR' -> 'A_minor', 'db' -> 'Db', 'C_major' -> 'C'."""
  base, sep, mode = name.strip().partition('_')
  base = base[:1].upper() + base[1:].lower()
  mode = mode.lower()
  if sep and mode == MAJOR_SUFFIX[1:]:
    return base
  return base + (sep + mode if sep else '')


def parse_key(name) -> Key:
  """Returns the Key named `name` ('C', 'C#', 'Db', 'G', 'A_minor', ...).

  A `Key` is returned unchanged, so callers may pass either.

  Raises:
    ValueError: for an unknown name, listing the valid ones.
  """
  if isinstance(name, Key):
    return name
  if not isinstance(name, str):
    raise ValueError('key must be a key name string, got %r' % (name,))
  canonical = _canonical(name)
  minor = canonical.endswith(MINOR_SUFFIX)
  tonic_name = canonical[:-len(MINOR_SUFFIX)] if minor else canonical
  if tonic_name not in TONIC_PITCH_CLASSES:
    raise ValueError('unknown key %r; valid keys: %s' % (name, ', '.join(KEY_NAMES)))
  pitch_class = TONIC_PITCH_CLASSES[tonic_name]
  degrees = NATURAL_MINOR_DEGREES if minor else MAJOR_DEGREES
  third = MINOR_THIRD_SEMITONES if minor else MAJOR_THIRD_SEMITONES
  relative = (pitch_class_of_index(_PITCH_INDICES) - pitch_class) % OCTAVE_SEMITONES
  in_key = np.zeros(encoding.NUM_CLASSES, dtype=bool)
  in_key[encoding.NO_EVENT_INDEX] = True
  in_key[encoding.NOTE_OFF_INDEX] = True
  in_key[_PITCH_INDICES[np.isin(relative, degrees)]] = True
  in_key.setflags(write=False)
  tonic_index = encoding.C_MAJOR_TONIC_INDEX + pitch_class
  scale = tuple(int(i) for i in _PITCH_INDICES
                if in_key[i] and abs(i - tonic_index) <= OCTAVE_SEMITONES)
  return Key(
      name=canonical,
      tonic_pitch_class=pitch_class,
      minor=minor,
      degrees=degrees,
      third_semitones=third,
      tonic_index=tonic_index,
      in_key=in_key,
      tonic_indices=_PITCH_INDICES[relative == 0],
      third_indices=_PITCH_INDICES[relative == third],
      fifth_indices=_PITCH_INDICES[relative == FIFTH_SEMITONES],
      scale=scale)


C_MAJOR = parse_key('C')
