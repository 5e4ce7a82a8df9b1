"""tf.data input for Note RNN training: melody SequenceExamples -> padded, bucketed batches.

Records are the ``{training,eval}_melodies.tfrecord`` SequenceExamples of the melody dataset
(Magenta's melody_rnn records): feature lists ``inputs`` (T x input_size floats) and
``labels`` (T int64), for any melody_rnn config. For the one-hot configs (basic_rnn,
mono_rnn) each record is parsed once into two int32 index vectors (the argmax of the one-hot
inputs, and the labels), small enough to cache in memory, and the one-hot is rebuilt per
batch; lookback_rnn's and attention_rnn's feature vectors (values -1, 0, 1) are cached as
int8. Batches are zero-padded to their longest sequence, as Magenta does, and
carry the true lengths so the loss can mask padded steps (a padded label 0 would otherwise
count as NO_EVENT).
"""

import glob
import os
from typing import Optional, Sequence

import tensorflow as tf

from note_rnn import melody_configs
from pipelines import encoding

# Bucket edges in steps (sequences are at most 511 steps long).
BUCKET_BOUNDARIES = (48, 96, 128, 160, 192, 256, 320, 384, 448)


def expand_file_patterns(patterns: str | Sequence[str]) -> list[str]:
  """Comma-separated paths or globs (as Magenta's ``--sequence_example_file``) -> sorted files.

  Raises:
    FileNotFoundError: naming each pattern that matched nothing.
  """
  if isinstance(patterns, str):
    patterns = [p for p in patterns.split(',') if p.strip()]
  files = []
  for pattern in patterns:
    pattern = os.path.expanduser(pattern.strip())
    matched = sorted(glob.glob(pattern))
    if not matched:
      raise FileNotFoundError('no file matches %s' % pattern)
    files += matched
  return files


def parse_indices(serialized, input_size: int = encoding.NUM_CLASSES):
  """One serialized one-hot SequenceExample -> (input indices int32 [T], labels int32 [T])."""
  _, seq = tf.io.parse_single_sequence_example(
      serialized, sequence_features={
          'inputs': tf.io.FixedLenSequenceFeature([input_size], tf.float32),
          'labels': tf.io.FixedLenSequenceFeature([], tf.int64)})
  inputs = tf.cast(tf.argmax(seq['inputs'], axis=-1), tf.int32)
  return inputs, tf.cast(seq['labels'], tf.int32)


def parse_features(serialized, input_size: int):
  """One serialized feature SequenceExample -> (inputs int8 [T, input_size], labels [T])."""
  _, seq = tf.io.parse_single_sequence_example(
      serialized, sequence_features={
          'inputs': tf.io.FixedLenSequenceFeature([input_size], tf.float32),
          'labels': tf.io.FixedLenSequenceFeature([], tf.int64)})
  return tf.cast(seq['inputs'], tf.int8), tf.cast(seq['labels'], tf.int32)


def _to_batch(inputs, labels, num_classes: int = encoding.NUM_CLASSES):
  """Padded index batches -> (one-hot inputs [B, T, C], labels [B, T], lengths [B])."""
  lengths = tf.reduce_sum(tf.cast(inputs >= 0, tf.int32), axis=1)
  one_hot = tf.one_hot(tf.maximum(inputs, 0), num_classes, dtype=tf.float32)
  mask = tf.sequence_mask(lengths, tf.shape(inputs)[1], dtype=tf.float32)
  return one_hot * mask[..., None], tf.maximum(labels, 0), lengths


def _features_to_batch(inputs, labels):
  """Padded feature batches -> (inputs float32 [B, T, I], labels [B, T], lengths [B])."""
  lengths = tf.reduce_sum(tf.cast(labels >= 0, tf.int32), axis=1)
  return tf.cast(inputs, tf.float32), tf.maximum(labels, 0), lengths


def prepend_random_primer(inputs, labels, probability: float, seed: Optional[int] = None):
  """With ``probability``, puts a uniformly random pitch before a melody's first event.

  The RL Tuner primes with a random pitch that is not part of the melody (``random_note``
  priming); real data only ever shows a melody's own first note at step 0, after which a
  well-trained model holds it (92 % of the data), so a composition could never choose its
  first note. Seeing a random pitch followed by a melody's first note teaches the model that
  case; the rest of the melody is unchanged. One extra step, so a 511-step melody becomes 512.
  """
  use = tf.random.uniform([], seed=seed) < probability
  primer = tf.random.uniform([], encoding.FIRST_PITCH_INDEX, encoding.NUM_CLASSES,
                             dtype=tf.int32, seed=seed)
  return tf.cond(use,
                 lambda: (tf.concat([[primer], inputs], 0), tf.concat([inputs[:1], labels], 0)),
                 lambda: (inputs, labels))


