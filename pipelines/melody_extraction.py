"""Monophonic melody extraction from a quantized NoteSequence (pure).

note-seq 0.0.5 has ``Melody.from_quantized_sequence`` but not the loop and
filters around it, which live in Magenta's ``melody_pipelines``. This module
re-implements them from Magenta's documented behaviour, with the
same statistics names, so the output and counters match Magenta's for every
input:

* every distinct ``note.instrument`` is scanned in the iteration order of a
  Python ``set`` built from the notes in order (what Magenta does);
* melodies are taken one after another from a search start step; a melody
  ends after ``gap_bars`` bars of silence; the next search starts at the next
  bar boundary (relative to the initial search start) at or after its end;
* polyphony (two onsets on one step, with ``ignore_polyphonic_notes`` False)
  abandons the rest of that instrument (``polyphonic_tracks_discarded``); the
  melodies already taken from it stay;
* filters in order: shorter than ``min_bars`` bars (``too_short``); longer than
  ``max_steps_discard`` (``too_long``, unused by the dataset tool); longer than
  ``max_steps_truncate`` -> truncated (``melodies_truncated``); fewer than
  ``min_unique_pitches`` pitch classes after truncation (``too_few_pitches``).
"""

import dataclasses
from typing import Dict, List, Optional, Tuple

import note_seq
import numpy as np
from note_seq import sequences_lib
from note_seq.protobuf import music_pb2

POLYPHONIC_TRACKS_DISCARDED = 'polyphonic_tracks_discarded'
MELODIES_DISCARDED_TOO_SHORT = 'melodies_discarded_too_short'
MELODIES_DISCARDED_TOO_FEW_PITCHES = 'melodies_discarded_too_few_pitches'
MELODIES_DISCARDED_TOO_LONG = 'melodies_discarded_too_long'
MELODIES_TRUNCATED = 'melodies_truncated'
MELODY_LENGTHS_IN_BARS = 'melody_lengths_in_bars'
NON_INTEGER_STEPS_PER_BAR = 'non_integer_steps_per_bar'

COUNTER_NAMES = (POLYPHONIC_TRACKS_DISCARDED, MELODIES_DISCARDED_TOO_SHORT,
                 MELODIES_DISCARDED_TOO_FEW_PITCHES, MELODIES_DISCARDED_TOO_LONG,
                 MELODIES_TRUNCATED)


def length_histogram_boundaries(min_bars: int) -> List[int]:
  """Sorted bucket lower bounds of Magenta's melody_lengths_in_bars histogram.

  The buckets are [-inf, b0), [b0, b1), ..., [b_last, inf).
  """
  return sorted({0, 1, 10, 20, 30, 40, 50, 100, 200, 500, min_bars // 2,
                 min_bars, min_bars + 1, min_bars - 1})


@dataclasses.dataclass
class ExtractionStats:
  """The counters of one extraction call, plus the length histogram values.

  Attributes:
    counters: name -> count, always with every name of COUNTER_NAMES.
    lengths_in_bars: the length in whole bars of every accepted melody.
    min_bars: the min_bars used (it defines the histogram's buckets).
  """
  counters: Dict[str, int]
  lengths_in_bars: List[int]
  min_bars: int


def extract_melodies(
    quantized_sequence: music_pb2.NoteSequence,
    search_start_step: int = 0,
    min_bars: int = 7,
    max_steps_truncate: Optional[int] = None,
    max_steps_discard: Optional[int] = None,
    gap_bars: float = 1.0,
    min_unique_pitches: int = 5,
    ignore_polyphonic_notes: bool = True,
    pad_end: bool = False,
    filter_drums: bool = True,
) -> Tuple[List[note_seq.Melody], ExtractionStats]:
  """Extracts the monophonic melodies of every instrument of a sequence.

  The defaults are Magenta's ``extract_melodies`` defaults; the melody dataset
  uses min_bars=7, max_steps_truncate=512, min_unique_pitches=5, gap_bars=1,
  ignore_polyphonic_notes=False (see ``MELODY_RNN_EXTRACTOR_ARGS``).

  Args:
    quantized_sequence: a NoteSequence quantized relative to tempo
      (``sequences_lib.quantize_note_sequence``).
    search_start_step: where the search starts (a bar's first step).
    min_bars: shorter melodies are discarded.
    max_steps_truncate: longer melodies are cut to this many steps (minus the
      incomplete bar when `pad_end`).
    max_steps_discard: longer melodies are discarded.
    gap_bars: this many bars of silence end a melody.
    min_unique_pitches: melodies with fewer distinct pitch classes are
      discarded.
    ignore_polyphonic_notes: if False, a track with two onsets on one step is
      abandoned from that point on.
    pad_end: pad each melody with NO_EVENTs to a bar boundary.
    filter_drums: ignore drum notes.

  Returns:
    (melodies, stats): the accepted ``note_seq.Melody`` objects in instrument,
    then time order, and their statistics.

  Raises:
    note_seq.NonIntegerStepsPerBarError: the time signature does not give a
      whole number of steps per bar (Magenta counts it as
      ``non_integer_steps_per_bar`` one level up; see ``melody_dataset``).
    sequences_lib.QuantizationStatusError: the sequence is not quantized.
  """
  sequences_lib.assert_is_relative_quantized_sequence(quantized_sequence)
  counters = {name: 0 for name in COUNTER_NAMES}
  lengths_in_bars = []
  melodies = []
  bar_steps = int(
      sequences_lib.steps_per_bar_in_quantized_sequence(quantized_sequence))
  instruments = set(note.instrument for note in quantized_sequence.notes)
  for instrument in instruments:
    start = search_start_step
    while True:
      melody = note_seq.Melody()
      try:
        melody.from_quantized_sequence(
            quantized_sequence, search_start_step=start, instrument=instrument,
            gap_bars=gap_bars, ignore_polyphonic_notes=ignore_polyphonic_notes,
            pad_end=pad_end, filter_drums=filter_drums)
      except note_seq.PolyphonicMelodyError:
        counters[POLYPHONIC_TRACKS_DISCARDED] += 1
        break
      # The next search begins on the first bar line (counted from the
      # original search start) at or after this melody's end.
      previous_start = start
      start = melody.end_step + (search_start_step - melody.end_step) % bar_steps
      if not melody or start <= previous_start:  # (no progress: never loop forever)
        break
      if len(melody) < melody.steps_per_bar * min_bars:
        counters[MELODIES_DISCARDED_TOO_SHORT] += 1
        continue
      if max_steps_discard is not None and len(melody) > max_steps_discard:
        counters[MELODIES_DISCARDED_TOO_LONG] += 1
        continue
      if max_steps_truncate is not None and len(melody) > max_steps_truncate:
        length = max_steps_truncate
        if pad_end:
          length -= max_steps_truncate % melody.steps_per_bar
        melody.set_length(length)
        counters[MELODIES_TRUNCATED] += 1
      if np.count_nonzero(melody.get_note_histogram()) < min_unique_pitches:
        counters[MELODIES_DISCARDED_TOO_FEW_PITCHES] += 1
        continue
      lengths_in_bars.append(len(melody) // melody.steps_per_bar)
      melodies.append(melody)
  return melodies, ExtractionStats(counters, lengths_in_bars, min_bars)


# The fixed arguments of Magenta's melody_rnn dataset (MelodyExtractor).
MELODY_RNN_EXTRACTOR_ARGS = dict(
    min_bars=7, max_steps_truncate=512, min_unique_pitches=5, gap_bars=1.0,
    ignore_polyphonic_notes=False, filter_drums=True, pad_end=False)
