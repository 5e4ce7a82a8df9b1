"""In-graph input encoders: the class of the previous event in, the network's input vector out.

Magenta's generator encodes a melody's input features in Python, re-reading the whole event
list at every step. Here each encoder keeps what its features need in a small state of int32
tensors, so one step is a handful of vectorised ops inside a ``tf.function`` or
``tf.while_loop``:

* ``OneHotEncoder`` (basic_rnn, mono_rnn): the one-hot of the event; no state.
* ``LookbackEncoder`` (lookback_rnn): the event's one-hot, the one-hots of the events that
  followed 16 and 32 steps back (what a repeat would play next), a 5-bit metric counter
  (+1/-1) of the next step, and whether the event repeats the one 16 / 32 steps back.
* ``KeyEncoder`` (attention_rnn): the sounding pitch (or silence), attack, melodic
  direction, the two repeat bits, a 7-bit counter, start of bar, and the major keys that fit
  the melody so far and its last three distinct pitches best (every tied key is 1).

State: ``events`` [B, 33] the last 33 events, oldest first (``BEFORE_START`` where the melody
has not reached yet), ``position`` [B] the number of events so far; the key encoder adds the
sounding pitch (-1: none), attack flag, direction (+1, -1, 0 unknown), the last three distinct
pitches (-1 padded, oldest first) and the pitch-class counts. ``encode`` first turns the class
into its event (a repeat label takes the event 16 or 32 steps back, a hold before the start),
appends it, and computes the features at the new position; it returns that event too, so
callers get decoded melody events for free. ``note_rnn.melody_configs`` has the numpy
reference of the class layouts, and the tests check these features against the inputs of
Magenta's own datasets.
"""

import numpy as np
import tensorflow as tf

from note_rnn import melody_configs as mc

BEFORE_START = mc.MELODY_NO_EVENT - 1
HISTORY = mc.LOOKBACK_DISTANCES[-1] + 1


def _bits(n, num_bits: int):
  """Magenta's binary counter: bit i of ``n`` as +1.0 / -1.0, [B, num_bits]."""
  bits = tf.bitwise.bitwise_and(tf.bitwise.right_shift(n[:, None], tf.range(num_bits)), 1)
  return tf.cast(2 * bits - 1, tf.float32)


class OneHotEncoder:
  """basic_rnn / mono_rnn: the event's one-hot, which is the one-hot of its class."""

  def __init__(self, config: mc.MelodyConfig):
    self.config = config

  def initial_state(self, batch_size) -> dict:
    del batch_size
    return {}

  def state_spec(self) -> dict:
    return {}

  def class_events(self, classes):
    """Events of the classes (no repeat labels in this layout)."""
    c = tf.cast(classes, tf.int32)
    return tf.where(c < 2, c - 2, c - 2 + self.config.min_note)

  def encode(self, classes, state: dict):
    """Returns (events [B], inputs [B, input_size], new state)."""
    classes = tf.cast(classes, tf.int32)
    return (self.class_events(classes), tf.one_hot(classes, self.config.num_classes),
            state)


