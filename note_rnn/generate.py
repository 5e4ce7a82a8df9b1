"""Melody generation with Magenta's ``melody_rnn_generate`` conventions.

* The primer is a list of Melody events or a MIDI file; with neither, a single middle C.
  It goes through the same steps as Magenta's generator: rendered to a NoteSequence, the
  generate section starts one step after its last note ends, the melody is extracted
  (gap_bars = inf, min_bars 0, min_unique_pitches 1, polyphony ignored), padded to the start
  step (which ends a sustained note), squashed into [48, 84) and transposed to C, continued
  by the model, and transposed back to the primer's register.
* ``num_steps`` is the total length including the primer. qpm is ``--qpm`` (default 120),
  or the primer MIDI's first tempo.
* Output: one MIDI per melody, primer included, velocity 100, program 0, 220 ticks per
  quarter, named ``<YYYY-MM-DD_HHMMSS>_<i>.mid`` with i zero-padded to the digits of
  ``num_outputs``.

Classes become Melody events through the model's ``events_from_classes`` (basic_rnn: index
k >= 2 is MIDI pitch k + 46, so there is no +2-semitone offset; lookback and attention repeat
labels resolve against the melody so far).
"""

import dataclasses
import os
import time
from typing import Optional, Sequence

import note_seq
import numpy as np

from note_rnn import loading
from note_rnn import melody_configs
from note_rnn import model as model_lib
from note_rnn import sample as sample_lib
from pipelines import encoding
from pipelines import limits
from pipelines import melody_extraction

DEFAULT_QPM = 120.0
DEFAULT_PRIMER = (60,)  # Magenta's default: a single middle C


@dataclasses.dataclass
class PreparedPrimer:
  """A primer ready for the model.

  Attributes:
    melody: the primer melody, padded to the generation start and squashed into range.
    transpose_amount: semitones squash moved it by (undone after generation).
    total_steps: melody length after generation (from ``melody.start_step``).
    qpm: tempo of the output.
    config: the melody config whose class layout ``indices`` uses.
  """
  melody: note_seq.Melody
  transpose_amount: int
  total_steps: int
  qpm: float
  config: melody_configs.MelodyConfig = melody_configs.get('basic_rnn')

  @property
  def indices(self) -> np.ndarray:
    return melody_configs.classes_from_events(self.config, [list(self.melody)])[0]


def primer_sequence(primer_melody: Optional[Sequence[int]] = None,
                    primer_midi: Optional[str] = None, qpm: Optional[float] = None):
  """The primer as a NoteSequence, and the qpm to use (a primer MIDI's tempo wins)."""
  if primer_melody is not None and primer_midi:
    raise ValueError('give a primer melody or a primer MIDI, not both')
  qpm = qpm or DEFAULT_QPM
  if primer_midi:
    # Bounded like the converters: pretty_midi allocates one float per tick.
    limits.check_file_size(primer_midi, limits.DEFAULT_MAX_FILE_BYTES)
    with open(primer_midi, 'rb') as f:
      data = f.read()
    limits.check_midi_ticks(data, primer_midi)
    seq = note_seq.midi_to_note_sequence(data)
    if seq.tempos and seq.tempos[0].qpm:
      qpm = seq.tempos[0].qpm
    return seq, qpm
  events = list(primer_melody) if primer_melody is not None else list(DEFAULT_PRIMER)
  for e in events:
    if not (e in (encoding.MELODY_NO_EVENT, encoding.MELODY_NOTE_OFF) or 0 <= e < 128):
      raise ValueError('primer melody event %r is not -2, -1 or a MIDI pitch 0..127' % (e,))
  return note_seq.Melody(events).to_sequence(qpm=qpm), qpm


def prepare_primer(sequence, qpm: float, num_steps: int,
                   config: str = 'basic_rnn') -> PreparedPrimer:
  """Magenta's generator steps from primer NoteSequence to the squashed primer melody.

  Raises:
    ValueError: the primer is not shorter than ``num_steps``.
  """
  seconds_per_step = 60.0 / qpm / encoding.STEPS_PER_QUARTER
  last_end = max((n.end_time for n in sequence.notes), default=0.0)
  start_time = last_end + seconds_per_step
  end_time = num_steps * seconds_per_step
  steps_per_second = note_seq.steps_per_quarter_to_steps_per_second(
      encoding.STEPS_PER_QUARTER, qpm)
  start_step = note_seq.quantize_to_step(start_time, steps_per_second, quantize_cutoff=0)
  if start_time >= end_time:
    raise ValueError('num_steps=%d leaves no room after the primer: generation would start at '
                     'step %d' % (num_steps, start_step))
  quantized = note_seq.quantize_note_sequence(sequence, encoding.STEPS_PER_QUARTER)
  melodies, _ = melody_extraction.extract_melodies(
      quantized, min_bars=0, min_unique_pitches=1, gap_bars=float('inf'),
      ignore_polyphonic_notes=True)
  end_step = note_seq.quantize_to_step(end_time, steps_per_second, quantize_cutoff=1.0)
  if melodies and len(melodies[0]):
    melody = melodies[0]
  else:
    steps_per_bar = int(note_seq.steps_per_bar_in_quantized_sequence(quantized))
    melody = note_seq.Melody([], start_step=max(0, start_step - 1), steps_per_bar=steps_per_bar,
                             steps_per_quarter=encoding.STEPS_PER_QUARTER)
  melody.set_length(start_step - melody.start_step)
  melody_config = melody_configs.get(config)
  transpose = melody.squash(*melody_configs.squash_range(melody_config))
  return PreparedPrimer(melody=melody, transpose_amount=transpose,
                        total_steps=end_step - melody.start_step, qpm=qpm,
                        config=melody_config)


