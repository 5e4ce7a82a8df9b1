"""Diversity and realism of generated melodies: what the music-theory rules do not see.

The rules reward motifs, the tonic and the key; a tuned model can satisfy them with
one formula played again and again, or by trading the Note RNN's rhythm for a stream
of new notes. These figures measure that, as pure numpy over a batch:

* diversity: the share of distinct compositions and of the most common one, and the
  number of distinct 4- and 8-event windows (holds and note-offs included);
* realism: Jensen–Shannon distances between histograms of note lengths, intervals and
  pitch classes of two sets of melodies (a tuned model and the untuned Note RNN);
* the policy's exact entropy and KL(π ‖ Note RNN) per sampled step.

The goal's floors and ceilings on these figures, and the collapse warnings, live in
`rl_tuner.music.goal`.

Compositions are class indices [N, T] (0 = hold, 1 = note-off, k >= 2 = MIDI k + 46,
the priming event excluded) for the window counts. The histograms read Magenta melody
events [N, T] (−2 = no event, −1 = note-off, MIDI pitch), so they serve both encodings:
for class indices call `pipelines.encoding.index_to_event(notes)` first.
"""

from typing import Dict

import numpy as np

from pipelines import encoding

NGRAM_COMPOSITIONS = 5000  # distinct windows are counted over the first 5,000 rows
MAX_NOTE_LENGTH = 16  # note-length bins 1 .. 16 steps; longer notes fall in 16
MAX_INTERVAL = 12  # interval bins -12 .. +12 semitones; wider ones are clipped
NUM_PITCH_CLASSES = 12


def _as_rows(compositions) -> np.ndarray:
  x = np.asarray(compositions)
  if x.ndim != 2 or x.shape[0] == 0:
    raise ValueError('compositions must be [N, T] with N >= 1, got shape %s' % (x.shape,))
  if x.size and not np.issubdtype(x.dtype, np.integer):
    raise ValueError('compositions must hold integers, got %s' % x.dtype)
  return x.astype(np.int64, copy=False)


def _row_counts(compositions) -> np.ndarray:
  """How often each distinct row occurs (in no particular order)."""
  x = _as_rows(compositions)
  _, counts = np.unique(x, axis=0, return_counts=True)
  return counts


def distinct_compositions(compositions) -> float:
  """The share of distinct rows: 1.0 when no composition repeats, 1/N for one loop."""
  counts = _row_counts(compositions)
  return len(counts) / counts.sum()


def top_composition_share(compositions) -> float:
  """The share of the most common row (1/N when every row is distinct)."""
  counts = _row_counts(compositions)
  return counts.max() / counts.sum()


def distinct_ngrams(compositions, n: int, *,
                    max_compositions: int = NGRAM_COMPOSITIONS) -> int:
  """Distinct windows of n consecutive events within a row, over the first rows.

  Windows never span two compositions; holds and note-offs are events like pitches.
  Each window is hashed exactly as a base-38 number (38**8 < 2**63).
  """
  x = _as_rows(compositions)[:max_compositions]
  if not 1 <= n <= 12:
    raise ValueError('n must be in 1 .. 12 (base-38 windows fit in int64), got %d' % n)
  if x.min() < 0 or x.max() >= encoding.NUM_CLASSES:
    raise ValueError('compositions hold class indices outside [0, %d)' % encoding.NUM_CLASSES)
  if x.shape[1] < n:
    return 0
  windows = np.lib.stride_tricks.sliding_window_view(x, n, axis=1)
  powers = encoding.NUM_CLASSES ** np.arange(n - 1, -1, -1, dtype=np.int64)
  return len(np.unique(windows @ powers))


def distinct_4grams(compositions) -> int:
  return distinct_ngrams(compositions, 4)


def distinct_8grams(compositions) -> int:
  return distinct_ngrams(compositions, 8)


def distinct_8grams_ratio(model_count: int, note_rnn_count: int) -> float:
  """A model's distinct 8-grams over the untuned Note RNN's (same number of rows)."""
  if note_rnn_count <= 0:
    return float('nan')
  return model_count / note_rnn_count