class LookbackEncoder:
  """lookback_rnn's ``LookbackEventSequenceEncoderDecoder`` features (121 inputs)."""

  def __init__(self, config: mc.MelodyConfig):
    self.config = config
    self._first_repeat = config.num_classes - len(mc.LOOKBACK_DISTANCES)

  def initial_state(self, batch_size) -> dict:
    return {'events': tf.fill([batch_size, HISTORY], tf.constant(BEFORE_START, tf.int32)),
            'position': tf.zeros([batch_size], tf.int32)}

  def state_spec(self) -> dict:
    return {'events': tf.TensorSpec([HISTORY], tf.int32),
            'position': tf.TensorSpec([], tf.int32)}

  def _base_events(self, classes):
    return tf.where(classes < 2, classes - 2, classes - 2 + self.config.min_note)

  def _one_hot_class(self, events):
    events = tf.where(events == BEFORE_START, mc.MELODY_NO_EVENT, events)
    classes = tf.where(events < 0, events + 2, events - self.config.min_note + 2)
    return tf.one_hot(classes, self._first_repeat)

  def _append(self, classes, state: dict):
    """Resolves the class against the history; returns (event, events, position)."""
    history = state['events']
    event = self._base_events(tf.minimum(classes, self._first_repeat - 1))
    for i, distance in enumerate(mc.LOOKBACK_DISTANCES):
      back = history[:, -distance]
      back = tf.where(back == BEFORE_START, mc.MELODY_NO_EVENT, back)
      event = tf.where(classes == self._first_repeat + i, back, event)
    events = tf.concat([history[:, 1:], event[:, None]], axis=1)
    return event, events, state['position'] + 1

  def _repeat_bits(self, events):
    """Whether the newest event equals the one 16 / 32 steps before it, [B, 2]."""
    return tf.stack([tf.cast(events[:, -1 - d] == events[:, -1], tf.float32)
                     for d in mc.LOOKBACK_DISTANCES], axis=1)

  def encode(self, classes, state: dict):
    """Returns (events [B], inputs [B, 121], new state)."""
    classes = tf.cast(classes, tf.int32)
    event, events, position = self._append(classes, state)
    parts = [self._one_hot_class(event)]
    parts += [self._one_hot_class(events[:, -d]) for d in mc.LOOKBACK_DISTANCES]
    parts += [_bits(position, self.config.binary_counter_bits), self._repeat_bits(events)]
    return event, tf.concat(parts, axis=1), {'events': events, 'position': position}


class KeyEncoder(LookbackEncoder):
  """attention_rnn's ``KeyMelodyEncoderDecoder`` features (74 inputs)."""

  def __init__(self, config: mc.MelodyConfig):
    super().__init__(config)
    self._keys = tf.constant(mc.key_histogram_matrix(), tf.int32)

  def initial_state(self, batch_size) -> dict:
    state = super().initial_state(batch_size)
    zeros = tf.zeros([batch_size], tf.int32)
    state.update({'note': zeros - 1, 'attack': zeros, 'direction': zeros,
                  'last_notes': tf.fill([batch_size, 3], -1),
                  'pitch_counts': tf.zeros([batch_size, mc.NOTES_PER_OCTAVE], tf.int32)})
    return state

  def state_spec(self) -> dict:
    spec = super().state_spec()
    scalar = tf.TensorSpec([], tf.int32)
    spec.update({'note': scalar, 'attack': scalar, 'direction': scalar,
                 'last_notes': tf.TensorSpec([3], tf.int32),
                 'pitch_counts': tf.TensorSpec([mc.NOTES_PER_OCTAVE], tf.int32)})
    return spec

  def _base_events(self, classes):
    r = self.config.note_range
    return tf.where(classes < r, classes + self.config.min_note,
                    tf.where(classes == r, mc.MELODY_NO_EVENT, mc.MELODY_NOTE_OFF))

  def _best_keys(self, pitch_class_counts):
    """1.0 for every major key that holds the most of the counted notes, [B, 12]."""
    fits = tf.matmul(pitch_class_counts, self._keys)
    return tf.cast(fits == tf.reduce_max(fits, axis=1, keepdims=True), tf.float32)

  @staticmethod
  def _push_note(last_notes, event, is_pitch):
    """Moves ``event`` to the end of the distinct-pitch queue (3 long, oldest first)."""
    candidates = tf.concat([last_notes, event[:, None]], axis=1)
    keep = tf.concat([last_notes != event[:, None], tf.ones_like(event[:, None], tf.bool)], 1)
    order = tf.argsort(tf.cast(keep, tf.int32), axis=1, stable=True)
    pushed = tf.gather(tf.where(keep, candidates, -1), order, batch_dims=1)[:, 1:]
    return tf.where(is_pitch[:, None], pushed, last_notes)

  def _note_state(self, event, state: dict) -> dict:
    """The sounding note, attack, direction, pitch queue and counts after ``event``."""
    is_pitch = event >= 0
    previous = state['last_notes'][:, -1]
    direction = tf.where(is_pitch & (previous >= 0) & (event > previous), 1,
                         tf.where(is_pitch & (previous >= 0) & (event < previous), -1,
                                  state['direction']))
    pitch_class = tf.math.floormod(event, mc.NOTES_PER_OCTAVE)
    counts = state['pitch_counts'] + tf.one_hot(
        pitch_class, mc.NOTES_PER_OCTAVE, dtype=tf.int32) * tf.cast(is_pitch, tf.int32)[:, None]
    return {
        'note': tf.where(is_pitch, event, tf.where(event == mc.MELODY_NOTE_OFF, -1,
                                                   state['note'])),
        'attack': tf.where(is_pitch, 1, tf.where(event == mc.MELODY_NO_EVENT, 0,
                                                 state['attack'])),
        'direction': direction,
        'last_notes': self._push_note(state['last_notes'], event, is_pitch),
        'pitch_counts': counts,
    }

  def encode(self, classes, state: dict):
    """Returns (events [B], inputs [B, 74], new state)."""
    classes = tf.cast(classes, tf.int32)
    event, events, position = self._append(classes, state)
    new = self._note_state(event, state)
    sounding = new['note'] > 0  # Magenta tests `if current_note:`
    pitch = tf.one_hot(new['note'] - self.config.min_note, self.config.note_range)
    pitch *= tf.cast(sounding, tf.float32)[:, None]
    last = new['last_notes']
    last_counts = tf.reduce_sum(
        tf.one_hot(tf.math.floormod(last, mc.NOTES_PER_OCTAVE), mc.NOTES_PER_OCTAVE,
                   dtype=tf.int32) * tf.cast(last >= 0, tf.int32)[..., None], axis=1)
    bar_start = tf.math.floormod(position, mc.STEPS_PER_BAR) == 0
    parts = [
        pitch, tf.cast(tf.stack([sounding, ~sounding], axis=1), tf.float32),
        tf.cast(new['attack'], tf.float32)[:, None],
        tf.cast(new['direction'], tf.float32)[:, None],
        self._repeat_bits(events), _bits(position, self.config.binary_counter_bits),
        tf.cast(bar_start, tf.float32)[:, None],
        self._best_keys(new['pitch_counts']), self._best_keys(last_counts),
    ]
    new.update({'events': events, 'position': position})
    return event, tf.concat(parts, axis=1), new