def indices_to_melody(indices: Sequence[int], *, start_step: int = 0,
                      steps_per_bar: int = 16, transpose: int = 0,
                      config: str = 'basic_rnn') -> note_seq.Melody:
  """A melody's classes from its start -> a Melody, shifted by ``transpose`` (basic_rnn:
  index k >= 2 is MIDI k + 46)."""
  events = melody_configs.events_from_classes(melody_configs.get(config), [list(indices)])[0]
  melody = note_seq.Melody([int(e) for e in events], start_step=start_step,
                           steps_per_bar=steps_per_bar,
                           steps_per_quarter=encoding.STEPS_PER_QUARTER)
  if transpose:
    melody.transpose(transpose)
  return melody


def melody_to_midi(melody: note_seq.Melody, path: str, qpm: float) -> None:
  """Writes a melody the way melody_rnn_generate does (velocity 100, program 0, 220 ppq)."""
  note_seq.sequence_proto_to_midi_file(melody.to_sequence(qpm=qpm), path)


def output_file_names(num_outputs: int, stamp: Optional[str] = None) -> list:
  """``<stamp>_<i>.mid`` for i = 1..num_outputs, i zero-padded to len(str(num_outputs))."""
  stamp = stamp or time.strftime('%Y-%m-%d_%H%M%S')
  digits = len(str(num_outputs))
  return ['%s_%s.mid' % (stamp, str(i + 1).zfill(digits)) for i in range(num_outputs)]


@dataclasses.dataclass
class GenerateConfig:
  """One ``bin/generate_melodies`` run.

  Attributes:
    checkpoint: what ``note_rnn.load`` reads (run dir, bundle, checkpoint; None = shipped).
    output_dir: where the MIDI files go (created).
    num_outputs: melodies to write.
    num_steps: total steps per melody, primer included.
    primer_melody: Melody events (-2 hold, -1 note-off, MIDI pitch), or None.
    primer_midi: a MIDI primer file, or None.
    temperature: softmax temperature; 0 = greedy.
    qpm: tempo (a primer MIDI's own tempo overrides it).
    seed: sampling seed.
    batch_size: melodies per compiled sampling call.
  """
  checkpoint: Optional[str]
  output_dir: str
  num_outputs: int = 10
  num_steps: int = 128
  primer_melody: Optional[Sequence[int]] = None
  primer_midi: Optional[str] = None
  temperature: float = 1.0
  qpm: float = DEFAULT_QPM
  seed: int = 0
  batch_size: int = 1000


def generate_melodies(model: model_lib.NoteRnn, prepared: PreparedPrimer, num_outputs: int, *,
                      temperature: float, seed: int, batch_size: int = 1000) -> list:
  """Samples ``num_outputs`` continuations of a prepared primer -> list of note_seq.Melody."""
  if prepared.config.name != model.config_name:
    raise ValueError('the primer was prepared for %s, the model is a %s'
                     % (prepared.config.name, model.config_name))
  primer = np.tile(prepared.indices[None], (num_outputs, 1))
  rows = sample_lib.sample(model, primer, max(0, prepared.total_steps - primer.shape[1]),
                           temperature=temperature, seed=seed, batch_size=batch_size)
  return [indices_to_melody(row, start_step=prepared.melody.start_step,
                            steps_per_bar=prepared.melody.steps_per_bar,
                            transpose=-prepared.transpose_amount,
                            config=model.config_name) for row in rows]


def run(cfg: GenerateConfig, model: Optional[model_lib.NoteRnn] = None) -> list:
  """Loads the model, generates, writes the MIDI files; returns their paths."""
  if model is None:
    model = loading.load(cfg.checkpoint)
  seq, qpm = primer_sequence(cfg.primer_melody, cfg.primer_midi, cfg.qpm)
  prepared = prepare_primer(seq, qpm, cfg.num_steps, model.config_name)
  melodies = generate_melodies(model, prepared, cfg.num_outputs, temperature=cfg.temperature,
                               seed=cfg.seed, batch_size=cfg.batch_size)
  os.makedirs(cfg.output_dir, exist_ok=True)
  paths = []
  for melody, name in zip(melodies, output_file_names(cfg.num_outputs)):
    path = os.path.join(cfg.output_dir, name)
    melody_to_midi(melody, path, qpm)
    paths.append(path)
  return paths

