"""Batched sampling from a Note RNN: primer indices in, sampled class indices out.

One compiled ``tf.function`` per model runs the primer through the model (one-hot configs as
one sequence; lookback and attention step by step, since their features come from the
history), then loops ``NoteRnn.step_classes`` feeding each choice back. Temperature 0 means greedy
(argmax at every step), which makes the output deterministic; otherwise the choice is a
stateless categorical draw from ``logits / temperature`` keyed by (seed, batch offset,
step), so the same seed and batch size reproduce the same melodies.
"""

import weakref
from typing import Optional

import numpy as np
import tensorflow as tf

from note_rnn import model as model_lib

_SAMPLERS = weakref.WeakKeyDictionary()


def _sampler(model: model_lib.NoteRnn):
  fn = _SAMPLERS.get(model)
  if fn is not None:
    return fn

  def prime(primer):
    """Runs the primer classes; returns (logits after the last one, state)."""
    state = model.initial_state(tf.shape(primer)[0])
    if not model.has_history:
      logits, state = model.logits_and_state(tf.one_hot(primer, model.num_classes))
      return logits[:, -1], state
    last = tf.zeros([tf.shape(primer)[0], model.num_classes])
    for t in tf.range(tf.shape(primer)[1]):
      tf.autograph.experimental.set_loop_options(
          shape_invariants=[(last, tf.TensorShape([None, model.num_classes]))])
      last, state = model.step_classes(primer[:, t], state)
    return last, state

  @tf.function(input_signature=(
      tf.TensorSpec([None, None], tf.int32),
      tf.TensorSpec([], tf.int32), tf.TensorSpec([], tf.float32),
      tf.TensorSpec([2], tf.int64)))
  def run(primer, num_new, temperature, seed):
    last, state = prime(primer)
    choices = tf.TensorArray(tf.int32, size=num_new)
    for t in tf.range(num_new):
      step_seed = seed + tf.stack([tf.constant(0, tf.int64), tf.cast(t, tf.int64)])
      choice = tf.cond(
          temperature > 0,
          lambda: tf.random.stateless_categorical(  # pylint: disable=g-long-lambda
              last / temperature, 1, seed=step_seed, dtype=tf.int32)[:, 0],
          lambda: tf.argmax(last, axis=-1, output_type=tf.int32))
      choices = choices.write(t, choice)
      last, state = model.step_classes(choice, state)
    return tf.transpose(choices.stack())

  _SAMPLERS[model] = run
  return run


def sample(model: model_lib.NoteRnn, primer: np.ndarray, num_new_steps: int, *,
           temperature: float = 1.0, seed: int = 0,
           batch_size: Optional[int] = None) -> np.ndarray:
  """Continues primers by ``num_new_steps`` sampled events.

  Args:
    model: the Note RNN.
    primer: int class indices [B, P] (P >= 1) in the model's class layout, from the melody's
      start; every row is a separate melody.
    num_new_steps: events to add after the primer (>= 0).
    temperature: > 0 samples softmax(logits / temperature); 0 takes the argmax.
    seed: the random seed (ignored when greedy).
    batch_size: rows per compiled call (default: all at once).

  Returns:
    int64 [B, P + num_new_steps]: the primer followed by the new classes
    (``model.events_from_classes`` turns them into melody events).
  """
  primer = np.asarray(primer, np.int64)
  if primer.ndim != 2 or primer.shape[1] < 1:
    raise ValueError('primer must be [batch, steps >= 1] class indices, got shape %s'
                     % (primer.shape,))
  if np.any((primer < 0) | (primer >= model.num_classes)):
    raise ValueError('primer class index outside [0, %d)' % model.num_classes)
  if num_new_steps < 0 or temperature < 0:
    raise ValueError('num_new_steps and temperature must be >= 0')
  if num_new_steps == 0:
    return primer.copy()
  run = _sampler(model)
  batch_size = batch_size or primer.shape[0]
  out = []
  for start in range(0, primer.shape[0], batch_size):
    rows = primer[start:start + batch_size]
    new = run(tf.constant(rows, tf.int32), tf.constant(num_new_steps, tf.int32),
              tf.constant(temperature, tf.float32),
              tf.constant([seed, start * 1_000_003], tf.int64))
    out.append(new.numpy())
  return np.concatenate([primer, np.concatenate(out, axis=0).astype(np.int64)], axis=1)
