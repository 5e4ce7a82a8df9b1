"""Batched sampling from a Note RNN: primer indices in, sampled class indices out.

One compiled ``tf.function`` per model runs the primer through the LSTM as a sequence, then
loops ``NoteRnn.step`` feeding each choice back as a one-hot. Temperature 0 means greedy
(argmax at every step), which makes the output deterministic; otherwise the choice is a
stateless categorical draw from ``logits / temperature`` keyed by (seed, batch offset,
step), so the same seed and batch size reproduce the same melodies.
"""

import weakref
from typing import Optional

import numpy as np
import tensorflow as tf

from note_rnn import model as model_lib
from pipelines import encoding

_SAMPLERS = weakref.WeakKeyDictionary()


def _sampler(model: model_lib.NoteRnn):
  fn = _SAMPLERS.get(model)
  if fn is not None:
    return fn

  @tf.function(input_signature=(
      tf.TensorSpec([None, None, encoding.NUM_CLASSES], tf.float32),
      tf.TensorSpec([], tf.int32), tf.TensorSpec([], tf.float32),
      tf.TensorSpec([2], tf.int64)))
  def run(primer, num_new, temperature, seed):
    logits, state = model.logits_and_state(primer)
    last = logits[:, -1]
    choices = tf.TensorArray(tf.int32, size=num_new)
    for t in tf.range(num_new):
      step_seed = seed + tf.stack([tf.constant(0, tf.int64), tf.cast(t, tf.int64)])
      choice = tf.cond(
          temperature > 0,
          lambda: tf.random.stateless_categorical(  # pylint: disable=g-long-lambda
              last / temperature, 1, seed=step_seed, dtype=tf.int32)[:, 0],
          lambda: tf.argmax(last, axis=-1, output_type=tf.int32))
      choices = choices.write(t, choice)
      last, state = model.step(tf.one_hot(choice, encoding.NUM_CLASSES), state)
    return tf.transpose(choices.stack())

  _SAMPLERS[model] = run
  return run


def sample(model: model_lib.NoteRnn, primer: np.ndarray, num_new_steps: int, *,
           temperature: float = 1.0, seed: int = 0,
           batch_size: Optional[int] = None) -> np.ndarray:
  """Continues primers by ``num_new_steps`` sampled events.

  Args:
    model: the Note RNN.
    primer: int class indices [B, P] (P >= 1); every row is a separate melody.
    num_new_steps: events to add after the primer (>= 0).
    temperature: > 0 samples softmax(logits / temperature); 0 takes the argmax.
    seed: the random seed (ignored when greedy).
    batch_size: rows per compiled call (default: all at once).

  Returns:
    int64 [B, P + num_new_steps]: the primer followed by the new events.
  """
  primer = np.asarray(primer, np.int64)
  if primer.ndim != 2 or primer.shape[1] < 1:
    raise ValueError('primer must be [batch, steps >= 1] class indices, got shape %s'
                     % (primer.shape,))
  if np.any((primer < 0) | (primer >= encoding.NUM_CLASSES)):
    raise ValueError('primer class index outside [0, %d)' % encoding.NUM_CLASSES)
  if num_new_steps < 0 or temperature < 0:
    raise ValueError('num_new_steps and temperature must be >= 0')
  if num_new_steps == 0:
    return primer.copy()
  run = _sampler(model)
  batch_size = batch_size or primer.shape[0]
  out = []
  for start in range(0, primer.shape[0], batch_size):
    rows = primer[start:start + batch_size]
    new = run(tf.constant(encoding.one_hot(rows)), tf.constant(num_new_steps, tf.int32),
              tf.constant(temperature, tf.float32),
              tf.constant([seed, start * 1_000_003], tf.int64))
    out.append(new.numpy())
  return np.concatenate([primer, np.concatenate(out, axis=0).astype(np.int64)], axis=1)
