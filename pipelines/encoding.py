"""The 38-class melody encoding shared by every stage.

Magenta's basic_rnn (``MelodyOneHotEncoding(min_note=48, max_note=84)``) and the
RL Tuner's Note RNN use the same layout:

  index 0        NO_EVENT: hold the sounding note, or continue a rest (Melody event -2)
  index 1        NOTE_OFF: end the sounding note (Melody event -1)
  index k >= 2   note-on at MIDI pitch ``k + 46`` (48 = C3 ... 83 = B5)

Every other module imports these names instead of writing the numbers.
"""

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
