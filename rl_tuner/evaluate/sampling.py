"""Batched composition generation and Note RNN scoring for evaluation and sampling.

A *step model* is anything with ``initial_state(batch)`` and
``step(inputs [B, 38] float32, state) -> (logits [B, 38], state)``: every
``note_rnn.NoteRnn`` and the tuned policies of ``rl_tuner.policy.step_models.load_policy``.
Generation runs a whole batch of compositions together inside one ``tf.function``
whose loop over the notes stays in the graph, so Python never touches a single
composition. Batches have one fixed shape (the last one is padded), so each
(model, batch size, prefix length, policy) traces once.

History of a composition: a *prefix* of events ``[P]`` (the priming; its last
event is the first observation o_0, the ones before it only set the LSTM state)
followed by the ``num_notes`` chosen notes. ``random_note`` priming is a prefix of
length 1, the form the original uses; primer melodies give longer prefixes.
"""

import dataclasses
import logging
from typing import Callable, Optional, Sequence, Tuple, Union
import weakref

import numpy as np
import tensorflow as tf

from pipelines import encoding
from rl_tuner.policy import encodings
from rl_tuner.policy import priming as priming_lib

POLICIES = ('sample', 'greedy')
SEMANTICS = ('corrected', 'legacy')
DEFAULT_BATCH_SIZE = 8192


class _OwnTracingFilter(logging.Filter):
  """Drops TF's "frequent retracing" warning about this module's loops only.

  Each compiled loop here belongs to one batch shape and traces exactly once by
  design; TF counts the traces of all of them together and would warn.
  """

  def filter(self, record: logging.LogRecord) -> bool:
    message = record.getMessage()
    return not ('triggered tf.function retracing' in message
                and ('_Sampler._run' in message or '_Scorer._run' in message))


tf.get_logger().addFilter(_OwnTracingFilter())

# Keep the Gumbel noise finite: log(-log(u)) for u in (tiny, 1).
_UNIFORM_FLOOR = 1e-20



def _as_prefix(priming: np.ndarray, num_classes: int = encoding.NUM_CLASSES) -> np.ndarray:
  """Priming [N] or [N, P] -> int32 [N, P]."""
  priming = np.asarray(priming)
  if priming.ndim == 1:
    priming = priming[:, None]
  if priming.ndim != 2 or priming.shape[1] == 0:
    raise ValueError('priming must be [N] or [N, P] with P >= 1, got shape %s'
                     % (priming.shape,))
  priming_lib.check_class_indices(priming, 'priming', num_classes)
  return priming.astype(np.int32)


@dataclasses.dataclass(frozen=True)
class _TraceKey:
  num_notes: int
  greedy: bool
  with_log_p: bool
  with_distributions: bool = False


