"""Sampling and MIDI output: greedy determinism, Magenta's primer and MIDI conventions, pitches."""

import json
import os
import re
import subprocess

import note_seq
import numpy as np
import pytest

import note_rnn
from note_rnn import generate
from note_rnn import sample
from pipelines import encoding
import note_rnn_testlib as lib


@pytest.fixture(scope='module')
def small_model():
  model = note_rnn.build((24,), seed=4)
  model.set_weights([w * 3 for w in model.get_weights()])  # peaked logits, notes under greedy
  return model


def test_sample_shapes_primer_kept_and_greedy_is_deterministic(small_model):
  primer = np.array([[14, 0, 16], [2, 1, 37]])
  a = sample.sample(small_model, primer, 10, temperature=0)
  b = sample.sample(small_model, primer, 10, temperature=0, seed=99)
  assert a.shape == (2, 13)
  np.testing.assert_array_equal(a[:, :3], primer)
  np.testing.assert_array_equal(a, b)
  assert a.min() >= 0 and a.max() < encoding.NUM_CLASSES


def test_greedy_equals_stepwise_argmax(small_model):
  primer = np.array([[14, 0, 16, 0]])
  out = sample.sample(small_model, primer, 6, temperature=0)[0]
  logits, state = small_model.logits_and_state(encoding.one_hot(primer))
  last = logits[:, -1]
  for t in range(4, 10):
    choice = int(np.argmax(last.numpy()[0]))
    assert out[t] == choice
    last, state = small_model.step(encoding.one_hot([choice]), state)


def test_sampling_is_seeded_and_follows_the_distribution(small_model):
  primer = np.tile([[14]], (4000, 1))
  a = sample.sample(small_model, primer, 1, temperature=1.0, seed=3)
  b = sample.sample(small_model, primer, 1, temperature=1.0, seed=3)
  c = sample.sample(small_model, primer, 1, temperature=1.0, seed=4)
  np.testing.assert_array_equal(a, b)
  assert not np.array_equal(a, c)
  logits = small_model.logits(encoding.one_hot([[14]])).numpy()[0, -1]
  p = np.exp(logits - logits.max())
  p /= p.sum()
  freq = np.bincount(a[:, 1], minlength=encoding.NUM_CLASSES) / len(a)
  assert np.abs(freq - p).max() < 0.03


def test_decoding_puts_every_note_on_its_pitch(tmp_path):
  # The RL Tuner's decoder wrote these as 62, 64, 66 (+2 semitones); the encoding says 60, 62, 64.
  indices = [14, 0, 0, 0, 16, 1, 18, 0, 2, 37, 1]
  melody = generate.indices_to_melody(indices)
  path = str(tmp_path / 'known.mid')
  generate.melody_to_midi(melody, path, qpm=120)
  seq = note_seq.midi_file_to_note_sequence(path)
  got = [(n.pitch, n.start_time, n.end_time) for n in seq.notes]
  step = 60.0 / 120 / 4
  expected = [(60, 0, 4 * step), (62, 4 * step, 5 * step), (64, 6 * step, 8 * step),
              (48, 8 * step, 9 * step), (83, 9 * step, 10 * step)]
  assert [g[0] for g in got] == [e[0] for e in expected]
  np.testing.assert_allclose([g[1:] for g in got], [e[1:] for e in expected], atol=1e-6)
  assert all(n.velocity == 100 and n.program == 0 for n in seq.notes)


def test_midi_bytes_match_magenta_output(shared_data, tmp_path):
  golden = shared_data / 'magenta_golden' / 'generated'
  info = json.loads((golden / 'generated_melodies.json').read_text())
  for name in ('melody_1.mid', 'melody_2.mid'):
    events = info[name]['melody_events_at_4_steps_per_quarter']
    indices = encoding.event_to_index(events)
    path = tmp_path / name
    generate.melody_to_midi(generate.indices_to_melody(indices), str(path), qpm=120)
    assert path.read_bytes() == (golden / name).read_bytes()


