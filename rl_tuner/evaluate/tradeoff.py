"""The figures of the reward/diversity trade-off a sweep plots, one dict per model.

`rule_score` is the mean *unscaled* corrected music-theory reward per note
(`rules.music_theory_reward`, mode music_theory_only: every rule, no λ, no log p), so runs
trained with different λ or reward modes are compared on one scale.

The diversity/realism keys (`kl_to_note_rnn_per_note`, `distinct_8grams_ratio`,
`js_note_lengths`, ...) are the evaluation's own when its metrics.json has them; for an
evaluation that lacks them, `fallback_figures` computes the two the plot needs with the
same definitions: the exact KL(π ‖ Note RNN) over all 38 classes on the sampled histories,
averaged over the sampled steps, and the distinct 8-event windows of the first 5,000
compositions over the Note RNN's (same number of compositions, same seed).
"""

from typing import Dict, Optional

import numpy as np
import tensorflow as tf

from pipelines import encoding
from rl_tuner.music import rules

NGRAM = 8
NGRAM_COMPOSITIONS = 5000
DIVERSITY_KEYS = ('kl_to_note_rnn_per_note', 'distinct_8grams_ratio', 'js_note_lengths',
                  'js_intervals', 'top_composition_share')


def rule_score(notes: np.ndarray, *, key='C', num_notes: Optional[int] = None) -> float:
  """Mean unscaled corrected music-theory reward per note of compositions [N, T]."""
  notes = np.asarray(notes)
  reward = rules.music_theory_reward(notes, key=key, semantics='corrected',
                                     reward_mode='music_theory_only',
                                     num_notes=num_notes or notes.shape[1])
  return float(np.mean(reward, dtype=np.float64))


def distinct_ngrams(notes: np.ndarray, n: int = NGRAM,
                    max_compositions: int = NGRAM_COMPOSITIONS) -> int:
  """Distinct windows of n consecutive classes inside a row (base-38 hashes), first rows."""
  x = np.asarray(notes, np.int64)[:max_compositions]
  if x.shape[1] < n:
    return 0
  codes = np.zeros((x.shape[0], x.shape[1] - n + 1), np.int64)
  for k in range(n):
    codes = codes * encoding.NUM_CLASSES + x[:, k:x.shape[1] - n + 1 + k]
  return int(np.unique(codes).size)


def _history(priming: np.ndarray, notes: np.ndarray) -> np.ndarray:
  prefix = np.asarray(priming)
  prefix = prefix[:, None] if prefix.ndim == 1 else prefix
  return np.concatenate([prefix, np.asarray(notes)], axis=1).astype(np.int32)


def exact_kl_per_note(policy, prior, priming: np.ndarray, notes: np.ndarray) -> float:
  """Mean over the sampled steps of Σ_a π(a|h)(log π(a|h) − log p(a|h)), h the history."""
  history = _history(priming, notes)
  num_notes = notes.shape[1]
  first = history.shape[1] - num_notes - 1  # the step whose output predicts note 0

  @tf.function(autograph=False)
  def run(history):
    batch = tf.shape(history)[0]
    state = (policy.initial_state(batch), prior.initial_state(batch))

    def body(t, state, total):
      one_hot = tf.one_hot(history[:, t], encoding.NUM_CLASSES)
      logits, policy_state = policy.step(one_hot, state[0])
      prior_logits, prior_state = prior.step(one_hot, state[1])
      log_pi = tf.nn.log_softmax(logits, axis=-1)
      kl = tf.reduce_sum(tf.exp(log_pi) * (log_pi - tf.nn.log_softmax(prior_logits, -1)), -1)
      total += tf.where(t >= first, tf.reduce_sum(kl), 0.0)
      return t + 1, (policy_state, prior_state), total

    _, _, total = tf.while_loop(lambda t, *_: t < first + num_notes, body,
                                (tf.constant(0), state, tf.constant(0.0)))
    return total

  total = 0.0
  for start in range(0, history.shape[0], 1000):
    total += float(run(tf.constant(history[start:start + 1000])))
  return total / notes.size


def fallback_figures(entry: Dict, *, policy, prior, priming, notes, note_rnn_notes
                     ) -> Dict[str, float]:
  """The plot's two diversity keys where the evaluation `entry` has none."""
  out = {}
  if 'kl_to_note_rnn_per_note' not in entry:
    out['kl_to_note_rnn_per_note'] = exact_kl_per_note(policy, prior, priming, notes)
  if 'distinct_8grams_ratio' not in entry:
    out['distinct_8grams_ratio'] = distinct_ngrams(notes) / max(
        1, distinct_ngrams(note_rnn_notes))
  return out
