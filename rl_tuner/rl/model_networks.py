"""Q-networks over any melody_rnn config: a note_rnn model stepped through ``step_classes``.

``make_network`` is the one builder of a network shaped like the tuned Note RNN, for every
algorithm: the DQN family's Q and prior networks and ppo/grpo's actor, prior and value body.

``ModelQNetwork`` is the generic counterpart of ``networks.NoteRnnQNetwork`` (which stays the
basic_rnn path, unchanged): it owns a copy of the tuned note_rnn model (``build_like``: same
config, sizes and weights, its own variables) as ``_model``, so the trainer's checkpoint keeps
it under ``q_network/_model/...`` and a policy is rebuilt by restoring that object graph into
a fresh model of the same config (``rl_tuner.policy.step_models``).

Observation: ``note`` is the one-hot [C] of the previous class in the model's own layout
(C = ``num_classes``); the network feeds its index to ``step_classes``, which computes the
config's input features (lookback bits, key features, attention window) in-graph from the
event history the state carries. The state is the model's own nest (``state_spec()``), reset
to the (primed) start state on FIRST steps as the basic network does, so whole episodes
[B, T+1] unroll from their start.
"""

from typing import Optional

import numpy as np
import tensorflow as tf
from tf_agents.networks import network
from tf_agents.specs import tensor_spec

from rl_tuner.policy import encodings
from rl_tuner.rl import networks


def _where_reset(reset, start, state):
  """Per row: ``start`` where reset [B] is true, else ``state`` (any rank, any dtype)."""
  def pick(s0, s):
    mask = tf.reshape(reset, [-1] + [1] * (s.shape.rank - 1))
    return tf.where(mask, s0, s)
  return tf.nest.map_structure(pick, start, state)


class ModelQNetwork(network.Network):
  """A note_rnn model's logits as Q / Psi / G values, over observation['note'] one-hot [C]."""

  def __init__(self, input_tensor_spec, model, *, primers: Optional[np.ndarray] = None,
               trainable: bool = True, name: str = 'ModelQNetwork'):
    """Builds a copy of ``model``.

    Args:
      input_tensor_spec: the observation spec (``observation_spec``).
      model: a note_rnn model (any config); copied, never shared.
      primers: int [M, P] primer events in the *model's* classes (P >= 1), or None.
      trainable: False for the frozen prior.
      name: the network's name.
    """
    own = encodings.build_like(model)
    super().__init__(input_tensor_spec=input_tensor_spec, state_spec=own.state_spec(),
                     name=name)
    self._model = own
    self._trainable_model = bool(trainable)
    self._primers = networks.primers_constant(primers)

  def copy(self, **kwargs):
    kwargs.setdefault('name', self.name)
    return type(self)(self.input_tensor_spec, self._model,
                      primers=None if self._primers is None else self._primers.numpy(),
                      trainable=self._trainable_model, **kwargs)

  @property
  def primers(self):
    """The primer rows [M, P] (a constant), or None for random_note priming."""
    return self._primers

  @property
  def trainable_weights(self):
    return list(self._model.trainable_variables) if self._trainable_model else []

  @property
  def non_trainable_weights(self):
    return [] if self._trainable_model else list(self._model.trainable_variables)

  @property
  def note_rnn_model(self):
    return self._model

  @property
  def num_classes(self) -> int:
    return self._model.num_classes

  @property
  def config_name(self) -> str:
    return self._model.config_name

  @property
  def layer_sizes(self) -> tuple:
    return self._model.layer_sizes

  def get_note_rnn_weights(self) -> list:
    return self._model.get_weights()

  def initial_state(self, batch_size):
    return self._model.initial_state(batch_size)

  def primed_state(self, primer_rows):
    """State after each row's primer events 0..P-2, from the initial state: rows int [B]."""
    state = self.initial_state(tf.shape(primer_rows)[0])
    if self._primers is None:
      return state
    events = tf.gather(self._primers, primer_rows)
    for p in range(int(self._primers.shape[1]) - 1):
      _, state = self._model.step_classes(events[:, p], state)
    return state

  def first_observations(self, primer_rows):
    return tf.gather(self._primers[:, -1], primer_rows)

  def newest_event(self, inputs, state):
    """The melody event int32 [B] of the one-hot [B, C] that ``step`` just fed (``state`` =
    its returned state); repeat labels see the primer events ``primed_state`` fed."""
    return self._model.newest_event(tf.argmax(inputs, axis=-1, output_type=tf.int32), state)

  def step(self, inputs, state):
    """One step on a one-hot [B, C]: (values [B, C], new state)."""
    return self._model.step_classes(tf.argmax(inputs, axis=-1, output_type=tf.int32), state)

  def call(self, observation, step_type=None, network_state=(), training=False):
    note, has_time, first, start, state = networks.episode_inputs(
        self, observation, step_type, network_state)
    classes = tf.argmax(note, axis=-1, output_type=tf.int32)
    num_steps = note.shape[1]

    def body(t, state, outputs):
      state = _where_reset(first[:, t], start, state)
      values, state = self._model.step_classes(classes[:, t], state)
      state = tf.nest.pack_sequence_as(start, tf.nest.flatten(state))
      return t + 1, state, outputs.write(t, values)

    _, state, outputs = tf.while_loop(
        lambda t, *_: t < num_steps, body,
        (tf.constant(0), state, tf.TensorArray(tf.float32, size=num_steps)),
        maximum_iterations=num_steps)
    values = tf.transpose(outputs.stack(), [1, 0, 2])
    if not has_time:
      values = values[:, 0]
    return values, state


def observation_spec(num_classes: int, with_primer: bool) -> dict:
  """``networks.observation_spec`` for a model of ``num_classes`` classes."""
  spec = {
      'note': tensor_spec.TensorSpec([num_classes], tf.float32, name='note'),
      'prior_log_probs': tensor_spec.TensorSpec([num_classes], tf.float32,
                                                name='prior_log_probs'),
  }
  if with_primer:
    spec['primer'] = tensor_spec.TensorSpec([], tf.int32, name='primer')
  return spec


def make_network(prior_model, primers: Optional[np.ndarray], *, trainable: bool = True,
                 name: str = 'QNetwork'):
  """A network shaped like ``prior_model`` and holding its weights (its own variables).

  basic_rnn models get ``networks.NoteRnnQNetwork`` exactly as before (bit for bit); every
  other config a ``ModelQNetwork``, with the 38-class ``primers`` [M, P] re-encoded in the
  model's classes. Its ``input_tensor_spec`` is the observation spec of the model's classes.
  """
  with_primer = primers is not None
  if encodings.is_rule_layout(prior_model):
    return networks.NoteRnnQNetwork(
        networks.observation_spec(with_primer), prior_model.layer_sizes,
        initial_weights=prior_model.get_weights(), primers=primers, trainable=trainable,
        name=name)
  model_primers = None if primers is None else encodings.model_classes(prior_model, primers)
  return ModelQNetwork(observation_spec(prior_model.num_classes, with_primer), prior_model,
                       primers=model_primers, trainable=trainable, name=name)


def make_networks(prior_model, primers: Optional[np.ndarray], name: str = 'QNetwork'):
  """(observation spec, trainable network ``name``, frozen prior network) for tuning
  ``prior_model``: the Q network of the DQN family, the actor of ppo/grpo."""
  network = make_network(prior_model, primers, name=name)
  prior_network = make_network(prior_model, primers, trainable=False, name='PriorNetwork')
  return network.input_tensor_spec, network, prior_network
