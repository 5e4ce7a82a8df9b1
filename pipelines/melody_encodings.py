"""The input features and class labels of every melody_rnn config (pure numpy).

Each config's encoder maps a melody (Magenta events: -2 NO_EVENT, -1 NOTE_OFF,
0..127 note-on) to what its model reads and predicts, exactly as note-seq's
encoders do (``OneHotEventSequenceEncoderDecoder``,
``LookbackEventSequenceEncoderDecoder``, ``KeyMelodyEncoderDecoder``), so the
datasets, a Note RNN's sampling loop and the RL Tuner agree on one definition:

* ``encode_inputs(events) -> float32 [T, input_size]``: row p is the input
  after event p; it depends on events[:p + 1] only (causal).
* ``encode_labels(events) -> int64 [T]``: label p is what event p is, given
  events[:p] (a repeat label when it repeats a lookback).
* ``decode_labels(labels, history) -> int64 [len(labels)]``: the inverse of
  ``encode_labels`` for generated labels; label k is resolved against
  ``history`` plus the events decoded before it, so
  ``decode_labels(encode_labels(e)[1:], e[:1]) == e[1:]``.

A training record (``melody_dataset``) is ``inputs[:-1]`` with
``labels[1:]``: input p predicts event p + 1.

Lookback configs (lookback_rnn, attention_rnn) add two repeat labels,
``first_repeat_label + i`` = "the event ``lookback_distances[i]`` steps back";
the longer distance wins when both hold, and a NO_EVENT in the first two bars
is always labelled as the longest repeat (decoding it with too short a
history gives NO_EVENT), as note-seq does. The constants are in
``pipelines.encoding`` (``CONFIG_ENCODINGS``).
"""

import dataclasses
from typing import Callable, Sequence

import numpy as np

from pipelines import encoding
from pipelines import key_features

ConfigEncoding = encoding.ConfigEncoding


def _as_events(events) -> np.ndarray:
  events = np.asarray(events, dtype=np.int64)
  if events.ndim != 1:
    raise ValueError('melody events must be 1-D, got shape %s' % (events.shape,))
  return events


def event_classes(events, config: ConfigEncoding) -> np.ndarray:
  """Events -> indices of the plain event one-hot (0 NO_EVENT, 1 NOTE_OFF,
  2 + pitch - min_note), note-seq's ``MelodyOneHotEncoding``.

  Raises:
    ValueError: an event that is not -2, -1 or a pitch in the config's range.
  """
  events = _as_events(events)
  bad = (events < encoding.MELODY_NO_EVENT) | (
      (events >= 0) & ((events < config.min_note) |
                       (events >= config.max_note)))
  if np.any(bad):
    raise ValueError('%s: melody events outside -2, -1, [%d, %d): %s'
                     % (config.name, config.min_note, config.max_note,
                        np.unique(events[bad]).tolist()))
  return np.where(events < 0, events + encoding.NUM_SPECIAL_EVENTS,
                  events - config.min_note + encoding.NUM_SPECIAL_EVENTS)


def class_events(indices, config: ConfigEncoding) -> np.ndarray:
  """Indices of the plain event one-hot -> events (inverse of event_classes)."""
  indices = np.asarray(indices, dtype=np.int64)
  return np.where(indices < encoding.NUM_SPECIAL_EVENTS,
                  indices - encoding.NUM_SPECIAL_EVENTS,
                  indices - encoding.NUM_SPECIAL_EVENTS + config.min_note)


def _lookback_events(events: np.ndarray, distance: int, shift: int = 0):
  """events[p - distance + shift], NO_EVENT where that is before the start."""
  positions = np.arange(len(events)) - distance + shift
  return np.where(positions >= 0, events[np.maximum(positions, 0)],
                  encoding.MELODY_NO_EVENT)


def repeat_flags(events, config: ConfigEncoding) -> np.ndarray:
  """bool [T, num_lookbacks]: event p equals event p - distance (which exists)."""
  events = _as_events(events)
  columns = []
  for distance in config.lookback_distances:
    exists = np.arange(len(events)) >= distance
    columns.append(exists & (events == _lookback_events(events, distance)))
  return np.stack(columns, axis=1) if columns else np.zeros((len(events), 0),
                                                            dtype=bool)


def step_counter(num_steps: int, bits: int) -> np.ndarray:
  """float32 [T, bits]: bit i of p + 1 (the step after event p) as +1 / -1."""
  count = np.arange(1, num_steps + 1)[:, None]
  on = (count >> np.arange(bits)[None, :]) & 1
  return np.where(on == 1, 1.0, -1.0).astype(np.float32)


def _one_hot(indices: np.ndarray, size: int) -> np.ndarray:
  out = np.zeros((len(indices), size), dtype=np.float32)
  out[np.arange(len(indices)), indices] = 1.0
  return out


def one_hot_inputs(events, config: ConfigEncoding) -> np.ndarray:
  """basic_rnn, mono_rnn: the one-hot of event p."""
  return _one_hot(event_classes(events, config), config.num_event_classes)


