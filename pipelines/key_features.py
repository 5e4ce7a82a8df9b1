"""attention_rnn's key-aware input features (note-seq's KeyMelodyEncoderDecoder).

Row p of ``key_melody_inputs`` describes the melody after event p, for a
config with pitches [min_note, max_note) (36 wide for attention_rnn) and two
lookbacks; the 74 columns of attention_rnn are:

  [0, 36)   the sounding pitch (none after a NOTE_OFF or before any note)
  36, 37    a note is sounding / silence
  38        "attack": the last event that is not a NOTE_OFF is a note-on
            (note-seq's state machine: a NOTE_OFF leaves the flag as it was)
  39        +1 ascending / -1 descending: the sign of the last note-on that
            differed from the note-on before it; 0 before any such pair
  40, 41    event p repeats event p - 16 / p - 32
  [42, 49)  bits of p + 1, as +1 / -1
  49        p + 1 is a multiple of 16 (the next event starts a 4/4 bar)
  [50, 62)  major keys (C = 0 ... B = 11) holding the most note-ons so far
  [62, 74)  the same over the recent notes: the last 3 distinct pitches
            played (replaying a pitch moves it to the most recent place)

A key column is 1 for every key tied at the maximum, so all twelve are 1
before the first note. Everything is computed in O(T) from the events.
"""

import collections

import numpy as np

from pipelines import encoding

_KEY_OF_PITCH_CLASS = np.array(
    [[(pc - key) % encoding.NOTES_PER_OCTAVE in encoding.MAJOR_SCALE_DEGREES
      for key in range(encoding.NOTES_PER_OCTAVE)]
     for pc in range(encoding.NOTES_PER_OCTAVE)], dtype=np.int64)


def _last_index(mask: np.ndarray) -> np.ndarray:
  """For each p, the largest q <= p with mask[q], or -1."""
  return np.maximum.accumulate(np.where(mask, np.arange(len(mask)), -1))


def _sounding_pitch(events: np.ndarray) -> np.ndarray:
  """The pitch sounding after event p, or -1 (silence)."""
  last = _last_index(events != encoding.MELODY_NO_EVENT)
  held = np.where(last >= 0, events[np.maximum(last, 0)], -1)
  return np.where(held >= 0, held, -1)


def _is_attack(events: np.ndarray) -> np.ndarray:
  last = _last_index(events != encoding.MELODY_NOTE_OFF)
  return (last >= 0) & (events[np.maximum(last, 0)] >= 0)


def _direction(events: np.ndarray) -> np.ndarray:
  """+1 / -1 / 0 after event p (see the module doc, column 39)."""
  onsets = np.flatnonzero(events >= 0)
  signs = np.sign(np.diff(events[onsets]))
  changes = onsets[1:][signs != 0]
  out = np.zeros(len(events), dtype=np.int64)
  out[changes] = signs[signs != 0]
  last = _last_index(out != 0)
  return np.where(last >= 0, out[np.maximum(last, 0)], 0)


def _top_keys(pitch_class_counts: np.ndarray) -> np.ndarray:
  """[T, 12] note-on counts per pitch class -> 1.0 where a key is tied top."""
  keys = pitch_class_counts @ _KEY_OF_PITCH_CLASS
  return (keys == keys.max(axis=1, keepdims=True)).astype(np.float32)


def _recent_pitch_class_counts(events: np.ndarray) -> np.ndarray:
  """[T, 12]: pitch classes of the last KEY_RECENT_NOTES distinct pitches."""
  onsets = np.flatnonzero(events >= 0)
  at_onset = np.zeros((len(onsets) + 1, encoding.NOTES_PER_OCTAVE),
                      dtype=np.int64)  # row 0: before the first note
  recent = collections.deque(maxlen=encoding.KEY_RECENT_NOTES)
  for k, pitch in enumerate(events[onsets].tolist(), start=1):
    if pitch in recent:
      recent.remove(pitch)
    recent.append(pitch)
    for held in recent:
      at_onset[k, held % encoding.NOTES_PER_OCTAVE] += 1
  onsets_so_far = np.cumsum(events >= 0)
  return at_onset[onsets_so_far]


def _all_pitch_class_counts(events: np.ndarray) -> np.ndarray:
  """[T, 12]: note-ons so far per pitch class."""
  onsets = np.zeros((len(events), encoding.NOTES_PER_OCTAVE), dtype=np.int64)
  played = np.flatnonzero(events >= 0)
  onsets[played, events[played] % encoding.NOTES_PER_OCTAVE] = 1
  return np.cumsum(onsets, axis=0)


def key_melody_inputs(events: np.ndarray, config: encoding.ConfigEncoding,
                      repeats: np.ndarray, counter: np.ndarray) -> np.ndarray:
  """float32 [T, config.input_size] key features of checked `events`.

  Args:
    events: int64 [T] melody events within the config's pitch range.
    config: a KEY ConfigEncoding.
    repeats: bool [T, num_lookbacks], ``melody_encodings.repeat_flags``.
    counter: float32 [T, counter_bits], ``melody_encodings.step_counter``.
  """
  steps = len(events)
  pitch = _sounding_pitch(events)
  sounding = pitch >= 0
  pitch_one_hot = np.zeros((steps, config.note_range), dtype=np.float32)
  pitch_one_hot[np.flatnonzero(sounding), pitch[sounding] - config.min_note] = 1
  bar_start = (np.arange(1, steps + 1) % encoding.ENCODER_STEPS_PER_BAR) == 0
  columns = [
      pitch_one_hot,
      sounding[:, None], ~sounding[:, None],
      _is_attack(events)[:, None],
      _direction(events)[:, None],
      repeats,
      counter,
      bar_start[:, None],
      _top_keys(_all_pitch_class_counts(events)),
      _top_keys(_recent_pitch_class_counts(events)),
  ]
  out = np.concatenate([c.astype(np.float32) for c in columns], axis=1)
  assert out.shape[1] == config.input_size, (out.shape, config.input_size)
  return out
