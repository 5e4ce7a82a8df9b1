"""Each melody_rnn config's inputs, labels and decoding, worked out by hand."""

import note_seq
import numpy as np
import pytest

from pipelines import encoding
from pipelines import melody_encodings

NO, OFF = encoding.MELODY_NO_EVENT, encoding.MELODY_NOTE_OFF
LOOKBACK = melody_encodings.encoder('lookback_rnn')
KEY = melody_encodings.encoder('attention_rnn')
MONO = melody_encodings.encoder('mono_rnn')
BASIC = melody_encodings.encoder('basic_rnn')

# Two 4/4 bars at 16 steps each: C D E F / G F E D, each bar ending in a rest.
BAR_A = [60, NO, NO, NO, 62, NO, NO, NO, 64, NO, NO, NO, 65, NO, OFF, NO]
BAR_B = [67, NO, NO, NO, 65, NO, NO, NO, 64, NO, NO, NO, 62, NO, OFF, NO]
AABB = BAR_A + BAR_A + BAR_B + BAR_B


@pytest.mark.parametrize('name, inputs, classes, no_event', [
    ('basic_rnn', 38, 38, 0), ('mono_rnn', 130, 130, 0),
    ('lookback_rnn', 121, 40, 0), ('attention_rnn', 74, 40, 36)])
def test_sizes_are_magentas(name, inputs, classes, no_event):
  config = encoding.config_encoding(name)
  assert (config.input_size, config.num_classes, config.no_event_label) == (
      inputs, classes, no_event)
  events = AABB if name != 'mono_rnn' else [0, 127, NO, OFF] * 10
  encoder = melody_encodings.encoder(name)
  assert encoder.encode_inputs(events).shape == (len(events), inputs)
  assert encoder.encode_labels(events).shape == (len(events),)


def test_unknown_config_lists_the_valid_ones():
  with pytest.raises(ValueError, match='basic_rnn, mono_rnn, lookback_rnn, '
                     'attention_rnn'):
    melody_encodings.encoder('lookback')


class TestOneHot:

  def test_mono_covers_all_midi_pitches_basic_only_its_range(self):
    assert MONO.encode_labels([NO, OFF, 0, 47, 84, 127]).tolist() == [
        0, 1, 2, 49, 86, 129]
    assert BASIC.encode_labels([NO, OFF, 48, 83]).tolist() == [0, 1, 2, 37]
    with pytest.raises(ValueError, match=r'basic_rnn.*\[84\]'):
      BASIC.encode_labels([60, 84])
    assert MONO.decode_labels([129, 2, 1, 0], []).tolist() == [127, 0, OFF, NO]

  def test_inputs_are_the_one_hot_of_the_labels(self):
    events = [60, NO, 72, OFF]
    np.testing.assert_array_equal(
        np.argmax(BASIC.encode_inputs(events), axis=1),
        BASIC.encode_labels(events))


class TestLookbackLabels:

  def test_hand_worked_positions(self):
    labels = LOOKBACK.encode_labels(AABB)
    expected = {
        0: 14,   # C4 = 60 - 46, nothing to repeat yet
        1: 39,   # a rest in the first two bars is always "repeat 2 bars"
        4: 16,   # D4
        14: 1,   # NOTE_OFF, no bar back yet
        16: 38,  # C4 again one bar later: "repeat 1 bar"
        30: 38,  # the NOTE_OFF one bar later
        32: 21,  # G4 = 67 - 46: neither one (C4) nor two bars back (C4)
        33: 39,  # a rest repeating both: the longer lookback wins
        36: 19,  # F4, where both bars back have D4
        48: 38,  # G4 repeats bar 3, not bar 2
        60: 38,  # D4 as in bar 3 (bar 2 has F4 here)
        62: 39,  # NOTE_OFF in all four bars
    }
    assert {p: int(labels[p]) for p in expected} == expected

  def test_repeat_labels_decode_against_the_history(self):
    history = BAR_A + BAR_B  # 32 events
    decoded = LOOKBACK.decode_labels([38, 39, 38, 21, 1], history)
    # 38 -> the event 16 back (bar B's first, 67); 39 -> 32 back, which is
    # bar A's second event (NO_EVENT) once the first decoded event is in.
    assert decoded.tolist() == [67, NO, NO, 67, OFF]
    assert LOOKBACK.decode_labels([38, 39], [60]).tolist() == [NO, NO]
    with pytest.raises(ValueError, match='outside'):
      LOOKBACK.decode_labels([40], [])

  def test_encode_then_decode_is_the_melody(self):
    labels = LOOKBACK.encode_labels(AABB)
    assert LOOKBACK.decode_labels(labels[1:], AABB[:1]).tolist() == AABB[1:]