def note_lengths(events) -> np.ndarray:
  """int [M]: the length in steps of every note struck in melody events [N, T].

  A note lasts from its pitch to the next pitch or note-off (holds extend it); a
  note still sounding at the end of its row ends there.
  """
  e = _as_rows(events)
  length = e.shape[1]
  struck = e >= 0
  boundary = struck | (e == encoding.MELODY_NOTE_OFF)
  steps = np.arange(length)
  later = np.full(e.shape, length, dtype=np.int64)
  later[:, :-1] = np.where(boundary[:, 1:], steps[1:], length)
  next_boundary = np.minimum.accumulate(later[:, ::-1], axis=1)[:, ::-1]
  return (next_boundary - steps)[struck]


def note_length_histogram(events) -> np.ndarray:
  """int64 [16]: bin i counts notes of i + 1 steps (the last bin: 16 or longer)."""
  lengths = np.minimum(note_lengths(events), MAX_NOTE_LENGTH)
  return np.bincount(lengths - 1, minlength=MAX_NOTE_LENGTH)


def intervals(events) -> np.ndarray:
  """int [M]: signed semitones between consecutive struck pitches of each row.

  Holds and note-offs in between are skipped; the first pitch of a row has none.
  """
  e = _as_rows(events)
  rows, _ = np.nonzero(e >= 0)
  pitches = e[e >= 0]
  same_row = rows[1:] == rows[:-1]
  return (pitches[1:] - pitches[:-1])[same_row]


def interval_histogram(events) -> np.ndarray:
  """int64 [25]: bin i counts intervals of i − 12 semitones (clipped to ±12)."""
  clipped = np.clip(intervals(events), -MAX_INTERVAL, MAX_INTERVAL)
  return np.bincount(clipped + MAX_INTERVAL, minlength=2 * MAX_INTERVAL + 1)


def pitch_class_histogram(events) -> np.ndarray:
  """int64 [12]: struck pitches by pitch class (0 = C)."""
  e = _as_rows(events)
  return np.bincount(e[e >= 0] % NUM_PITCH_CLASSES, minlength=NUM_PITCH_CLASSES)


def js_distance(counts_p, counts_q) -> float:
  """Jensen–Shannon distance, base 2, of two histograms: sqrt(JSD) in [0, 1].

  NaN when either histogram is empty (no distribution to compare).
  """
  p = np.asarray(counts_p, dtype=np.float64)
  q = np.asarray(counts_q, dtype=np.float64)
  if p.shape != q.shape:
    raise ValueError('histograms differ in shape: %s vs %s' % (p.shape, q.shape))
  if p.sum() <= 0 or q.sum() <= 0:
    return float('nan')
  p, q = p / p.sum(), q / q.sum()
  m = (p + q) / 2

  def kl_to_m(a):
    nonzero = a > 0
    return np.sum(a[nonzero] * np.log2(a[nonzero] / m[nonzero]))

  divergence = 0.5 * kl_to_m(p) + 0.5 * kl_to_m(q)
  return float(np.sqrt(min(max(divergence, 0.0), 1.0)))


def js_note_lengths(events, reference_events) -> float:
  return js_distance(note_length_histogram(events), note_length_histogram(reference_events))


def js_intervals(events, reference_events) -> float:
  return js_distance(interval_histogram(events), interval_histogram(reference_events))


def js_pitch_classes(events, reference_events) -> float:
  return js_distance(pitch_class_histogram(events), pitch_class_histogram(reference_events))



REALISM_FIGURES = (('js_note_lengths', note_length_histogram),
                   ('js_intervals', interval_histogram),
                   ('js_pitch_classes', pitch_class_histogram))


def melody_histograms(melodies) -> dict:
  """The three realism histograms summed over melodies of any lengths (1-D event arrays).

  Each melody is its own row, so no interval or note spans two melodies.
  """
  out = {}
  for name, histogram in REALISM_FIGURES:
    out[name] = sum(histogram(np.asarray(m)[None, :]) for m in melodies)
  return out


