"""Magenta's four melody_rnn configs: their encodings, class layouts and defaults.

Every config is an LSTM stack over the melody's event history; they differ in what the network
sees at each step (the input features) and in what it predicts (the classes):

=============  =========  =======  ======================================================
config         inputs     classes  class layout (event: -2 hold, -1 note-off, MIDI pitch)
=============  =========  =======  ======================================================
basic_rnn      38         38       0 hold, 1 note-off, k -> pitch k + 46 (pitches 48..83)
mono_rnn       130        130      0 hold, 1 note-off, k -> pitch k - 2 (pitches 0..127)
lookback_rnn   121        40       basic_rnn's 38, then 38 = the event 16 steps back,
                                   39 = the event 32 steps back
attention_rnn  74         40       k < 36 -> pitch 48 + k, 36 hold, 37 note-off,
                                   38 / 39 = the event 16 / 32 steps back
=============  =========  =======  ======================================================

A repeat label wins over the event's own class (the 32-step one first), and a hold in the
first 32 steps is labelled 39 (Magenta's ``events_to_label``). A repeat label whose distance
reaches before the melody's start decodes to a hold.

The encoding numbers come from ``pipelines.encoding`` (the datasets' encoders live in
``pipelines.melody_encodings``, per melody); the functions here are their batch-vectorised
numpy counterparts for models and RL code, the reference the in-graph encoders
(``note_rnn.features``) are tested against, and what callers use to turn classes back into
melody events. Tests check all three against each other and against Magenta.
"""

import dataclasses
from typing import Optional

import numpy as np

from pipelines import encoding

MELODY_NO_EVENT = encoding.MELODY_NO_EVENT
MELODY_NOTE_OFF = encoding.MELODY_NOTE_OFF
LOOKBACK_DISTANCES = encoding.LOOKBACK_DISTANCES
STEPS_PER_BAR = encoding.ENCODER_STEPS_PER_BAR
NOTES_PER_OCTAVE = encoding.NOTES_PER_OCTAVE
MAJOR_SCALE = encoding.MAJOR_SCALE_DEGREES


@dataclasses.dataclass(frozen=True)
class MelodyConfig:
  """One melody_rnn config (Magenta's ``melody_rnn_model.default_configs`` entry).

  Attributes:
    name: Magenta's config name, also the bundle's generator id.
    encoder: 'one_hot', 'lookback' or 'key' (Magenta's KeyMelodyEncoderDecoder).
    min_note, max_note: the pitch range [min_note, max_note) of the encoding.
    transpose_to_key: the key a primer is squashed into before generation (None: none).
    input_size: the input feature vector's width.
    num_classes: the number of output classes.
    no_event_label: the class of a hold (Magenta's ``default_event_label``).
    binary_counter_bits: the metric counter's width (lookback and key encoders).
    rnn_layer_sizes, clip_norm, attn_length: Magenta's default hparams.
    description: the generator description Magenta's bundles carry.
  """
  name: str
  encoder: str
  min_note: int
  max_note: int
  transpose_to_key: Optional[int]
  input_size: int
  num_classes: int
  no_event_label: int
  binary_counter_bits: int
  clip_norm: float
  attn_length: int
  description: str
  rnn_layer_sizes: tuple = (128, 128)

  @property
  def note_range(self) -> int:
    return self.max_note - self.min_note

  @property
  def has_repeat_labels(self) -> bool:
    return self.encoder in ('lookback', 'key')


# Magenta's default hparams and generator description per config (the encoding numbers come
# from pipelines.encoding, the one home of encoding constants).
_MODEL_DEFAULTS = {
    'basic_rnn': (5.0, 0, 'Melody RNN with one-hot encoding.'),
    'mono_rnn': (5.0, 0, 'Monophonic RNN with one-hot encoding.'),
    'lookback_rnn': (5.0, 0, 'Melody RNN with lookback encoding.'),
    'attention_rnn': (3.0, 40, 'Melody RNN with lookback encoding and attention.'),
}


def _config(name: str) -> MelodyConfig:
  e = encoding.config_encoding(name)
  clip_norm, attn_length, description = _MODEL_DEFAULTS[name]
  return MelodyConfig(name, e.encoder, e.min_note, e.max_note, e.transpose_to_key,
                      e.input_size, e.num_classes, e.no_event_label, e.counter_bits,
                      clip_norm, attn_length, description)


CONFIGS = {name: _config(name) for name in _MODEL_DEFAULTS}


def get(name: str) -> MelodyConfig:
  """The config ``name``; unknown names list the valid ones."""
  if name not in CONFIGS:
    raise ValueError('unknown melody_rnn config %r; valid: %s' % (name, ', '.join(CONFIGS)))
  return CONFIGS[name]


