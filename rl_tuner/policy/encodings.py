"""Any melody_rnn config's classes <-> the rules' 38-class representation, in one place.

The RL Tuner acts in the tuned model's own classes (basic_rnn 38, mono_rnn 130, lookback_rnn
and attention_rnn 40 with two repeat labels); the music-theory rules and statistics of
``rl_tuner.music`` read the basic 38-class indices (0 hold, 1 note-off, k >= 2 = MIDI k + 46).
Everything that crosses between the two goes through here:

* ``rule_classes(model, classes, history)``: the model's classes [B, T] -> Magenta melody
  events (repeat labels resolved against ``history`` [B, H], the events before, and each
  other: ``model.events_from_classes``) -> 38-class indices. A repeat label means the event
  16 / 32 steps back in the whole sequence, primer included, so callers pass the primer's
  events as ``history`` (or the whole prefix, as ``composition_events`` does); the RL
  collector decodes in its graph instead (``rl.collect.Episodes.events``, from the prior's
  state) and hands the events to ``events_to_rule_classes``. Pitches outside MIDI 48-83 (only mono_rnn can play them) are folded
  by whole octaves into 48-83. That keeps the pitch class exactly, so "in key", the tonic
  (the key's tonic in the octave of MIDI 60-71) and every pitch-class rule are exact; the
  approximation is in intervals across the fold (a step from 47 to 48 reads as an upward
  major seventh) and in register-based statistics. Events are always kept beside.
* ``rule_distributions(model, history, probabilities)``: next-class distributions moved onto
  the 38 classes the same way (for plots).
* ``model_classes(model, indices)``: 38-class indices (priming notes drawn from 48-83, primer
  melodies) -> the model's classes.
* ``ClassStepModel``: a note_rnn model as a step model on one-hot class inputs
  (``step(one_hot [B, C], state)`` -> ``model.step_classes(argmax, state)``), so the
  samplers and scorers step every config the way they step the basic one.

The basic_rnn layout *is* the rules' representation: for it every function here is the
identity and callers keep their original code path.
"""

import numpy as np
import tensorflow as tf

from pipelines import encoding


def num_classes(model) -> int:
  """The action/class count of a model, policy or step model (38 for the basic layout)."""
  return int(getattr(model, 'num_classes', encoding.NUM_CLASSES))


def config_name(model) -> str:
  return str(getattr(model, 'config_name', 'basic_rnn'))


def is_rule_layout(model) -> bool:
  """Whether the model's classes are the rules' 38 indices (basic_rnn and its one-hot)."""
  return config_name(model) == 'basic_rnn' and num_classes(model) == encoding.NUM_CLASSES