class _Sampler:
  """The compiled generation loop of one step model (one trace per batch shape).

  With a ``scorer`` (a prior Note RNN), the scorer is stepped alongside on the same
  history and its log-probability of each chosen note is returned: the scoring pass
  of a tuned model then costs no second graph call and no second one-hot.
  """

  def __init__(self, step_model, key: _TraceKey, scorer=None):
    self._model = encodings.step_model(step_model)
    self._scorer = None if scorer is None else encodings.step_model(scorer)
    self._num_classes = encodings.num_classes(step_model)
    self._key = key
    self.run = tf.function(self._run, reduce_retracing=False)

  def _step_both(self, inputs, state, scorer_state):
    logits, state = self._model.step(inputs, state)
    scorer_logits = None
    if self._scorer is not None:
      scorer_logits, scorer_state = self._scorer.step(inputs, scorer_state)
    return logits, state, scorer_logits, scorer_state

  def _run(self, prefix, seed):
    """prefix int32 [B, P], seed int64 [2] -> (notes int32 [B, T], log_p f32 [B, T]).

    With ``key.with_distributions`` also the log-softmax of the model's and of the
    scorer's logits at every step, float32 [B, T, 38] each (the model's twice
    without a scorer).
    """
    key = self._key
    batch = tf.shape(prefix)[0]
    state = self._model.initial_state(batch)
    scorer_state = () if self._scorer is None else self._scorer.initial_state(batch)
    structure, scorer_structure = state, scorer_state

    def repack(state, scorer_state):
      return (tf.nest.pack_sequence_as(structure, tf.nest.flatten(state)),
              tf.nest.pack_sequence_as(scorer_structure, tf.nest.flatten(scorer_state)))

    for i in tf.range(tf.shape(prefix)[1] - 1):
      _, state, _, scorer_state = self._step_both(
          tf.one_hot(prefix[:, i], self._num_classes), state, scorer_state)
      state, scorer_state = repack(state, scorer_state)
    obs = prefix[:, -1]
    notes = tf.TensorArray(tf.int32, size=key.num_notes)
    log_ps = tf.TensorArray(tf.float32, size=key.num_notes)
    dists = tf.TensorArray(tf.float32, size=key.num_notes if key.with_distributions else 0)
    prior_dists = tf.TensorArray(tf.float32,
                                 size=key.num_notes if key.with_distributions else 0)
    for t in tf.range(key.num_notes):
      logits, state, scorer_logits, scorer_state = self._step_both(
          tf.one_hot(obs, self._num_classes), state, scorer_state)
      state, scorer_state = repack(state, scorer_state)
      logits = tf.cast(logits, tf.float32)
      if key.greedy:
        choice = tf.argmax(logits, axis=-1, output_type=tf.int32)
      else:
        # Gumbel-max: argmax(logits + Gumbel noise) is a draw from softmax(logits).
        step_seed = tf.stack([seed[0], seed[1] * key.num_notes + tf.cast(t, tf.int64)])
        uniform = tf.random.stateless_uniform(
            tf.shape(logits), seed=step_seed, minval=_UNIFORM_FLOOR, maxval=1.0)
        choice = tf.argmax(logits - tf.math.log(-tf.math.log(uniform)), axis=-1,
                           output_type=tf.int32)
      notes = notes.write(t, choice)
      if key.with_log_p:
        scored = logits if scorer_logits is None else tf.cast(scorer_logits, tf.float32)
        log_softmax = tf.nn.log_softmax(scored, axis=-1)
        log_ps = log_ps.write(t, tf.gather(log_softmax, choice, axis=1, batch_dims=1))
      else:
        log_ps = log_ps.write(t, tf.zeros([batch], tf.float32))
      if key.with_distributions:
        dists = dists.write(t, tf.nn.log_softmax(logits, axis=-1))
        prior_logits = logits if scorer_logits is None else tf.cast(scorer_logits, tf.float32)
        prior_dists = prior_dists.write(t, tf.nn.log_softmax(prior_logits, axis=-1))
      obs = choice
    notes, log_ps = tf.transpose(notes.stack()), tf.transpose(log_ps.stack())
    if not key.with_distributions:
      return notes, log_ps
    return (notes, log_ps, tf.transpose(dists.stack(), [1, 0, 2]),
            tf.transpose(prior_dists.stack(), [1, 0, 2]))


_SAMPLERS = weakref.WeakKeyDictionary()
_SAMPLERS_BY_ID = {}


def _sampler(step_model, key: _TraceKey, batch: int, scorer=None) -> _Sampler:
  """One compiled loop per (model, settings, scorer, batch size): each traces once."""
  try:
    per_model = _SAMPLERS.setdefault(step_model, {})
  except TypeError:  # not weak-referenceable: keep it for the process's lifetime
    per_model = _SAMPLERS_BY_ID.setdefault(id(step_model), (step_model, {}))[1]
  cache_key = (key, None if scorer is None else id(scorer), batch)
  if cache_key not in per_model:
    per_model[cache_key] = _Sampler(step_model, key, scorer)
  return per_model[cache_key]


