"""The harmony rule: `chord_tone` over a chord progression (one chord per bar).

`--chord_progression='C G Am F'` names one chord per 16-step bar, repeated
for as many bars as a composition has; figures are parsed by note-seq's
`chord_symbol_pitches` (`Cmaj7`, `Dm`, `G7`, ...; `N.C.` is no chord).
`chord_tone` rewards a struck note (a pitch event) whose pitch class is a tone
of its bar's chord: +1, and +3 instead on steps 0 and 8 of the bar (the strong
beats), where the harmony is heard most. It works on every pitch 0-127. `rule_api` registers it.
"""

import warnings
from typing import FrozenSet, List, Optional, Sequence

import numpy as np

from pipelines.errors import FlagError

CHORD_TONE_REWARD = 1.0
STRONG_BEAT_CHORD_TONE_REWARD = 3.0
STRONG_BEATS = (0, 8)  # steps of a 16-step bar
NO_CHORD = 'N.C.'
STEPS_PER_BAR = 16  # 4/4 in sixteenth-note steps (encoding.STEPS_PER_QUARTER * 4)


def parse_progression(text: str, flag: str = 'chord_progression') -> List[str]:
  """'C G Am F' (spaces or commas) -> ['C', 'G', 'Am', 'F'], each checked by note-seq.

  Raises:
    FlagError: an empty progression or a figure note-seq cannot parse.
  """
  figures = [f for f in str(text).strip().strip('\'"').replace(',', ' ').split() if f]
  if not figures:
    raise FlagError(flag, 'names no chord (e.g. "C G Am F")')
  for figure in figures:
    chord_pitch_classes(figure, flag)
  return figures


def chord_pitch_classes(figure: str, flag: str = 'chord_progression') -> FrozenSet[int]:
  """The pitch classes of one chord figure (empty for N.C.)."""
  if figure == NO_CHORD:
    return frozenset()
  with warnings.catch_warnings():  # note-seq's audio import warns about ffmpeg
    warnings.simplefilter('ignore')
    from note_seq import chord_symbols_lib  # pylint: disable=g-import-not-at-top
  try:
    return frozenset(int(p) % 12 for p in chord_symbols_lib.chord_symbol_pitches(figure))
  except chord_symbols_lib.ChordSymbolError as e:
    raise FlagError(flag, 'cannot parse chord %r: %s' % (figure, e)) from None


def chords_per_step(progression, num_steps: int,
                    steps_per_bar: int = STEPS_PER_BAR) -> List[FrozenSet[int]]:
  """One frozenset of pitch classes per step: bar b plays chord b mod len(progression)."""
  figures = parse_progression(progression) if isinstance(progression, str) else list(
      progression)
  sets = [chord_pitch_classes(f) for f in figures]
  return [sets[(t // steps_per_bar) % len(sets)] for t in range(int(num_steps))]


def _chord_tone_mask(melodies: np.ndarray, chords: Sequence[FrozenSet[int]]) -> np.ndarray:
  """bool [B, T]: a struck pitch whose pitch class is in its step's chord."""
  steps = melodies.shape[1]
  if len(chords) < steps:
    raise ValueError('context.chords has %d steps, melodies have %d' % (len(chords), steps))
  table = np.zeros((steps, 12), dtype=bool)
  for t in range(steps):
    table[t, list(chords[t])] = True
  pitched = melodies >= 0
  pitch_class = np.where(pitched, melodies, 0) % 12
  return pitched & table[np.arange(steps)[None, :], pitch_class]


def _strong_beats(steps: int, steps_per_bar: int) -> np.ndarray:
  return np.isin(np.arange(steps) % steps_per_bar, STRONG_BEATS)


def chord_tone(melodies, *, context) -> np.ndarray:
  """+1 for a struck chord tone of the bar's chord, +3 on steps 0 and 8; 0 without chords."""
  melodies = np.asarray(melodies, np.int64)
  if context.chords is None:
    return np.zeros(melodies.shape, np.float64)
  hit = _chord_tone_mask(melodies, context.chords)
  strong = _strong_beats(melodies.shape[1], context.steps_per_bar)[None, :]
  value = np.where(strong, STRONG_BEAT_CHORD_TONE_REWARD, CHORD_TONE_REWARD)
  return np.where(hit, value, 0.0)


def strong_beat_chord_tone_share(melodies, chords: Optional[Sequence[FrozenSet[int]]],
                                 steps_per_bar: int = STEPS_PER_BAR
                                 ) -> Optional[float]:
  """Of the notes struck on steps 0 and 8 of a bar, the share that are chord tones.

  None without chords or without a struck note on those steps.
  """
  melodies = np.asarray(melodies, np.int64)
  if chords is None or melodies.size == 0:
    return None
  strong = _strong_beats(melodies.shape[1], steps_per_bar)[None, :]
  struck = (melodies >= 0) & strong
  if not np.any(struck):
    return None
  return float(np.sum(_chord_tone_mask(melodies, chords) & struck) / np.sum(struck))