def for_config(config: mc.MelodyConfig):
  """The encoder of a melody config."""
  return {'one_hot': OneHotEncoder, 'lookback': LookbackEncoder,
          'key': KeyEncoder}[config.encoder](config)


def _sequence_encoder(encoder):
  """A compiled loop of ``encoder.encode`` over [B, T] classes (one trace per encoder)."""
  fn = getattr(encoder, '_sequence_fn', None)
  if fn is not None:
    return fn

  @tf.function(input_signature=(tf.TensorSpec([None, None], tf.int32),))
  def run(classes):
    steps = tf.shape(classes)[1]
    state = encoder.initial_state(tf.shape(classes)[0])
    events = tf.TensorArray(tf.int32, size=steps)
    inputs = tf.TensorArray(tf.float32, size=steps)
    for t in tf.range(steps):
      event, x, state = encoder.encode(classes[:, t], state)
      events = events.write(t, event)
      inputs = inputs.write(t, x)
    return (tf.transpose(events.stack()),
            tf.reshape(tf.transpose(inputs.stack(), [1, 0, 2]),
                       [tf.shape(classes)[0], steps, encoder.config.input_size]))

  encoder._sequence_fn = run  # pylint: disable=protected-access
  return run


def encode_sequence(encoder, classes: np.ndarray) -> tuple:
  """Runs ``encoder`` over class sequences [B, T] from its initial state (compiled once per
  encoder): returns numpy (events [B, T], inputs [B, T, input_size])."""
  classes = np.asarray(classes, np.int32)
  if classes.ndim != 2:
    raise ValueError('classes must be [batch, steps], got shape %s' % (classes.shape,))
  if classes.shape[1] == 0:
    return (np.zeros(classes.shape, np.int32),
            np.zeros(classes.shape + (encoder.config.input_size,), np.float32))
  events, inputs = _sequence_encoder(encoder)(tf.constant(classes))
  return events.numpy(), inputs.numpy()
