"""tf.train.SequenceExample for melodies, without importing TensorFlow.

Importing TensorFlow costs about 5 s and hundreds of MB in every Beam worker,
only to build one proto. This module declares the four messages of
``tensorflow/core/example/{feature,example}.proto`` that a melody example uses
(same package, names, field numbers and types) in a private descriptor pool, so
the wire bytes are exactly TensorFlow's and nothing clashes with TensorFlow's
own classes if both are loaded. ``tf.io.parse_single_sequence_example`` reads
the result (tested), and the bytes equal Magenta's for the same melody
(tested against ../shared/data/magenta_golden).

The record: no context; feature list ``inputs`` holds T features of
``float_list`` length ``input_size`` (38 one-hot for basic_rnn; see
``encoding.CONFIG_ENCODINGS``); ``labels`` holds T features of ``int64_list``
length 1.
"""

from typing import Sequence, Tuple

import numpy as np
from google.protobuf import descriptor_pb2
from google.protobuf import descriptor_pool
from google.protobuf import message_factory

from pipelines import encoding

_F = descriptor_pb2.FieldDescriptorProto


def _build_classes():
  file_proto = descriptor_pb2.FileDescriptorProto(
      name='rl_tuner/tf_sequence_example.proto', package='tensorflow',
      syntax='proto3')

  def message(name, fields):
    msg = file_proto.message_type.add(name=name)
    for number, (field_name, label, type_, type_name, packed) in enumerate(
        fields, start=1):
      field = msg.field.add(name=field_name, number=number, label=label,
                            type=type_)
      if type_name:
        field.type_name = type_name
      if packed:
        field.options.packed = True
    return msg

  def map_entry(msg, name, value_type_name):
    """The nested `name` entry type of a proto3 map<string, value_type_name>."""
    entry = msg.nested_type.add(name=name)
    entry.options.map_entry = True
    entry.field.add(name='key', number=1, label=opt, type=_F.TYPE_STRING)
    entry.field.add(name='value', number=2, label=opt, type=_F.TYPE_MESSAGE,
                    type_name=value_type_name)

  rep, opt = _F.LABEL_REPEATED, _F.LABEL_OPTIONAL
  message('BytesList', [('value', rep, _F.TYPE_BYTES, None, False)])
  message('FloatList', [('value', rep, _F.TYPE_FLOAT, None, True)])
  message('Int64List', [('value', rep, _F.TYPE_INT64, None, True)])
  feature = message('Feature', [
      ('bytes_list', opt, _F.TYPE_MESSAGE, '.tensorflow.BytesList', False),
      ('float_list', opt, _F.TYPE_MESSAGE, '.tensorflow.FloatList', False),
      ('int64_list', opt, _F.TYPE_MESSAGE, '.tensorflow.Int64List', False)])
  feature.oneof_decl.add(name='kind')
  for field in feature.field:
    field.oneof_index = 0
  features = message('Features', [
      ('feature', rep, _F.TYPE_MESSAGE, '.tensorflow.Features.FeatureEntry',
       False)])
  map_entry(features, 'FeatureEntry', '.tensorflow.Feature')
  message('FeatureList', [
      ('feature', rep, _F.TYPE_MESSAGE, '.tensorflow.Feature', False)])
  lists = message('FeatureLists', [
      ('feature_list', rep, _F.TYPE_MESSAGE,
       '.tensorflow.FeatureLists.FeatureListEntry', False)])
  map_entry(lists, 'FeatureListEntry', '.tensorflow.FeatureList')
  message('SequenceExample', [
      ('context', opt, _F.TYPE_MESSAGE, '.tensorflow.Features', False),
      ('feature_lists', opt, _F.TYPE_MESSAGE, '.tensorflow.FeatureLists',
       False)])
  pool = descriptor_pool.DescriptorPool()
  pool.Add(file_proto)
  return message_factory.GetMessageClassesForFiles([file_proto.name], pool)


_CLASSES = _build_classes()
SequenceExample = _CLASSES['tensorflow.SequenceExample']


def make_sequence_example(inputs: Sequence[Sequence[float]],
                          labels: Sequence[int]):
  """Builds the SequenceExample of Magenta's ``make_sequence_example``.

  Args:
    inputs: T input vectors (floats), e.g. [T, 38] one-hots.
    labels: T integer class labels.

  Returns:
    A SequenceExample message (this module's class; same wire format as
    ``tf.train.SequenceExample``).
  """
  example = SequenceExample()
  lists = example.feature_lists.feature_list
  input_list = lists['inputs']
  for vector in inputs:
    input_list.feature.add().float_list.value.extend(vector)
  label_list = lists['labels']
  for label in labels:
    label_list.feature.add().int64_list.value.append(int(label))
  return example


def encode_indices(indices: Sequence[int]) -> bytes:
  """Class indices of a whole melody [n] -> serialized SequenceExample.

  Inputs are the one-hots of indices 0..n-2 and labels are indices 1..n-1, so
  the record has n - 1 steps.
  """
  indices = np.asarray(indices, dtype=np.int64)
  inputs = encoding.one_hot(indices[:-1]).tolist()
  return make_sequence_example(inputs, indices[1:].tolist()).SerializeToString()


def encode_events(events: Sequence[int], melody_encoder) -> bytes:
  """Melody events [n] -> serialized SequenceExample under one config.

  Args:
    events: the whole melody (already squashed into the config's range).
    melody_encoder: a ``melody_encodings.MelodyEncoder``.

  Returns:
    The record of Magenta's ``encoder_decoder.encode``: the inputs after
    events 0..n-2 and the labels of events 1..n-1 (n - 1 steps).
  """
  inputs = melody_encoder.encode_inputs(events)[:-1]
  labels = melody_encoder.encode_labels(events)[1:]
  return make_sequence_example(inputs.tolist(),
                               labels.tolist()).SerializeToString()


def decode(serialized: bytes) -> Tuple[np.ndarray, np.ndarray]:
  """Serialized SequenceExample -> (inputs float32 [T, D], labels int64 [T])."""
  example = SequenceExample.FromString(serialized)
  lists = example.feature_lists.feature_list
  inputs = np.array([list(f.float_list.value) for f in lists['inputs'].feature],
                    dtype=np.float32)
  labels = np.array([f.int64_list.value[0] for f in lists['labels'].feature],
                    dtype=np.int64)
  return inputs, labels
