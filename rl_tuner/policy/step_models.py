"""Step models: the one interface every sampler, evaluator and report steps a melody model by.

A step model has `initial_state(batch_size)` and `step(inputs [B, 38] one-hot, state) ->
(logits [B, 38], state)`. The Note RNN (`note_rnn.NoteRnn`) is one; so are the RL Tuner's
networks (Q, Ψ or G values are logits to sample from), and `with_prior` makes g's policy
out of two of them.

Tuned policies are rebuilt here from *weights* (the run's latest training checkpoint) and
`config.json`, through the same LSTM step the Note RNN uses, never from a stored graph: a
run dir someone sends you is data, and evaluating it runs only this code.
"""

import os
from typing import Any, Dict, List, Optional

import numpy as np
import tensorflow as tf

import note_rnn
from pipelines.errors import FlagError
from rl_tuner.policy import encodings
from rl_tuner.policy import layout
from rl_tuner.policy import run_dir as run_dir_lib


def g_logits(g_values, prior_log_probs):
  """g's acting logits: G-learning's π ∝ p_prior · exp G, i.e. softmax(G + log p_prior).

  The one definition of how g acts: `WithPrior`, the collector and the tf-agents network
  of the G agent all call it.
  """
  return g_values + prior_log_probs


class WithPrior:
  """How g acts, everywhere: logits = G(s, ·) + log p_prior(· | s), both stepped together.

  G-learning learns G = Q − log p_prior, so its policy is softmax(G + log p) and needs the
  frozen prior beside the network. The state is (model state, prior state).
  """

  def __init__(self, model, prior):
    self.model = model
    self.prior = prior

  def initial_state(self, batch_size):
    return (self.model.initial_state(batch_size), self.prior.initial_state(batch_size))

  def step(self, inputs, state):
    values, model_state = self.model.step(inputs, state[0])
    prior_logits, prior_state = self.prior.step(inputs, state[1])
    return (g_logits(values, tf.nn.log_softmax(prior_logits, axis=-1)),
            (model_state, prior_state))


def with_prior(model, prior) -> WithPrior:
  return WithPrior(model, prior)


def acting_model(algorithm: str, network, prior):
  """The step model a run of `algorithm` samples from: the network, or for g network + prior."""
  return with_prior(network, prior) if algorithm == 'g' else network


class TunedPolicy:
  """A tuned run's sampling policy, rebuilt from its weights.

  Attributes:
    config: the run's config.json as a dict.
    algorithm: 'q', 'psi', 'g' or 'pure_rl'.
    network: the tuned `note_rnn.NoteRnn` (Q / Ψ / G values as logits).
    prior: the frozen Note RNN the run tuned (g acts on network + prior).
  """

  def __init__(self, config: Dict[str, Any], network, prior):
    self.config = config
    self.algorithm = config.get('algorithm')
    self.network = network
    self.prior = prior
    self._acting = acting_model(self.algorithm, encodings.step_model(network),
                                encodings.step_model(prior))

  @property
  def num_classes(self) -> int:
    return encodings.num_classes(self.network)

  @property
  def config_name(self) -> str:
    return encodings.config_name(self.network)

  @property
  def note_rnn_model(self):
    """The tuned note_rnn model (class <-> event functions of its config)."""
    return self.network

  def initial_state(self, batch_size):
    return self._acting.initial_state(batch_size)

  def step(self, inputs, state):
    return self._acting.step(inputs, state)


def policy_weights(run_dir: str, like=None) -> List[np.ndarray]:
  """The tuned network's weights (NoteRnn order) from the newest readable checkpoint."""
  directory = os.path.join(run_dir, layout.CHECKPOINTS_DIR)
  state = tf.train.get_checkpoint_state(directory) if os.path.isdir(directory) else None
  prefixes = list(reversed(state.all_model_checkpoint_paths)) if state else []
  problems = []
  for prefix in prefixes:
    # The checkpoint state file records paths as the trainer saw them (relative to its
    # working directory, or absolute): a run dir's checkpoints are always its own files.
    prefix = os.path.join(directory, os.path.basename(prefix))
    try:
      return run_dir_lib.read_network_weights(prefix, like)
    except (tf.errors.OpError, ValueError, KeyError) as e:
      problems.append('%s: %s' % (prefix, str(e).splitlines()[0] if str(e) else type(e).__name__))
  raise FlagError('run_dir', '%s has no readable checkpoint (is the run finished?)%s' % (
      run_dir, ''.join('; ' + p for p in problems)))


def load_policy(run_dir: str, prior: Optional[Any] = None) -> TunedPolicy:
  """The sampling policy of a tuned run: weights from `checkpoints/`, settings from config.json.

  Args:
    run_dir: a directory written by the RL Tuner trainer.
    prior: the run's Note RNN when the caller has it loaded already; otherwise it is loaded
      from config.json's `note_rnn_checkpoint` and checked against the weights digest the
      run recorded.

  Raises:
    FlagError: no config.json, no readable checkpoint, or a prior that is not the run's.
  """
  config = layout.read_run_config(run_dir)
  if prior is None:
    prior = run_dir_lib.load_run_prior(config)
  if encodings.is_rule_layout(prior):
    weights = policy_weights(run_dir)
    network = note_rnn.build([int(w.shape[0]) for w in weights[1:-2:3]])
    network.set_weights(weights)
  else:
    network = encodings.build_like(prior, policy_weights(run_dir, like=prior))
  expected = (config.get('note_rnn') or {}).get('weights_sha256')
  if expected and layout.weights_digest(prior.get_weights()) != expected:
    raise FlagError('run_dir', '%s: the Note RNN %s is not the one this run tuned (its '
                    'weights digest differs from config.json)' % (
                        run_dir, config.get('note_rnn_checkpoint') or 'shipped'))
  return TunedPolicy(config, network, prior)
