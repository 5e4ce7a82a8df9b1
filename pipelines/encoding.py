"""Melody encoding constants: the 38-class basic layout, and every melody_rnn config.

Magenta's basic_rnn (``MelodyOneHotEncoding(min_note=48, max_note=84)``) and the
RL Tuner's Note RNN use the same layout:

  index 0        NO_EVENT: hold the sounding note, or continue a rest (Melody event -2)
  index 1        NOTE_OFF: end the sounding note (Melody event -1)
  index k >= 2   note-on at MIDI pitch ``k + 46`` (48 = C3 ... 83 = B5)

Every other module imports these names instead of writing the numbers.

The second half (``CONFIG_ENCODINGS``) holds the fixed numbers of each of
Magenta's melody_rnn configs (``basic_rnn``, ``mono_rnn``, ``lookback_rnn``,
``attention_rnn``): pitch range, transposition, and the sizes of their input
vectors and class sets. ``pipelines.melody_encodings`` computes the encodings
themselves from these.
"""

import dataclasses
from typing import Optional, Tuple

import numpy as np

MIN_MIDI_PITCH = 48  # inclusive
MAX_MIDI_PITCH = 84  # exclusive
NUM_CLASSES = 38

NO_EVENT_INDEX = 0
NOTE_OFF_INDEX = 1
FIRST_PITCH_INDEX = 2
PITCH_INDEX_OFFSET = MIN_MIDI_PITCH - FIRST_PITCH_INDEX  # 46: MIDI = index + 46

MELODY_NO_EVENT = -2  # note_seq.melodies_lib.MELODY_NO_EVENT
MELODY_NOTE_OFF = -1  # note_seq.melodies_lib.MELODY_NOTE_OFF

STEPS_PER_QUARTER = 4  # one step is a sixteenth note

C_MAJOR_TONIC_PITCH = 60
C_MAJOR_TONIC_INDEX = C_MAJOR_TONIC_PITCH - PITCH_INDEX_OFFSET  # 14


def pitch_to_index(pitch):
  """MIDI pitch (scalar or array) in [48, 84) -> class index."""
  pitch = np.asarray(pitch)
  if np.any((pitch < MIN_MIDI_PITCH) | (pitch >= MAX_MIDI_PITCH)):
    raise ValueError('pitch outside [%d, %d): %s' %
                     (MIN_MIDI_PITCH, MAX_MIDI_PITCH, pitch))
  return pitch - PITCH_INDEX_OFFSET


def event_to_index(events):
  """Melody events (-2, -1 or MIDI pitch) -> class indices, elementwise."""
  events = np.asarray(events, dtype=np.int64)
  out = np.empty_like(events)
  out[events == MELODY_NO_EVENT] = NO_EVENT_INDEX
  out[events == MELODY_NOTE_OFF] = NOTE_OFF_INDEX
  pitched = events >= 0
  out[pitched] = pitch_to_index(events[pitched])
  bad = (events < 0) & (events != MELODY_NO_EVENT) & (events != MELODY_NOTE_OFF)
  if np.any(bad):
    raise ValueError('not a melody event: %s' % events[bad])
  return out


def index_to_event(indices):
  """Class indices -> Melody events (-2, -1 or MIDI pitch), elementwise."""
  indices = np.asarray(indices, dtype=np.int64)
  if np.any((indices < 0) | (indices >= NUM_CLASSES)):
    raise ValueError('class index outside [0, %d): %s' % (NUM_CLASSES, indices))
  out = indices + PITCH_INDEX_OFFSET
  out[indices == NO_EVENT_INDEX] = MELODY_NO_EVENT
  out[indices == NOTE_OFF_INDEX] = MELODY_NOTE_OFF
  return out


def one_hot(indices):
  """Class indices [...] -> float32 one-hot [..., 38]."""
  return np.eye(NUM_CLASSES, dtype=np.float32)[np.asarray(indices)]


# ---------------------------------------------------------------------------
# Every melody_rnn config. The numbers are Magenta's (note-seq's
# MelodyOneHotEncoding, LookbackEventSequenceEncoderDecoder and
# KeyMelodyEncoderDecoder with their defaults, and melody_rnn_model's configs).

NOTES_PER_OCTAVE = 12
MAJOR_SCALE_DEGREES = (0, 2, 4, 5, 7, 9, 11)  # semitones above the tonic
NUM_SPECIAL_EVENTS = 2  # NO_EVENT and NOTE_OFF

