"""Compositions as MIDI (Magenta's conventions) and as audio through FluidSynth.

A composition is a row of encoded notes (0 = hold, 1 = note off, k >= 2 = MIDI
pitch k + 46; the priming event excluded). It becomes a ``note_seq.Melody`` and
then a NoteSequence exactly as the original RL Tuner writes its samples
(Magenta's melody MIDI conventions) but with the right pitches (bug 2): 4 steps per
quarter, 80 qpm, velocity 100, program 0, 220 ticks per quarter.

Audio needs the Debian packages ``fluidsynth`` and ``fluid-soundfont-gm``; without
them ``render_wav`` raises ``AudioUnavailable`` with a message saying so, and callers
go on without audio.
"""

import os
import shutil
import subprocess
import tempfile
import wave
from typing import Optional, Sequence

import numpy as np

from pipelines import encoding

RL_TUNER_QPM = 80.0
CHORD_BASS_PITCH = 36  # + root pitch class
CHORD_TONES_PITCH = 48  # + each chord tone's pitch class
CHORD_VELOCITY = 60
CHORD_INSTRUMENT = 1
# WAV peak level: FluidSynth's output peaks near -16 dBFS, too quiet beside other audio.
PEAK_DBFS = -1.0
SOUNDFONT_ENV = 'RL_TUNER_SOUNDFONT'
SOUNDFONT_CANDIDATES = ('/usr/share/sounds/sf2/FluidR3_GM.sf2',
                        '/usr/share/sounds/sf2/default-GM.sf2',
                        '/usr/share/soundfonts/FluidR3_GM.sf2',
                        '/usr/share/soundfonts/default.sf2')
INSTALL_HINT = ('install the Debian packages fluidsynth and fluid-soundfont-gm '
                '(apt-get install -y fluidsynth fluid-soundfont-gm) to hear the compositions')


class AudioUnavailable(RuntimeError):
  """FluidSynth or a General MIDI SoundFont is missing, or rendering failed."""


def to_note_sequence(notes: Sequence[int], *, qpm: float = RL_TUNER_QPM,
                     title: Optional[str] = None,
                     chord_progression: Optional[str] = None,
                     events: Optional[Sequence[int]] = None):
  """One composition [T] -> NoteSequence (MIDI pitch = index + 46); or from its melody
  ``events`` (-2 hold, -1 note-off, 0-127 pitch) when given (``notes`` is then ignored).

  With `chord_progression` ('C G Am F': one chord per 16-step bar, repeated) the
  chords are added under the melody (`add_chords`).
  """
  import note_seq  # pylint: disable=g-import-not-at-top
  if events is None:
    events = encoding.index_to_event(np.asarray(notes, np.int64))
  events = np.asarray(events, np.int64).tolist()
  sequence = note_seq.Melody(events).to_sequence(qpm=qpm)
  if title:
    sequence.sequence_metadata.title = title
  if chord_progression:
    add_chords(sequence, chord_progression, len(events), qpm=qpm)
  return sequence