def make_dataset(files: Sequence[str], batch_size: int, *, training: bool,
                 seed: Optional[int] = None, bucket: bool = True,
                 shuffle_buffer: int = 2048,
                 random_primer_probability: float = 0.0,
                 config: str = 'basic_rnn') -> tf.data.Dataset:
  """Batches of ``(inputs [B, T, input_size] float32, labels [B, T] int32, lengths [B] int32)``.

  Args:
    files: TFRecord files of melody SequenceExamples.
    batch_size: sequences per batch.
    training: shuffle, repeat forever and drop the last partial batch (as Magenta's trainer
      does); otherwise one pass in file order, keeping the last partial batch.
    seed: shuffle seed (training only).
    bucket: group sequences of similar length (training only) to cut padding.
    shuffle_buffer: shuffle queue size (Magenta uses about 500).
    random_primer_probability: training only: the share of melodies that get a random
      priming pitch in front (``prepend_random_primer``); 0 is Magenta's training. One-hot
      configs only (a feature vector would need the whole history re-encoded).
    config: the melody_rnn config the records encode (``note_rnn.melody_configs``).
  """
  melody_config = melody_configs.get(config)
  one_hot = melody_config.encoder == 'one_hot'
  if not 0.0 <= random_primer_probability <= 1.0:
    raise ValueError('random_primer_probability must be in [0, 1], got %r'
                     % random_primer_probability)
  if random_primer_probability and not one_hot:
    raise ValueError('random_primer_probability works on the one-hot configs (basic_rnn, '
                     'mono_rnn), not on %s' % config)
  ds = tf.data.TFRecordDataset(list(files), num_parallel_reads=tf.data.AUTOTUNE
                               if training else None)
  parse = parse_indices if one_hot else parse_features
  ds = ds.map(lambda r: parse(r, melody_config.input_size),
              num_parallel_calls=tf.data.AUTOTUNE, deterministic=not training)
  ds = ds.cache()
  # Pad labels (and one-hot indices) with -1 so true lengths survive batching.
  pad = (tf.constant(-1 if one_hot else 0, tf.int32 if one_hot else tf.int8),
         tf.constant(-1, tf.int32))
  if training:
    ds = ds.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True).repeat()
    if random_primer_probability > 0:
      ds = ds.map(lambda x, y: prepend_random_primer(x, y, random_primer_probability, seed),
                  num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    if bucket:
      ds = ds.bucket_by_sequence_length(
          lambda x, y: tf.shape(x)[0], list(BUCKET_BOUNDARIES),
          [batch_size] * (len(BUCKET_BOUNDARIES) + 1), padding_values=pad,
          drop_remainder=True)
    else:
      ds = ds.padded_batch(batch_size, padding_values=pad, drop_remainder=True)
  else:
    ds = ds.padded_batch(batch_size, padding_values=pad)
  if one_hot:
    ds = ds.map(lambda x, y: _to_batch(x, y, melody_config.num_classes),
                num_parallel_calls=tf.data.AUTOTUNE)
  else:
    ds = ds.map(_features_to_batch, num_parallel_calls=tf.data.AUTOTUNE)
  return ds.prefetch(tf.data.AUTOTUNE)


def check_input_size(path: str, input_size: int, config: str) -> None:
  """Refuses a dataset written for another config, naming both sizes (first record only).

  Raises:
    ValueError: the first record's input vectors are not ``input_size`` wide.
  """
  for record in tf.data.TFRecordDataset([path]).take(1):
    example = tf.train.SequenceExample.FromString(record.numpy())
    steps = example.feature_lists.feature_list['inputs'].feature
    width = len(steps[0].float_list.value) if steps else input_size
    if width != input_size:
      names = [c.name for c in melody_configs.CONFIGS.values() if c.input_size == width]
      raise ValueError('%s: inputs are %d wide (%s), but --config=%s takes %d' % (
          path, width, ' / '.join(names) or 'no melody_rnn config', config, input_size))


def count_records(files: Sequence[str]) -> int:
  """Number of records in the files (one cheap pass, no parsing)."""
  return int(tf.data.TFRecordDataset(list(files)).reduce(0, lambda n, _: n + 1).numpy())


def masked_metrics(logits, labels, lengths,
                   no_event_label: int = encoding.NO_EVENT_INDEX) -> dict:
  """Magenta's training metrics over the real (unpadded) steps of a batch.

  Args:
    logits: float32 [B, T, C]; labels: int [B, T]; lengths: int [B].
    no_event_label: the hold class (36 for attention_rnn, else 0).

  Returns:
    dict of scalar tensors: ``loss`` (mean cross-entropy in nats per step), ``accuracy``,
    ``event_accuracy`` (steps whose label is not NO_EVENT), ``no_event_accuracy``,
    and the sums ``loss_sum``, ``correct``, ``steps``, ``events``, ``event_correct``,
    ``no_events``, ``no_event_correct`` that let callers aggregate exactly.
  """
  labels = tf.cast(labels, tf.int32)
  mask = tf.sequence_mask(lengths, tf.shape(labels)[1], dtype=tf.float32)
  ce = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
  correct = tf.cast(tf.equal(tf.argmax(logits, axis=-1, output_type=tf.int32), labels),
                    tf.float32) * mask
  is_event = tf.cast(tf.not_equal(labels, no_event_label), tf.float32) * mask
  sums = {
      'loss_sum': tf.reduce_sum(ce * mask),
      'steps': tf.reduce_sum(mask),
      'correct': tf.reduce_sum(correct),
      'events': tf.reduce_sum(is_event),
      'event_correct': tf.reduce_sum(correct * is_event),
  }
  sums['no_events'] = sums['steps'] - sums['events']
  sums['no_event_correct'] = sums['correct'] - sums['event_correct']
  return {**sums, **ratios(sums)}


def ratios(sums: dict) -> dict:
  """loss / accuracy / event_accuracy / no_event_accuracy from the sums (safe for 0)."""
  div = tf.math.divide_no_nan
  return {
      'loss': div(sums['loss_sum'], sums['steps']),
      'accuracy': div(sums['correct'], sums['steps']),
      'event_accuracy': div(sums['event_correct'], sums['events']),
      'no_event_accuracy': div(sums['no_event_correct'], sums['no_events']),
  }