def base_classes(config: MelodyConfig, events: np.ndarray) -> np.ndarray:
  """Each event's own class, ignoring repeat labels (pitches must lie in the range)."""
  events = np.asarray(events, np.int64)
  pitch = events - config.min_note
  if config.encoder == 'key':
    special = np.where(events == MELODY_NO_EVENT, config.note_range, config.note_range + 1)
    out = np.where(events < 0, special, pitch)
  else:
    out = np.where(events < 0, events + 2, pitch + 2)
  bad = (events >= 0) & ((pitch < 0) | (pitch >= config.note_range))
  bad |= events < MELODY_NO_EVENT
  if np.any(bad):
    raise ValueError('%s: melody event %d is not a hold, a note-off or a pitch in [%d, %d)'
                     % (config.name, events[bad][0], config.min_note, config.max_note))
  return out


def base_events(config: MelodyConfig, classes: np.ndarray) -> np.ndarray:
  """The events of classes below the repeat labels (the inverse of ``base_classes``)."""
  classes = np.asarray(classes, np.int64)
  if config.encoder == 'key':
    return np.where(classes < config.note_range, classes + config.min_note,
                    np.where(classes == config.note_range, MELODY_NO_EVENT, MELODY_NOTE_OFF))
  return np.where(classes < 2, classes - 2, classes - 2 + config.min_note)


def _history(history, batch: int) -> np.ndarray:
  if history is None:
    return np.zeros([batch, 0], np.int64)
  history = np.asarray(history, np.int64)
  if history.ndim != 2 or history.shape[0] != batch:
    raise ValueError('history must be [batch=%d, steps] melody events, got shape %s'
                     % (batch, history.shape))
  return history


def classes_from_events(config: MelodyConfig, events,
                        history: Optional[np.ndarray] = None) -> np.ndarray:
  """Melody events [B, T] -> the class of each event (Magenta's ``events_to_label``).

  ``history`` [B, H] holds the events before ``events`` (their positions count from its
  start); repeat labels may point into it.
  """
  events = np.asarray(events, np.int64)
  if events.ndim != 2:
    raise ValueError('events must be [batch, steps], got shape %s' % (events.shape,))
  history = _history(history, events.shape[0])
  out = base_classes(config, events)
  if not config.has_repeat_labels:
    return out
  full = np.concatenate([history, events], axis=1)
  offset = history.shape[1]
  positions = np.arange(offset, full.shape[1])
  for i, distance in enumerate(LOOKBACK_DISTANCES):  # the longer distance wins: applied last
    back = np.full_like(events, MELODY_NO_EVENT - 1)
    ok = positions >= distance
    back[:, ok] = full[:, positions[ok] - distance]
    out = np.where(back == events, config.num_classes - len(LOOKBACK_DISTANCES) + i, out)
  early_hold = (positions < LOOKBACK_DISTANCES[-1])[None] & (events == MELODY_NO_EVENT)
  return np.where(early_hold, config.num_classes - 1, out)


def events_from_classes(config: MelodyConfig, classes,
                        history: Optional[np.ndarray] = None) -> np.ndarray:
  """Classes [B, T] -> melody events [B, T], repeat labels resolved against what came before.

  ``history`` [B, H] holds the events before ``classes`` (repeat labels may point into it).
  """
  classes = np.asarray(classes, np.int64)
  if classes.ndim != 2:
    raise ValueError('classes must be [batch, steps], got shape %s' % (classes.shape,))
  if np.any((classes < 0) | (classes >= config.num_classes)):
    raise ValueError('%s: class index outside [0, %d)' % (config.name, config.num_classes))
  history = _history(history, classes.shape[0])
  if not config.has_repeat_labels:
    return base_events(config, classes)
  first_repeat = config.num_classes - len(LOOKBACK_DISTANCES)
  full = np.concatenate([history, np.zeros_like(classes)], axis=1)
  offset = history.shape[1]
  plain = base_events(config, np.minimum(classes, first_repeat - 1))
  for t in range(classes.shape[1]):
    event = plain[:, t]
    for i, distance in enumerate(LOOKBACK_DISTANCES):
      back = full[:, offset + t - distance] if offset + t >= distance else MELODY_NO_EVENT
      event = np.where(classes[:, t] == first_repeat + i, back, event)
    full[:, offset + t] = event
  return full[:, offset:]


def key_histogram_matrix() -> np.ndarray:
  """[12 pitch classes, 12 major keys]: 1 where the key's scale holds the pitch class."""
  pc = np.arange(NOTES_PER_OCTAVE)
  return np.isin((pc[:, None] - pc[None, :]) % NOTES_PER_OCTAVE, MAJOR_SCALE).astype(np.int32)


def squash_range(config: MelodyConfig) -> tuple:
  """(min_note, max_note, transpose_to_key) for ``note_seq.Melody.squash``."""
  return config.min_note, config.max_note, config.transpose_to_key