def lookback_inputs(events, config: ConfigEncoding) -> np.ndarray:
  """lookback_rnn: [event p | event p + 1 - d for each d | counter | repeats].

  The middle blocks are the one-hot of the event that would come next if the
  melody repeated d steps back (NO_EVENT before the start); the counter is
  ``step_counter``; the repeat flags are ``repeat_flags`` (event p equals
  event p - d).
  """
  events = _as_events(events)
  blocks = [one_hot_inputs(events, config)]
  for distance in config.lookback_distances:
    blocks.append(one_hot_inputs(_lookback_events(events, distance, shift=1),
                                 config))
  blocks.append(step_counter(len(events), config.counter_bits))
  blocks.append(repeat_flags(events, config).astype(np.float32))
  return np.concatenate(blocks, axis=1)


def key_inputs(events, config: ConfigEncoding) -> np.ndarray:
  """attention_rnn: the 74 features of ``key_features.key_melody_inputs``."""
  events = _as_events(events)
  event_classes(events, config)  # range check
  return key_features.key_melody_inputs(
      events, config, repeat_flags(events, config),
      step_counter(len(events), config.counter_bits))


def _plain_labels(events: np.ndarray, config: ConfigEncoding) -> np.ndarray:
  classes = event_classes(events, config)
  if config.encoder != encoding.KEY:
    return classes
  # Key layout: pitches first, then NO_EVENT, NOTE_OFF.
  return np.select([events == encoding.MELODY_NO_EVENT,
                    events == encoding.MELODY_NOTE_OFF],
                   [config.no_event_label, config.note_off_label],
                   classes - encoding.NUM_SPECIAL_EVENTS)


def encode_labels(events, config: ConfigEncoding) -> np.ndarray:
  """int64 [T]: the class of each event of a melody under `config`."""
  events = _as_events(events)
  labels = _plain_labels(events, config)
  if not config.lookback_distances:
    return labels
  flags = repeat_flags(events, config)
  for i in range(len(config.lookback_distances)):  # a longer distance wins
    labels = np.where(flags[:, i], config.first_repeat_label + i, labels)
  longest = config.first_repeat_label + len(config.lookback_distances) - 1
  early_rest = ((np.arange(len(events)) < config.lookback_distances[-1]) &
                (events == encoding.MELODY_NO_EVENT))
  return np.where(early_rest, longest, labels).astype(np.int64)


def _decode_plain(label: int, config: ConfigEncoding) -> int:
  if config.encoder == encoding.KEY:
    if label == config.no_event_label:
      return encoding.MELODY_NO_EVENT
    if label == config.note_off_label:
      return encoding.MELODY_NOTE_OFF
    return config.min_note + label
  return int(class_events(label, config))


def decode_label(label: int, history: Sequence[int],
                 config: ConfigEncoding) -> int:
  """One class label -> its melody event, after the events `history`."""
  label = int(label)
  if not 0 <= label < config.num_classes:
    raise ValueError('%s: class label %d outside [0, %d)'
                     % (config.name, label, config.num_classes))
  if label < config.first_repeat_label:
    return _decode_plain(label, config)
  distance = config.lookback_distances[label - config.first_repeat_label]
  if len(history) < distance:
    return encoding.MELODY_NO_EVENT
  return int(history[-distance])


def decode_labels(labels, history, config: ConfigEncoding) -> np.ndarray:
  """Class labels -> melody events, each resolved after `history` and the
  events decoded before it (Magenta's ``class_index_to_event`` in a loop)."""
  events = [int(e) for e in _as_events(history)]
  start = len(events)
  for label in np.asarray(labels, dtype=np.int64).reshape(-1):
    events.append(decode_label(label, events, config))
  return np.array(events[start:], dtype=np.int64)


@dataclasses.dataclass(frozen=True)
class MelodyEncoder:
  """One config's constants and its three functions (see the module doc)."""
  config: ConfigEncoding
  encode_inputs: Callable[[Sequence[int]], np.ndarray]
  encode_labels: Callable[[Sequence[int]], np.ndarray]
  decode_labels: Callable[[Sequence[int], Sequence[int]], np.ndarray]


_INPUTS = {encoding.ONE_HOT: one_hot_inputs, encoding.LOOKBACK: lookback_inputs,
           encoding.KEY: key_inputs}


def encoder(name: str) -> MelodyEncoder:
  """The MelodyEncoder of a melody_rnn config name (``encoding.CONFIG_NAMES``).

  Raises:
    ValueError: an unknown name (the message lists the valid ones).
  """
  config = encoding.config_encoding(name)
  inputs = _INPUTS[config.encoder]
  return MelodyEncoder(
      config=config,
      encode_inputs=lambda events: inputs(events, config),
      encode_labels=lambda events: encode_labels(events, config),
      decode_labels=lambda labels, history=(): decode_labels(labels, history,
                                                             config))