class TestLookbackInputs:

  def test_blocks_at_the_end_of_bars_one_two_and_three(self):
    inputs = LOOKBACK.encode_inputs(AABB)
    # p = 15: a rest (class 0); one bar back the next event would be AABB[0]
    # = C4 (class 14); two bars back is before the start: NO_EVENT (class 0).
    assert np.flatnonzero(inputs[15, :38]).tolist() == [0]
    assert np.flatnonzero(inputs[15, 38:76]).tolist() == [14]
    assert np.flatnonzero(inputs[15, 76:114]).tolist() == [0]
    # p = 31: next events one and two bars back are AABB[16], AABB[0] = C4.
    assert np.flatnonzero(inputs[31, 38:76]).tolist() == [14]
    assert np.flatnonzero(inputs[31, 76:114]).tolist() == [14]
    # p = 47: one bar back AABB[32] = G4 (class 21), two bars back C4.
    assert np.flatnonzero(inputs[47, 38:76]).tolist() == [21]
    assert np.flatnonzero(inputs[47, 76:114]).tolist() == [14]

  def test_binary_counter_counts_the_next_step(self):
    counter = LOOKBACK.encode_inputs(AABB)[:, 114:119]
    assert counter[0].tolist() == [1, -1, -1, -1, -1]     # 1
    assert counter[4].tolist() == [1, -1, 1, -1, -1]      # 5 = 0b101
    assert counter[15].tolist() == [-1, -1, -1, -1, 1]    # 16
    assert counter[31].tolist() == [-1] * 5               # 32 wraps to 0
    assert counter[46].tolist() == [1, 1, 1, 1, -1]       # 47 = 0b101111

  def test_is_repeating_flags(self):
    flags = LOOKBACK.encode_inputs(AABB)[:, 119:121]
    assert flags[:16].tolist() == [[0, 0]] * 16           # nothing a bar back
    assert flags[16].tolist() == [1, 0]                   # C4 as at step 0
    assert flags[32].tolist() == [0, 0]                   # G4 vs C4, C4
    assert flags[33].tolist() == [1, 1]                   # rest, rest, rest
    assert flags[36].tolist() == [0, 0]                   # F4 vs D4, D4
    assert flags[48].tolist() == [1, 0]                   # G4, G4, C4


class TestKeyInputs:
  """attention_rnn's 74 columns (layout in pipelines.key_features)."""

  EVENTS = [60, OFF, 64, NO, 62, 62, 72, NO]

  def test_pitch_silence_attack_and_direction(self):
    inputs = KEY.encode_inputs(self.EVENTS)
    sounding = [np.flatnonzero(row[:36]).tolist() for row in inputs]
    assert sounding == [[12], [], [16], [16], [14], [14], [24], [24]]
    assert inputs[:, 36].tolist() == [1, 0, 1, 1, 1, 1, 1, 1]  # note on
    assert inputs[:, 37].tolist() == [0, 1, 0, 0, 0, 0, 0, 0]  # silence
    # A NOTE_OFF leaves "attack" as it was (note-seq's state machine).
    assert inputs[:, 38].tolist() == [1, 1, 1, 0, 1, 1, 1, 0]
    # Up to E, down to D, D again keeps "down", up to C5.
    assert inputs[:, 39].tolist() == [0, 0, 1, 1, -1, -1, 1, 1]

  def test_counter_bar_start_and_repeats(self):
    inputs = KEY.encode_inputs(AABB)
    assert inputs[4, 42:49].tolist() == [1, -1, 1, -1, -1, -1, -1]  # 5
    assert np.flatnonzero(inputs[:, 49]).tolist() == [15, 31, 47, 63]
    assert inputs[16, 40:42].tolist() == [1, 0]
    assert inputs[33, 40:42].tolist() == [1, 1]

  def test_keys_of_all_notes_and_of_the_last_three(self):
    # C# D# F# then C E G: over all six notes six keys tie with four notes
    # each (C#, D, E, G, Ab, B); the last three pitches fit C, F and G.
    inputs = KEY.encode_inputs([61, 63, 66, 60, 64, 67])
    assert np.flatnonzero(inputs[5, 50:62]).tolist() == [1, 2, 4, 7, 8, 11]
    assert np.flatnonzero(inputs[5, 62:74]).tolist() == [0, 5, 7]
    # Before any note every key ties (at zero).
    rest = KEY.encode_inputs([NO, 60])[0]
    assert rest[50:74].tolist() == [1] * 24
    assert rest[37] == 1 and rest[38] == 0

  def test_replaying_a_pitch_makes_it_recent_again(self):
    # F# C E C: the last three distinct pitches are F# E C (the replayed C
    # moves up, F# stays), and only G major holds all three; the plain last
    # three events C E C would give C, F and G major.
    inputs = KEY.encode_inputs([66, 60, 64, 60])
    assert np.flatnonzero(inputs[3, 62:74]).tolist() == [7]
    assert np.flatnonzero(KEY.encode_inputs([60, 64, 60])[2, 62:74]).tolist() == [
        0, 5, 7]