def add_chords(sequence, chord_progression: str, num_steps: int, *,
               qpm: float = RL_TUNER_QPM) -> None:
  """Adds one sustained chord per bar (instrument 1, program 0, velocity 60): the root in
  MIDI 36-47 and every chord tone in 48-59, below the melody; and a chord-symbol
  annotation per bar, as Magenta's lead sheets carry them."""
  import note_seq  # pylint: disable=g-import-not-at-top
  from note_seq import chord_symbols_lib  # pylint: disable=g-import-not-at-top
  from rl_tuner.music import chords as chords_lib  # pylint: disable=g-import-not-at-top
  figures = chords_lib.parse_progression(chord_progression)
  step_seconds = 60.0 / qpm / encoding.STEPS_PER_QUARTER
  bars = -(-int(num_steps) // chords_lib.STEPS_PER_BAR)
  for bar in range(bars):
    figure = figures[bar % len(figures)]
    start = bar * chords_lib.STEPS_PER_BAR * step_seconds
    end = min(bar + 1, num_steps / chords_lib.STEPS_PER_BAR) * (
        chords_lib.STEPS_PER_BAR * step_seconds)
    sequence.text_annotations.add(
        time=start, text=figure,
        annotation_type=note_seq.NoteSequence.TextAnnotation.CHORD_SYMBOL)
    if figure == chords_lib.NO_CHORD:
      continue
    root = chord_symbols_lib.chord_symbol_root(figure)
    pitches = [CHORD_BASS_PITCH + root] + sorted(
        CHORD_TONES_PITCH + pc for pc in chords_lib.chord_pitch_classes(figure))
    for pitch in pitches:
      sequence.notes.add(pitch=pitch, start_time=start, end_time=end,
                         velocity=CHORD_VELOCITY, instrument=CHORD_INSTRUMENT, program=0)
  sequence.total_time = max(sequence.total_time, num_steps * step_seconds)


def write_midi(notes: Sequence[int], path: str, *, qpm: float = RL_TUNER_QPM,
               chord_progression: Optional[str] = None,
               events: Optional[Sequence[int]] = None) -> str:
  """Writes one composition (38-class ``notes`` or melody ``events``; and, given a
  progression, its chords) as MIDI; returns the path."""
  import note_seq  # pylint: disable=g-import-not-at-top
  note_seq.sequence_proto_to_midi_file(
      to_note_sequence(notes, qpm=qpm, chord_progression=chord_progression, events=events),
      path)
  return path


def find_soundfont() -> Optional[str]:
  """The GM SoundFont: $RL_TUNER_SOUNDFONT, else the Debian locations."""
  candidates = [os.environ.get(SOUNDFONT_ENV)] + list(SOUNDFONT_CANDIDATES)
  for path in candidates:
    if path and os.path.isfile(path):
      return path
  return None


def audio_available() -> Optional[str]:
  """None when WAVs can be rendered, else the reason (with the install hint)."""
  if shutil.which('fluidsynth') is None:
    return 'fluidsynth is not installed: ' + INSTALL_HINT
  if find_soundfont() is None:
    return ('no General MIDI SoundFont found (looked at $%s and %s): %s'
            % (SOUNDFONT_ENV, ', '.join(SOUNDFONT_CANDIDATES), INSTALL_HINT))
  return None


def render_wav(midi_path: str, wav_path: str, *, sample_rate: int = 22050,
               timeout_seconds: float = 60.0) -> str:
  """Renders a MIDI file to a mono 16-bit WAV with FluidSynth and the GM SoundFont.

  Mono at 22.05 kHz keeps the WAVs small enough to embed in the report; the peak is
  normalised to PEAK_DBFS so every sample plays at the same, comfortable level.

  Raises:
    AudioUnavailable: fluidsynth or the SoundFont is missing, or rendering failed.
  """
  reason = audio_available()
  if reason:
    raise AudioUnavailable(reason)
  with tempfile.TemporaryDirectory(prefix='rl_tuner_wav_') as tmp:
    stereo = os.path.join(tmp, 'stereo.wav')
    command = ['fluidsynth', '-ni', '-q', '-g', '0.8', '-r', str(sample_rate), '-T', 'wav',
               '-F', stereo, find_soundfont(), midi_path]
    try:
      done = subprocess.run(command, capture_output=True, timeout=timeout_seconds,
                            check=False)
    except (OSError, subprocess.TimeoutExpired) as e:
      raise AudioUnavailable('fluidsynth failed on %s: %s' % (midi_path, e)) from None
    if done.returncode != 0 or not os.path.isfile(stereo):
      raise AudioUnavailable('fluidsynth failed on %s (exit %d): %s' % (
          midi_path, done.returncode, done.stderr.decode(errors='replace').strip()[-300:]))
    _write_mono_normalised(stereo, wav_path)
  return wav_path


def peak_dbfs(wav_path: str) -> float:
  """The peak sample of a 16-bit WAV in dB relative to full scale (-inf when silent)."""
  with wave.open(wav_path, 'rb') as f:
    samples = np.frombuffer(f.readframes(f.getnframes()), np.int16)
  peak = int(np.max(np.abs(samples.astype(np.int32)))) if samples.size else 0
  return 20.0 * np.log10(peak / 32768.0) if peak else float('-inf')


def _write_mono_normalised(src: str, dst: str) -> None:
  with wave.open(src, 'rb') as f:
    channels, width, rate = f.getnchannels(), f.getsampwidth(), f.getframerate()
    frames = f.readframes(f.getnframes())
  if width != 2:
    shutil.copyfile(src, dst)
    return
  mono = np.frombuffer(frames, np.int16).reshape(-1, channels).astype(np.float64).mean(axis=1)
  peak = np.max(np.abs(mono)) if mono.size else 0.0
  if peak > 0:
    mono *= 32768.0 * 10.0 ** (PEAK_DBFS / 20.0) / peak
  mono = np.clip(np.round(mono), -32768, 32767).astype(np.int16)
  with wave.open(dst, 'wb') as f:
    f.setnchannels(1)
    f.setsampwidth(2)
    f.setframerate(rate)
    f.writeframes(mono.tobytes())