# The lookback and key encoders count bars of 16 steps (4/4 at 4 steps per
# quarter) whatever the melody's own meter, as note-seq does.
ENCODER_STEPS_PER_BAR = 16
# How far back (in steps) the repeat features and labels look: one, two bars.
LOOKBACK_DISTANCES = (ENCODER_STEPS_PER_BAR, 2 * ENCODER_STEPS_PER_BAR)
LOOKBACK_COUNTER_BITS = 5  # lookback_rnn: bits of the step counter
KEY_COUNTER_BITS = 7  # attention_rnn: bits of the step counter
KEY_RECENT_NOTES = 3  # attention_rnn: the "recent key" looks at this many notes

ONE_HOT = 'one_hot'  # note-seq's OneHotEventSequenceEncoderDecoder
LOOKBACK = 'lookback'  # note-seq's LookbackEventSequenceEncoderDecoder
KEY = 'key'  # note-seq's KeyMelodyEncoderDecoder


@dataclasses.dataclass(frozen=True)
class ConfigEncoding:
  """The fixed numbers of one melody_rnn config's encoding.

  Attributes:
    name: Magenta's config name (``--config``).
    encoder: ONE_HOT, LOOKBACK or KEY.
    min_note: lowest MIDI pitch encoded (inclusive).
    max_note: highest MIDI pitch encoded (exclusive).
    transpose_to_key: the major key (0 = C) melodies are moved into before
      encoding, or None to keep their pitches (``Melody.squash``).
    counter_bits: bits of the binary step counter in the inputs (0: none).
    lookback_distances: the repeat distances (empty for ONE_HOT).
  """
  name: str
  encoder: str
  min_note: int
  max_note: int
  transpose_to_key: Optional[int]
  counter_bits: int = 0
  lookback_distances: Tuple[int, ...] = ()

  @property
  def note_range(self) -> int:
    return self.max_note - self.min_note

  @property
  def num_event_classes(self) -> int:
    """Size of the plain event one-hot (NO_EVENT, NOTE_OFF, the pitches)."""
    return self.note_range + NUM_SPECIAL_EVENTS

  @property
  def num_classes(self) -> int:
    """Label classes: the events plus one repeat label per lookback distance."""
    return self.num_event_classes + len(self.lookback_distances)

  @property
  def first_repeat_label(self) -> int:
    """Label of "repeat the event lookback_distances[0] steps back"; the next
    distances follow it. Both lookback and key encoders put them last."""
    return self.num_event_classes

  @property
  def no_event_label(self) -> int:
    """The label of a plain NO_EVENT (Magenta's ``default_event_label``)."""
    return self.note_range if self.encoder == KEY else NO_EVENT_INDEX

  @property
  def note_off_label(self) -> int:
    return self.note_range + 1 if self.encoder == KEY else NOTE_OFF_INDEX

  @property
  def input_size(self) -> int:
    num_lookbacks = len(self.lookback_distances)
    if self.encoder == ONE_HOT:
      return self.num_event_classes
    if self.encoder == LOOKBACK:
      # current event, the event after each lookback, counter, repeat flags
      return (self.num_event_classes * (1 + num_lookbacks) +
              self.counter_bits + num_lookbacks)
    # current pitch, note/silence, attack, ascending, repeat flags, counter,
    # bar start, key of all notes so far, key of the recent notes
    return (self.note_range + 2 + 1 + 1 + num_lookbacks + self.counter_bits +
            1 + NOTES_PER_OCTAVE + NOTES_PER_OCTAVE)


CONFIG_ENCODINGS = {
    'basic_rnn': ConfigEncoding('basic_rnn', ONE_HOT, MIN_MIDI_PITCH,
                                MAX_MIDI_PITCH, transpose_to_key=0),
    'mono_rnn': ConfigEncoding('mono_rnn', ONE_HOT, 0, 128,
                               transpose_to_key=None),
    'lookback_rnn': ConfigEncoding(
        'lookback_rnn', LOOKBACK, MIN_MIDI_PITCH, MAX_MIDI_PITCH,
        transpose_to_key=0, counter_bits=LOOKBACK_COUNTER_BITS,
        lookback_distances=LOOKBACK_DISTANCES),
    'attention_rnn': ConfigEncoding(
        'attention_rnn', KEY, MIN_MIDI_PITCH, MAX_MIDI_PITCH,
        transpose_to_key=0, counter_bits=KEY_COUNTER_BITS,
        lookback_distances=LOOKBACK_DISTANCES),
}
CONFIG_NAMES = tuple(CONFIG_ENCODINGS)


def config_encoding(name: str) -> ConfigEncoding:
  """The ConfigEncoding of a melody_rnn config name.

  Raises:
    ValueError: an unknown name (the message lists the valid ones).
  """
  if name not in CONFIG_ENCODINGS:
    raise ValueError('unknown melody_rnn config %r; valid: %s'
                     % (name, ', '.join(CONFIG_NAMES)))
  return CONFIG_ENCODINGS[name]