def test_primer_preparation_matches_magenta(shared_data):
  golden = json.loads((shared_data / 'magenta_golden' / 'generated' /
                       'generated_melodies.json').read_text())
  seq, qpm = generate.primer_sequence([60, -2, 62, -2], None, 120)
  prepared = generate.prepare_primer(seq, qpm, 64)
  # Magenta's output begins with the primer padded to the generation start (a note-off, a hold).
  assert list(prepared.melody) == [60, -2, 62, -2, -1, -2]
  assert golden['melody_1.mid']['melody_events_at_4_steps_per_quarter'][:6] == [
      60, -2, 62, -2, -1, -2]
  assert prepared.total_steps == 64 and prepared.transpose_amount == 0
  seq, qpm = generate.primer_sequence(None, None, 120)  # default: a single middle C
  assert list(generate.prepare_primer(seq, qpm, 16).melody) == [60, -1, -2]
  with pytest.raises(ValueError, match='no room after the primer'):
    generate.prepare_primer(*generate.primer_sequence([60, -2, 62, -2], None, 120), 5)


def test_primer_midi_is_squashed_and_transposed_back(shared_data, small_model):
  seq, qpm = generate.primer_sequence(None, str(shared_data / 'midi' / 'primer.mid'), 120)
  assert abs(qpm - 130) < 0.01  # the primer's own tempo wins
  prepared = generate.prepare_primer(seq, qpm, 96)
  melodies = generate.generate_melodies(small_model, prepared, 2, temperature=0, seed=0)
  original = [n.pitch for n in seq.notes]
  for melody in melodies:
    assert len(melody) == 96
    pitches = [e for e in melody if e >= 0]
    assert pitches[:len(original)] == original


def test_output_file_names():
  assert generate.output_file_names(10, '2025-07-08_120000')[0] == '2025-07-08_120000_01.mid'
  assert generate.output_file_names(10, '2025-07-08_120000')[-1] == '2025-07-08_120000_10.mid'
  assert generate.output_file_names(3, 'x') == ['x_1.mid', 'x_2.mid', 'x_3.mid']


def test_cli_writes_midi_from_the_research_checkpoint(shared_data, tmp_path, python_exe):
  out = tmp_path / 'out'
  proc = subprocess.run(
      [python_exe, str(lib.REPO_ROOT / 'bin' / 'generate_melodies'),
       '--checkpoint=%s' % (shared_data / 'checkpoints' / 'rl_tuner_research' / 'model.ckpt-1994'),
       '--output_dir=%s' % out, '--num_outputs=3', '--num_steps=48',
       '--primer_melody=[60, -2, 64, -2, 67, -2]', '--seed=1'],
      capture_output=True, text=True, timeout=300, env=lib.quiet_env())
  assert proc.returncode == 0, proc.stderr[-3000:]
  files = sorted(os.listdir(out))
  assert len(files) == 3 and all(re.fullmatch(r'\d{4}-\d\d-\d\d_\d{6}_\d\.mid', f) for f in files)
  for f in files:
    midi = note_seq.midi_file_to_note_sequence(str(out / f))
    assert [n.pitch for n in midi.notes[:3]] == [60, 64, 67]
    assert midi.ticks_per_quarter == 220 and abs(midi.tempos[0].qpm - 120) < 1e-6
    assert midi.total_time <= 48 * 0.125 + 1e-6
    assert all(n.velocity == 100 and n.program == 0 for n in midi.notes)


@pytest.mark.parametrize('flags, message', [
    (['--primer_melody=[60, 200]'], '--primer_melody'),
    (['--temperature=-1'], '--temperature'),
    (['--checkpoint=/nonexistent/model.ckpt'], '--checkpoint: /nonexistent'),
    (['--primer_melody=[60]', '--primer_midi=x.mid'], 'not both'),
])
def test_cli_flag_errors(tmp_path, python_exe, flags, message):
  out = tmp_path / 'out'
  proc = subprocess.run([python_exe, str(lib.REPO_ROOT / 'bin' / 'generate_melodies'),
                         '--output_dir=%s' % out] + flags,
                        capture_output=True, text=True, timeout=120, env=lib.quiet_env())
  assert proc.returncode == 2
  assert message in proc.stderr
  assert not out.exists()


def test_output_dir_that_is_a_file_is_one_line(tmp_path, python_exe):
  taken = tmp_path / 'a_file'
  taken.write_text('mine')
  proc = subprocess.run([python_exe, str(lib.REPO_ROOT / 'bin' / 'generate_melodies'),
                         '--output_dir=%s' % taken, '--num_outputs=1'],
                        capture_output=True, text=True, timeout=120, env=lib.quiet_env())
  assert proc.returncode == 2
  assert proc.stderr.strip().splitlines() == [
      'generate_melodies: --output_dir: %s exists and is not a directory' % taken]
  assert taken.read_text() == 'mine'
