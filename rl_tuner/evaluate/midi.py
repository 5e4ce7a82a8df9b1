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
                     title: Optional[str] = None, events: Optional[Sequence[int]] = None):
  """One composition [T] -> NoteSequence (MIDI pitch = index + 46); or from its melody
  ``events`` (-2 hold, -1 note-off, 0-127 pitch) when given (``notes`` is then ignored)."""
  import note_seq  # pylint: disable=g-import-not-at-top
  if events is None:
    events = encoding.index_to_event(np.asarray(notes, np.int64))
  events = np.asarray(events, np.int64).tolist()
  sequence = note_seq.Melody(events).to_sequence(qpm=qpm)
  if title:
    sequence.sequence_metadata.title = title
  return sequence


def write_midi(notes: Sequence[int], path: str, *, qpm: float = RL_TUNER_QPM,
               events: Optional[Sequence[int]] = None) -> str:
  """Writes one composition (38-class ``notes`` or melody ``events``) as MIDI; returns path."""
  import note_seq  # pylint: disable=g-import-not-at-top
  note_seq.sequence_proto_to_midi_file(to_note_sequence(notes, qpm=qpm, events=events), path)
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

  Mono at 22.05 kHz keeps the WAVs small enough to embed in the report.

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
    _downmix_to_mono(stereo, wav_path)
  return wav_path


def _downmix_to_mono(src: str, dst: str) -> None:
  with wave.open(src, 'rb') as f:
    channels, width, rate = f.getnchannels(), f.getsampwidth(), f.getframerate()
    frames = f.readframes(f.getnframes())
  if width != 2:
    shutil.copyfile(src, dst)
    return
  samples = np.frombuffer(frames, np.int16).reshape(-1, channels).astype(np.int32)
  mono = samples.mean(axis=1).astype(np.int16)
  with wave.open(dst, 'wb') as f:
    f.setnchannels(1)
    f.setsampwidth(2)
    f.setframerate(rate)
    f.writeframes(mono.tobytes())
