"""Log-likelihood per decoded melody event: one figure that compares Note RNNs of any config.

A model's cross-entropy is over its own classes, and configs with repeat labels (lookback_rnn,
attention_rnn: "the event of 1 bar / 2 bars ago") can name the same melody event by two classes.
Their per-label loss is then not comparable with basic_rnn's. What every config predicts is the
next melody event (hold, note-off or pitch): p(event) is the sum of the probabilities of every
class that decodes to it at that position (its own class and any repeat label pointing at an
equal event; a repeat label reaching before the melody's start decodes to a hold, as in
``melody_configs.events_from_classes``). For configs without repeat labels this is the label's
probability, so the figure equals the training loss.
"""

from typing import Iterable

import numpy as np
import tensorflow as tf

from note_rnn import melody_configs as mc


def event_log_probs(config: mc.MelodyConfig, log_probs: np.ndarray,
                    labels: np.ndarray) -> np.ndarray:
  """log p(decoded event) per step.

  Args:
    config: the model's melody config.
    log_probs: float [B, T, C] log-softmax of the model's logits.
    labels: int [B, T] the classes of the true melody (padding may hold any valid class).

  Returns:
    float64 [B, T].
  """
  log_probs = np.asarray(log_probs, np.float64)
  labels = np.asarray(labels, np.int64)
  if not config.has_repeat_labels:
    return np.take_along_axis(log_probs, labels[..., None], axis=-1)[..., 0]
  events = mc.events_from_classes(config, labels)
  first_repeat = config.num_classes - len(mc.LOOKBACK_DISTANCES)
  probs = np.exp(log_probs)
  own_class = mc.base_classes(config, events)
  total = np.take_along_axis(probs, own_class[..., None], axis=-1)[..., 0]
  num_steps = labels.shape[1]
  for i, distance in enumerate(mc.LOOKBACK_DISTANCES):
    back = np.full_like(events, mc.MELODY_NO_EVENT)
    if distance < num_steps:
      back[:, distance:] = events[:, :-distance]
    total = total + np.where(back == events, probs[..., first_repeat + i], 0.0)
  return np.log(np.minimum(total, 1.0))


def mean_event_nll(model, batches: Iterable) -> dict:
  """Held-out negative log-likelihood per decoded melody event over whole datasets.

  Args:
    model: a note_rnn model (any config).
    batches: ``(inputs [B, T, I], labels [B, T], lengths [B])`` as ``dataset.make_dataset``
      yields with ``training=False``.

  Returns:
    {'event_nll': nats per event, 'label_nll': the model's own per-class loss, 'steps': n}.
  """
  config = mc.get(model.config_name)
  event_sum = label_sum = steps = 0.0
  for inputs, labels, lengths in batches:
    log_probs = tf.nn.log_softmax(model.logits(inputs)).numpy()
    labels = np.maximum(labels.numpy(), 0)
    mask = np.arange(labels.shape[1])[None] < lengths.numpy()[:, None]
    event_sum -= event_log_probs(config, log_probs, labels)[mask].sum()
    label_sum -= np.take_along_axis(log_probs, labels[..., None], axis=-1)[..., 0][mask].sum()
    steps += mask.sum()
  return {'event_nll': event_sum / steps, 'label_nll': label_sum / steps, 'steps': int(steps)}