def js_vs_reference(events, reference_histograms) -> dict:
  """`js_*_vs_reference`: the realism distances of compositions to reference melodies."""
  return {name + '_vs_reference': js_distance(histogram(events), reference_histograms[name])
          for name, histogram in REALISM_FIGURES}


def _as_log_probs(log_probs, name: str) -> np.ndarray:
  lp = np.asarray(log_probs, dtype=np.float64)
  if lp.ndim < 1 or lp.size == 0:
    raise ValueError('%s must be [..., classes] and not empty, got shape %s'
                     % (name, lp.shape))
  return lp


def entropy_per_step(log_probs) -> np.ndarray:
  """float [...]: the exact entropy (nats) of each step's next-event distribution.

  Args:
    log_probs: float [..., C]: log-softmax of the policy's logits at every sampled
      step (log-probabilities, so that classes whose probability underflows to 0
      still count exactly: they add 0).
  """
  lp = _as_log_probs(log_probs, 'log_probs')
  p = np.exp(lp)
  return np.where(p > 0, -p * np.where(np.isfinite(lp), lp, 0.0), 0.0).sum(axis=-1)


def kl_per_step(policy_log_probs, note_rnn_log_probs) -> np.ndarray:
  """float [...]: exact KL(π ‖ Note RNN) (nats) over all classes at each step.

  Args:
    policy_log_probs: float [..., C], the policy's log-probabilities at each step.
    note_rnn_log_probs: float [..., C], the prior's on the same histories.
  """
  lp = _as_log_probs(policy_log_probs, 'policy_log_probs')
  lq = _as_log_probs(note_rnn_log_probs, 'note_rnn_log_probs')
  if lp.shape != lq.shape:
    raise ValueError('log-probability arrays differ in shape: %s vs %s'
                     % (lp.shape, lq.shape))
  p = np.exp(lp)
  with np.errstate(invalid='ignore'):
    return np.where(p > 0, p * (lp - lq), 0.0).sum(axis=-1)


def entropy_per_note(log_probs) -> float:
  """The mean of `entropy_per_step` over the sampled steps."""
  return float(entropy_per_step(log_probs).mean())


def kl_to_note_rnn_per_note(policy_log_probs, note_rnn_log_probs) -> float:
  """The mean of `kl_per_step` over the sampled steps."""
  return float(kl_per_step(policy_log_probs, note_rnn_log_probs).mean())


def diversity_figures(notes, note_rnn_notes, *, log_probs=None,
                      note_rnn_log_probs=None) -> Dict[str, float]:
  """Every figure of one model against the untuned Note RNN's compositions.

  Args:
    notes: int [N, T] class indices of the model's compositions.
    note_rnn_notes: int [N', T] the untuned Note RNN's, drawn the same way.
    log_probs: optional float [N, T, C]: the model's per-step log-probabilities.
    note_rnn_log_probs: optional float [N, T, C]: the Note RNN's on the same
      histories (needs log_probs; for the Note RNN itself pass its own: KL 0).

  Returns:
    {metrics.json key: value} (NaN for what cannot be defined).
  """
  events = encoding.index_to_event(_as_rows(notes))
  reference = encoding.index_to_event(_as_rows(note_rnn_notes))
  count_8grams = distinct_8grams(notes)
  out = dict(
      distinct_compositions=distinct_compositions(notes),
      top_composition_share=top_composition_share(notes),
      distinct_4grams=distinct_4grams(notes),
      distinct_8grams=count_8grams,
      distinct_8grams_ratio=distinct_8grams_ratio(count_8grams,
                                                  distinct_8grams(note_rnn_notes)),
      js_note_lengths=js_note_lengths(events, reference),
      js_intervals=js_intervals(events, reference),
      js_pitch_classes=js_pitch_classes(events, reference))
  if log_probs is not None:
    out['entropy_per_note'] = entropy_per_note(log_probs)
    if note_rnn_log_probs is not None:
      out['kl_to_note_rnn_per_note'] = kl_to_note_rnn_per_note(log_probs, note_rnn_log_probs)
  return {k: float(v) for k, v in out.items()}