class TestKeyLabels:

  def test_layout_puts_pitches_first(self):
    # 32 notes with no repeat at 16 or 32 steps (pitches cycle every 12),
    # then a rest and a NOTE_OFF that repeat nothing either.
    events = [60 + p % 12 for p in range(32)] + [NO, OFF]
    labels = KEY.encode_labels(events)
    assert labels[:3].tolist() == [12, 13, 14]
    assert labels[32:].tolist() == [36, 37]
    assert KEY.decode_labels(labels[32:], events[:32]).tolist() == [NO, OFF]

  def test_repeats_and_early_rests_as_lookback(self):
    labels = KEY.encode_labels(AABB)
    assert [int(labels[p]) for p in (0, 1, 16, 32, 33, 48)] == [
        12, 39, 38, 19, 39, 38]
    assert KEY.decode_labels(labels[1:], AABB[:1]).tolist() == AABB[1:]


@pytest.mark.parametrize('name, reference', [
    ('basic_rnn', lambda: note_seq.OneHotEventSequenceEncoderDecoder(
        note_seq.MelodyOneHotEncoding(48, 84))),
    ('mono_rnn', lambda: note_seq.OneHotEventSequenceEncoderDecoder(
        note_seq.MelodyOneHotEncoding(0, 128))),
    ('lookback_rnn', lambda: note_seq.LookbackEventSequenceEncoderDecoder(
        note_seq.MelodyOneHotEncoding(48, 84))),
    ('attention_rnn', lambda: note_seq.KeyMelodyEncoderDecoder(48, 84))])
def test_equal_to_note_seqs_encoders_on_random_melodies(name, reference):
  """note-seq's classes (a dependency) as an oracle, on melodies built to
  repeat one and two bars back often."""
  reference = reference()
  encoder = melody_encodings.encoder(name)
  config = encoder.config
  rng = np.random.default_rng(7)
  pool = [NO, NO, NO, OFF] + list(range(config.min_note, config.min_note + 6)) + list(
      range(config.max_note - 6, config.max_note))
  for _ in range(40):
    events = rng.choice(pool, size=int(rng.integers(2, 90)))
    for p in range(16, len(events)):
      if rng.random() < 0.3:
        events[p] = events[p - 16 * int(rng.integers(1, 3)) if p >= 32 else p - 16]
    melody = note_seq.Melody(events.tolist())
    events = list(melody)
    inputs, labels = reference.encode(melody)
    np.testing.assert_array_equal(encoder.encode_inputs(events)[:-1],
                                  np.array(inputs, dtype=np.float32))
    assert encoder.encode_labels(events)[1:].tolist() == labels
    generated = rng.integers(0, config.num_classes, size=20)
    theirs = list(events)
    for label in generated:
      theirs.append(reference.class_index_to_event(int(label), theirs))
    assert encoder.decode_labels(generated, events).tolist() == theirs[len(events):]
