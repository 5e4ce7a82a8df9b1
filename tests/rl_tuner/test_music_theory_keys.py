"""Keys: C reproduces the original's C-major tables; other keys are transpositions."""

import numpy as np
import pytest

from rl_tuner.music import keys
from rl_tuner.music import rules

# The original's tables (rl_tuner_ops / detect_sequential_interval), written out.
ORIGINAL_C_MAJOR_KEY = [0, 1, 2, 4, 6, 7, 9, 11, 13, 14, 16, 18, 19, 21, 23, 25, 26, 28,
                        30, 31, 33, 35, 37]
ORIGINAL_C_MAJOR_SCALE = [2, 4, 6, 7, 9, 11, 13, 14, 16, 18, 19, 21, 23, 25, 26]


def test_c_major_is_the_original():
  c = keys.parse_key('C')
  assert np.flatnonzero(c.in_key).tolist() == ORIGINAL_C_MAJOR_KEY
  assert c.tonic_index == 14
  assert c.tonic_indices.tolist() == [2, 14, 26]
  assert c.fifth_indices.tolist() == [9, 21, 33]
  assert c.third_indices.tolist() == [6, 18, 30]
  assert list(c.scale) == ORIGINAL_C_MAJOR_SCALE
  assert c.third_semitones == 4


@pytest.mark.parametrize('name, tonic, third, fifth, outside, inside', [
    # G major: tonic G3 = MIDI 55 = index 9; F#3 (54 -> 8) in key, F3 (53 -> 7) not.
    ('G', 21, [13, 25, 37], [4, 16, 28], 7, 8),
    # A natural minor: tonic A4 = MIDI 69 = 23 (the original's unused A_MINOR_TONIC);
    # third C (relative 3), fifth E; same pitch set as C major.
    ('A_minor', 23, [2, 14, 26], [6, 18, 30], 15, 14),
    # D♭ = C# major: tonic index 15; D (MIDI 50 -> 4) is outside, C (48 -> 2) inside.
    ('Db', 15, [7, 19, 31], [10, 22, 34], 4, 2),
    # B major: tonic index 14 + 11 = 25 (MIDI 71); third D# (51 -> 5), fifth F# (54 -> 8).
    ('B', 25, [5, 17, 29], [8, 20, 32], 14, 13),
])
def test_transposed_keys(name, tonic, third, fifth, outside, inside):
  key = keys.parse_key(name)
  assert key.tonic_index == tonic
  assert key.third_indices.tolist() == third
  assert key.fifth_indices.tolist() == fifth
  assert not key.in_key[outside] and key.in_key[inside]
  assert key.in_key[0] and key.in_key[1]
  # Every key has 21 pitches (three octaves of 7 degrees) plus the two specials.
  assert np.count_nonzero(key.in_key) == 23
  assert len(key.scale) == 15 and key.scale[7] == tonic


def test_minor_key_has_minor_third():
  a_minor = keys.parse_key('A_minor')
  assert a_minor.minor and a_minor.third_semitones == 3
  assert np.array_equal(a_minor.in_key, keys.parse_key('C').in_key)


@pytest.mark.parametrize('alias, canonical', [
    ('C#', 'C#'), ('Db', 'C#'), ('db', 'C#'), ('a_minor', 'A_minor'), ('A_MINOR', 'A_minor'),
    ('C_major', 'C'), ('Bb', 'A#'), ('F#_minor', 'F#_minor'),
])
def test_aliases(alias, canonical):
  a, b = keys.parse_key(alias), keys.parse_key(canonical)
  assert np.array_equal(a.in_key, b.in_key)
  assert a.tonic_index == b.tonic_index and a.minor == b.minor


@pytest.mark.parametrize('bad', ['H', 'C_dorian', '', 'Cb', 'E#', 7])
def test_unknown_key_lists_valid_names(bad):
  with pytest.raises(ValueError) as error:
    keys.parse_key(bad)
  if isinstance(bad, str):
    assert 'A_minor' in str(error.value) and 'G' in str(error.value)


def test_key_objects_pass_through():
  g = keys.parse_key('G')
  assert keys.parse_key(g) is g
  assert rules.parse_key is keys.parse_key