def _even_batch(num: int, batch_size: int) -> int:
  """The batch size that covers ``num`` in as few calls as ``batch_size`` with least padding."""
  calls = -(-num // batch_size)
  return -(-num // calls)


def _batches(num: int, batch_size: int):
  for start in range(0, num, batch_size):
    yield start, min(start + batch_size, num)


def _pad_rows(array: np.ndarray, rows: int) -> np.ndarray:
  if array.shape[0] == rows:
    return array
  pad = np.repeat(array[-1:], rows - array.shape[0], axis=0)
  return np.concatenate([array, pad], axis=0)


def _check_common(num_compositions: int, num_notes: int, batch_size: int) -> None:
  if num_compositions < 1:
    raise ValueError('num_compositions must be >= 1, got %d' % num_compositions)
  if num_notes < 1:
    raise ValueError('num_notes must be >= 1, got %d' % num_notes)
  if batch_size < 1:
    raise ValueError('batch_size must be >= 1, got %d' % batch_size)


def generate_from_prefixes(
    step_model, prefixes: np.ndarray, *, num_notes: int = 32, policy: str = 'sample',
    seed: int = 0, batch_size: int = DEFAULT_BATCH_SIZE, return_log_p: bool = False,
    prior=None, return_distributions: bool = False,
    on_distributions: Optional[Callable[[int, int, np.ndarray, np.ndarray], None]] = None
) -> Union[np.ndarray, Tuple[np.ndarray, ...]]:
  """Continues each prefix with ``num_notes`` notes chosen by the step model.

  Args:
    step_model: ``initial_state(batch)`` and ``step(inputs, state)``.
    prefixes: int [N] (one priming event each) or [N, P] (a primer; the state is
      built from events 0...P-2 and event P-1 is the first observation).
    num_notes: T, notes chosen per composition.
    policy: 'sample' (softmax at temperature 1 of the model's logits) or 'greedy'.
    seed: the sampling seed; the same seed, prefixes and batch size give the same
      notes.
    batch_size: compositions per graph call (the last batch is padded).
    return_log_p: also return the log-probability of each chosen note: under
      ``prior`` when given, else under the step model itself.
    prior: a Note RNN stepped alongside on the same history (for ``return_log_p``);
      the same values as ``score_log_p(prior, prefixes, notes)`` in one pass.
    return_distributions: also return the step model's and the prior's
      log-probabilities of every class before each note, float32 [N, T, 38] each
      (needs ``return_log_p``; without a prior both are the step model's).
    on_distributions: instead of returning them, hand each graph call's two
      [n, T, 38] arrays to ``on_distributions(start, stop, ours, prior's)`` (rows
      start:stop): 100,000 compositions would hold ~1 GB of them.

  Returns:
    notes int32 [N, T], with ``return_log_p`` also log_p float32 [N, T], and with
    ``return_distributions`` also the two [N, T, 38] arrays.
  """
  if policy not in POLICIES:
    raise ValueError('policy must be one of %s, got %r' % (POLICIES, policy))
  priming_lib.check_seed(seed)
  prefixes = _as_prefix(prefixes, encodings.num_classes(step_model))
  num = prefixes.shape[0]
  _check_common(num, num_notes, batch_size)
  batch = _even_batch(num, batch_size)
  if (return_distributions or on_distributions) and not return_log_p:
    raise ValueError('return_distributions and on_distributions need return_log_p')
  if return_distributions and on_distributions:
    raise ValueError('pass return_distributions or on_distributions, not both')
  if prior is step_model or not return_log_p:
    prior = None
  sampler = _sampler(step_model, _TraceKey(int(num_notes), policy == 'greedy',
                                           bool(return_log_p),
                                           bool(return_distributions or on_distributions)),
                     batch, prior)
  outputs = [np.empty((num, num_notes), np.int32)]
  if return_log_p:
    outputs.append(np.empty((num, num_notes), np.float32))
  if return_distributions:
    outputs += [np.empty((num, num_notes, encoding.NUM_CLASSES), np.float32)
                for _ in range(2)]
  for index, (start, stop) in enumerate(_batches(num, batch)):
    chunk = _pad_rows(prefixes[start:stop], batch)
    results = sampler.run(tf.constant(chunk), tf.constant([seed, index], tf.int64))
    for out, result in zip(outputs, results):
      out[start:stop] = result.numpy()[:stop - start]
    if on_distributions is not None:
      on_distributions(start, stop, results[2].numpy()[:stop - start],
                       results[3].numpy()[:stop - start])
  return tuple(outputs) if len(outputs) > 1 else outputs[0]


def generate_compositions(
    step_model, num_compositions: int, *, num_notes: int = 32,
    priming_mode: str = 'random_note', policy: str = 'sample', seed: int = 0,
    batch_size: int = DEFAULT_BATCH_SIZE, semantics: str = 'corrected',
    primers: Optional[np.ndarray] = None, return_log_p: bool = False, prior=None,
    return_distributions: bool = False, on_distributions=None):
  """Generates ``num_compositions`` compositions, all batched in the graph.

  Args:
    step_model: a NoteRnn or a loaded tuned policy (see the module docstring).
    num_compositions: N.
    num_notes: T, notes per composition (the priming event excluded).
    priming_mode: 'random_note' (one random priming event per composition, drawn as
      ``semantics`` says), or a primer-based mode ('single_midi', 'primer_melody',
      'random_midi') which needs ``primers``.
    policy: 'sample' or 'greedy'.
    seed: seeds the priming draw and the sampling.
    batch_size: compositions per graph call.
    semantics: 'corrected' or 'legacy'; only changes the random priming note.
    primers: int [P] or [M, P] encoded primer events for the primer-based modes.
    return_log_p: also return the log-probability of each choice, under ``prior``
      when given, else under the step model itself.
    prior: the Note RNN to score under, stepped in the same graph loop.
    return_distributions: also the model's and the prior's per-step
      log-probabilities [N, T, 38] (see ``generate_from_prefixes``).
    on_distributions: or hand them over batch by batch (``generate_from_prefixes``).

  Returns:
    (priming, notes[, log_p[, log_probs, prior_log_probs]]): priming int32 [N] for
    'random_note' (the priming event) or [N, P] for primers (the whole prefix); notes int32
    [N, T]; both in the step model's classes (``rl_tuner.policy.encodings``: the 38-class
    draw re-encoded).
  """
  _check_common(num_compositions, num_notes, batch_size)
  if priming_mode == 'random_note':
    if primers is not None:
      raise ValueError("priming_mode='random_note' takes no primers")
    priming = priming_lib.random_priming_notes(num_compositions, semantics=semantics, seed=seed)
  elif priming_mode in ('single_midi', 'primer_melody', 'random_midi'):
    if primers is None:
      raise ValueError('priming_mode=%r needs primers' % priming_mode)
    priming = priming_lib.primer_prefixes(primers, num_compositions, seed=seed)
  else:
    raise ValueError('unknown priming_mode %r' % priming_mode)
  # Priming is drawn in the 38-class layout (MIDI 48-83); other configs get it re-encoded.
  priming = encodings.model_classes(step_model, priming)
  out = generate_from_prefixes(step_model, priming, num_notes=num_notes, policy=policy,
                               seed=seed, batch_size=batch_size, return_log_p=return_log_p,
                               prior=prior, return_distributions=return_distributions,
                               on_distributions=on_distributions)
  if return_log_p:
    return (priming,) + tuple(out)
  return priming, out


class _Scorer:
  """log p(note_t | history) under one prior, compiled once per batch shape.

  It steps the prior over the history with teacher forcing (``prior.step`` in a
  graph loop). That is the same computation as ``prior.logits`` over the whole
  sequence (the tests check both) and measured 2.4x faster on 2 CPU cores than
  the Keras LSTM layer's loop.
  """

  def __init__(self, prior):
    self._prior = encodings.step_model(prior)
    self._num_classes = encodings.num_classes(prior)
    self.run = tf.function(self._run, reduce_retracing=False)

  def _run(self, history, num_notes):
    """history int32 [B, P + T] -> float32 [B, T]: log p of the last T events."""
    prior = self._prior
    batch, length = tf.shape(history)[0], tf.shape(history)[1]
    state = prior.initial_state(batch)
    structure = state
    out = tf.TensorArray(tf.float32, size=length - 1)
    for i in tf.range(length - 1):
      logits, state = prior.step(tf.one_hot(history[:, i], self._num_classes), state)
      state = tf.nest.pack_sequence_as(structure, tf.nest.flatten(state))
      log_softmax = tf.nn.log_softmax(tf.cast(logits, tf.float32), axis=-1)
      out = out.write(i, tf.gather(log_softmax, history[:, i + 1], axis=1, batch_dims=1))
    return tf.transpose(out.stack())[:, -num_notes:]


_SCORERS = weakref.WeakKeyDictionary()


def score_log_p(prior, priming: np.ndarray, notes: np.ndarray, *,
                batch_size: int = DEFAULT_BATCH_SIZE) -> np.ndarray:
  """log p(note_t | priming, notes_<t) under a Note RNN, for every note.

  Runs the prior once over each whole history (priming then notes) from the initial
  state, batched with fixed shapes: the same values as ``prior.logits`` over the
  sequence, computed with ``prior.step`` in a graph loop (faster on CPU).

  Args:
    prior: a NoteRnn (any step model works).
    priming: int [N] (one priming event) or [N, P] (a primer prefix).
    notes: int [N, T] chosen notes.
    batch_size: compositions per graph call.

  Returns:
    float32 [N, T], natural-log probabilities.
  """
  prefix = _as_prefix(priming, encodings.num_classes(prior))
  notes = np.asarray(notes)
  if notes.ndim != 2 or notes.shape[0] != prefix.shape[0]:
    raise ValueError('notes must be [N, T] with N = %d priming rows, got shape %s'
                     % (prefix.shape[0], notes.shape))
  priming_lib.check_class_indices(notes, 'notes', encodings.num_classes(prior))
  num, num_notes = notes.shape
  _check_common(num, max(num_notes, 1), batch_size)
  if num_notes == 0:
    return np.zeros((num, 0), np.float32)
  history = np.concatenate([prefix, notes.astype(np.int32)], axis=1)
  batch = _even_batch(num, batch_size)
  try:
    per_prior = _SCORERS.setdefault(prior, {})
  except TypeError:  # not weak-referenceable: compile afresh
    per_prior = {}
  scorer = per_prior.get((batch, history.shape[1]))
  if scorer is None:
    scorer = per_prior[(batch, history.shape[1])] = _Scorer(prior)
  out = np.empty((num, num_notes), np.float32)
  for start, stop in _batches(num, batch):
    chunk = _pad_rows(history[start:stop], batch)
    out[start:stop] = scorer.run(tf.constant(chunk), num_notes).numpy()[:stop - start]
  return out


def compositions_to_events(notes: np.ndarray) -> Sequence[np.ndarray]:
  """Encoded notes [N, T] -> one Melody event array per composition (MIDI = k + 46)."""
  return [encoding.index_to_event(row) for row in np.asarray(notes)]


def next_event_probabilities(step_model, prefix: Sequence[int],
                             notes: Sequence[int]) -> np.ndarray:
  """p(next event | history) before each note of one composition (for plots).

  Args:
    step_model: a NoteRnn or a tuned policy; its logits' softmax is reported (for a
      tuned policy that is its sampling distribution).
    prefix: int [P], the priming (last event = first observation).
    notes: int [T].

  Returns:
    float32 [T, 38]: row t is the distribution that note t was chosen from.
  """
  history = np.concatenate([np.asarray(prefix, np.int32).reshape(-1),
                            np.asarray(notes, np.int32).reshape(-1)])
  num_classes = encodings.num_classes(step_model)
  priming_lib.check_class_indices(history, 'history', num_classes)
  num_prefix, num_notes = len(history) - len(notes), len(notes)
  step_model = encodings.step_model(step_model)
  state = step_model.initial_state(1)
  rows = []
  for i in range(len(history) - 1):
    logits, state = step_model.step(tf.one_hot([history[i]], num_classes), state)
    if i + 1 >= num_prefix:
      rows.append(tf.nn.softmax(tf.cast(logits, tf.float32), axis=-1).numpy()[0])
  return (np.asarray(rows[-num_notes:], np.float32) if num_notes
          else np.zeros((0, num_classes)))