def fold_pitches(events: np.ndarray) -> np.ndarray:
  """Melody events with every pitch moved by whole octaves into [48, 84)."""
  events = np.asarray(events, np.int64)
  low, span = encoding.MIN_MIDI_PITCH, encoding.MAX_MIDI_PITCH - encoding.MIN_MIDI_PITCH
  folded = low + (events - low) % encoding.NOTES_PER_OCTAVE
  folded += np.clip((events - low) // encoding.NOTES_PER_OCTAVE, 0,
                    span // encoding.NOTES_PER_OCTAVE - 1) * encoding.NOTES_PER_OCTAVE
  return np.where(events >= 0, folded, events)


def events_to_rule_classes(events: np.ndarray) -> np.ndarray:
  """Melody events (any pitch 0-127) -> 38-class indices int32, pitches folded into 48-83."""
  return np.asarray(encoding.event_to_index(fold_pitches(events)), np.int32)


def events(model, classes: np.ndarray, history=None) -> np.ndarray:
  """The model's classes [B, T] -> melody events int64 [B, T] (-2 hold, -1 off, pitch)."""
  classes = np.asarray(classes, np.int64)
  if is_rule_layout(model):
    return np.asarray(encoding.index_to_event(classes), np.int64)
  return np.asarray(_note_rnn(model).events_from_classes(classes, history), np.int64)


def rule_classes(model, classes: np.ndarray, history=None) -> np.ndarray:
  """The model's classes [B, T] -> the rules' 38-class indices int32 [B, T]."""
  if is_rule_layout(model):
    return np.asarray(classes, np.int32)
  return events_to_rule_classes(events(model, classes, history))


def rule_distributions(model, history: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
  """Next-class distributions [T, C] -> the same over the rules' 38 classes [T, 38].

  Row t of ``probabilities`` is the distribution the class ``history[-T + t]`` was drawn from
  (``history`` int [P + T]: priming, then the T notes); each class's mass moves to the 38-class
  index of the event it decodes to at that point (a repeat label to the event it repeats).
  """
  probabilities = np.asarray(probabilities, np.float32)
  if is_rule_layout(model):
    return probabilities
  history = np.asarray(history, np.int64).reshape(-1)
  num_steps, num_model_classes = probabilities.shape
  out = np.zeros((num_steps, encoding.NUM_CLASSES), np.float32)
  candidates = np.arange(num_model_classes)[:, None]
  for t in range(num_steps):
    prefix = np.tile(history[:len(history) - num_steps + t], (num_model_classes, 1))
    decoded = events(model, np.concatenate([prefix, candidates], axis=1))[:, -1]
    np.add.at(out[t], events_to_rule_classes(decoded), probabilities[t])
  return out


def model_classes(model, indices: np.ndarray) -> np.ndarray:
  """38-class indices [N, P] (or [N]) -> the model's classes, as int32 of the same shape."""
  indices = np.asarray(indices, np.int64)
  if is_rule_layout(model):
    return indices.astype(np.int32)
  flat = indices.reshape(indices.shape[0], -1) if indices.ndim else indices.reshape(1, 1)
  out = _note_rnn(model).classes_from_events(encoding.index_to_event(flat))
  return np.asarray(out, np.int32).reshape(indices.shape)


def _note_rnn(model):
  """The note_rnn model behind a step model, network or policy."""
  for name in ('note_rnn_model', 'model'):
    inner = getattr(model, name, None)
    if inner is not None and hasattr(inner, 'events_from_classes'):
      return inner
  return model


class ClassStepModel(tf.Module):
  """A note_rnn model of any config as a step model on one-hot class inputs.

  ``step(inputs [B, C] one-hot, state)`` feeds ``argmax(inputs)`` to ``step_classes``: the
  model encodes its own features (lookback, key, attention window) from the state.
  """

  def __init__(self, model):
    super().__init__(name='class_step_model')
    self.note_rnn_model = model

  @property
  def num_classes(self) -> int:
    return self.note_rnn_model.num_classes

  @property
  def config_name(self) -> str:
    return self.note_rnn_model.config_name

  def initial_state(self, batch_size):
    return self.note_rnn_model.initial_state(batch_size)

  def step(self, inputs, state):
    classes = tf.argmax(inputs, axis=-1, output_type=tf.int32)
    return self.note_rnn_model.step_classes(classes, state)

  def get_weights(self):
    return self.note_rnn_model.get_weights()

  @property
  def layer_sizes(self):
    return self.note_rnn_model.layer_sizes


def step_model(model):
  """``model`` as a step model on one-hot class inputs (the model itself for basic_rnn)."""
  if is_rule_layout(model) or isinstance(model, ClassStepModel) or not hasattr(
      model, 'step_classes'):
    return model
  return ClassStepModel(model)


def build_like(model, weights=None):
  """A fresh note_rnn model of ``model``'s config and sizes (its own variables), optionally
  holding ``weights`` (``get_weights`` order)."""
  import note_rnn  # pylint: disable=g-import-not-at-top
  model = _note_rnn(model)
  out = note_rnn.build(model.layer_sizes, config=model.config_name,
                       attn_length=getattr(model, 'attn_length', None))
  out.set_weights(model.get_weights() if weights is None else weights)
  return out


def composition_events(model, priming: np.ndarray, notes: np.ndarray) -> np.ndarray:
  """Melody events int64 [N, T] of generated notes [N, T] (the model's classes), repeat
  labels resolved against the priming prefix [N] or [N, P] that came before them."""
  priming = np.asarray(priming, np.int64)
  prefix = priming[:, None] if priming.ndim == 1 else priming
  full = events(model, np.concatenate([prefix, np.asarray(notes, np.int64)], axis=1))
  return full[:, prefix.shape[1]:]


def fits_rule_range(events_array: np.ndarray) -> bool:
  """Whether every pitch lies in MIDI 48-83 (the 38-class arrays then hold them exactly)."""
  pitches = np.asarray(events_array)[np.asarray(events_array) >= 0]
  return bool(np.all((pitches >= encoding.MIN_MIDI_PITCH)
                     & (pitches < encoding.MAX_MIDI_PITCH)))
