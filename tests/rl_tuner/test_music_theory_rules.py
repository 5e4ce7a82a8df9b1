"""Each reward rule on hand-made melodies, with the reward worked out by hand.

Indices: 0 = hold, 1 = note off, k >= 2 = MIDI k + 46. In C major: 2/14/26 = C,
6/18/30 = E, 9/21/33 = G, 16 = D4, 19 = F4, 23 = A4, 11 = A3, 15 = C#4.
"legacy" vectors come from the original's behaviour (the original's behaviour, checked against its code);
"corrected" vectors from rl_tuner/README.md's corrected table (issue 13's rows included).
"""

import numpy as np
import pytest

from rl_tuner.music import rules as mt

BOTH = ('corrected', 'legacy')


def rule(name, notes, semantics='corrected', key='C', num_notes=32, priming=None):
  out = mt.reward_components(np.array([notes]), key=key, semantics=semantics,
                             num_notes=num_notes, rules=[name], priming=priming)
  return out[name][0].tolist()


# (1) Key ---------------------------------------------------------------------------

@pytest.mark.parametrize('semantics', BOTH)
@pytest.mark.parametrize('name, notes, key, expected', [
    ('c_major_pitches_and_specials', [14, 16, 0, 1, 37], 'C', [0, 0, 0, 0, 0]),
    ('c_sharp_and_f_sharp_outside_c', [15, 20, 14], 'C', [-1, -1, 0]),
    ('f_natural_outside_g_major', [19, 20, 9], 'G', [-1, 0, 0]),
])
def test_key(name, notes, key, expected, semantics):
  del name
  assert rule('key', notes, semantics, key=key) == expected


# (2) Tonic -------------------------------------------------------------------------

def _at_beat(beat, note, filler=16):
  return [filler] * beat + [note]


@pytest.mark.parametrize('semantics', BOTH)
@pytest.mark.parametrize('name, beat, note, expected', [
    ('tonic_first', 0, 14, 3.0),
    ('other_first', 0, 16, 0.0),
    ('tonic_octave_up_is_not_tonic', 0, 26, 0.0),
    ('tonic_on_beat_1', 1, 14, 0.0),
    ('tonic_final_bar', 28, 14, 3.0),
    ('special_final_bar', 28, 0, 0.0),
    ('hold_beat_30', 30, 0, 3.0),
    ('note_off_beat_31', 31, 1, 3.0),
    ('pitch_beat_31', 31, 14, 0.0),
])
def test_tonic_shared(name, beat, note, expected, semantics):
  del name
  assert rule('tonic', _at_beat(beat, note), semantics)[beat] == expected


@pytest.mark.parametrize('semantics, note, expected', [
    # Beat 29 = num_notes - 3: corrected wants the hold (index 0) after the final
    # tonic; legacy wants index 1, which the original calls NO_EVENT (bug 1).
    ('corrected', 0, 3.0), ('corrected', 1, 0.0),
    ('legacy', 1, 3.0), ('legacy', 0, 0.0),
])
def test_tonic_beat_29_label_swap(semantics, note, expected):
  assert rule('tonic', _at_beat(29, note), semantics)[29] == expected


def test_tonic_other_key_and_length():
  # A minor: tonic 23; with num_notes=8 the final bar starts at beat 4.
  assert rule('tonic', [23, 16, 16, 16, 23, 0, 1, 0], key='A_minor', num_notes=8) == \
      [3, 0, 0, 0, 3, 3, 3, 3]
  assert rule('tonic', [14], key='A_minor') == [0]


# (3) Repetition --------------------------------------------------------------------

@pytest.mark.parametrize('semantics', BOTH)
@pytest.mark.parametrize('name, notes, expected_penalised', [
    # Five strikes of one pitch are free; the 6th (5 copies before it) costs.
    ('six_strikes', [14] * 7, [5, 6]),
    ('five_strikes', [14] * 5 + [16], []),
    # With a special in the run the limit is 6 copies: the 8th strike costs.
    ('strikes_with_note_offs', [14, 1] * 7 + [14], [14]),
    ('seven_strikes_with_break', [14, 1] * 6 + [14], []),
    # Holds set the flag too: 14 at beats 0, 2, 4, 6-10; beat 10 has 7 copies.
    ('strikes_after_holds', [14, 0] * 3 + [14] * 5, [10]),
    # Another pitch stops the walk back.
    ('interrupted_run', [14] * 4 + [16] + [14] * 4, []),
])
def test_repetition_of_pitches(name, notes, expected_penalised, semantics):
  del name
  rewards = rule('repetition', notes, semantics)
  assert [t for t, r in enumerate(rewards) if r] == expected_penalised
  assert all(r in (0.0, -100.0) for r in rewards)


@pytest.mark.parametrize('name, notes, corrected, legacy', [
    # A held note: corrected never penalises a hold; legacy penalises index 0 (its
    # "NOTE_OFF") once two more precede it in the run (Appendix A: 14, 0, 0, 0).
    ('long_hold', [14, 0, 0, 0, 0, 0], [], [3, 4, 5]),
    # Note-offs: corrected penalises a third note-off in a row (n = 2 > 1);
    # legacy treats index 1 like a pitch (allowed 5 times, 6 with breaks).
    ('redundant_note_offs', [14, 1, 1, 1, 1, 1, 1, 1], [3, 4, 5, 6, 7], [6, 7]),
    # Holds between note-offs: corrected passes holds (n counts only note-offs);
    # legacy gets the break flag from index 0 and allows 6 of its index 1.
    ('offs_between_holds', [14, 1, 0, 1, 0, 1], [5], []),
    # Notes held for four steps: free in corrected; legacy penalises each 3rd hold.
    ('held_notes', [14, 0, 0, 0, 16, 0, 0, 0], [], [3, 7]),
])
def test_repetition_of_specials(name, notes, corrected, legacy):
  del name
  for semantics, expected in (('corrected', corrected), ('legacy', legacy)):
    rewards = rule('repetition', notes, semantics)
    assert [t for t, r in enumerate(rewards) if r] == expected, semantics


# (4) Autocorrelation ---------------------------------------------------------------

@pytest.mark.parametrize('semantics', BOTH)
@pytest.mark.parametrize('name, notes, expected', [
    # One note: Var = 0, ρ is NaN and skipped.
    ('single_note', [14], [0.0]),
    # [14, 21]: deviations ±3.5, Var 12.25, ρ1 = (3.5 · -3.5) / 2 / 12.25 = -0.5
    # (> 0.15: -1.5); ρ2 = ρ3 = 0 (empty sums).
    ('two_notes', [14, 21], [0.0, -1.5]),
    # Constant: NaN throughout.
    ('constant', [20] * 5, [0.0] * 5),
])
def test_autocorrelation(name, notes, expected, semantics):
  del name
  assert rule('autocorrelation', notes, semantics) == pytest.approx(expected, abs=1e-12)


def test_autocorrelation_of_raw_indices_in_legacy():
  # [14, 0, 0]: m = 14/3, deviations 28/3, -14/3, -14/3, Var = 1176/27;
  # ρ1 = (-392/9 + 196/9) / 3 / Var = -1/6, ρ2 = (-392/9) / 3 / Var = -1/3;
  # -3 · (1/6 + 1/3) = -1.5: holds look like a low pitch.
  assert rule('autocorrelation', [14, 0, 0], 'legacy') == pytest.approx([0, -1.5, -1.5])


def test_autocorrelation_of_struck_pitches_in_corrected():
  # Corrected skips holds and note-offs: [14, 0, 0] is one pitch (NaN: no penalty).
  assert rule('autocorrelation', [14, 0, 0]) == [0.0, 0.0, 0.0]
  # [14, 0, 21, 0]: the pitches [14, 21] give ρ1 = -0.5 (-1.5) from beat 2; the hold
  # at beat 3 keeps it. Legacy sees [14, 0, 21, 0] instead.
  assert rule('autocorrelation', [14, 0, 21, 0]) == pytest.approx([0, 0, -1.5, -1.5])
  # Rhythm does not matter: the same pitches with other holds, the same penalty at
  # each pitch.
  plain = rule('autocorrelation', [14, 16, 18, 21])
  held = rule('autocorrelation', [14, 0, 16, 1, 0, 18, 21, 0])
  assert [held[i] for i in (0, 2, 5, 6)] == pytest.approx(plain, abs=1e-12)
  assert held[7] == held[6] and held[3] == held[4] == held[2]


def test_autocorrelation_threshold_tie_as_original():
  # [35, 35, 35, 35, 1]: m = 28.2, deviations 6.8 (×4) and -27.2, Var = 184.96;
  # ρ1 = -46.24 / 5 / 184.96 = -0.05, ρ2 = -0.1, ρ3 = -138.72 / 5 / 184.96 = -0.15
  # exactly. Exact arithmetic would not penalise (|ρ3| = 0.15 is not > 0.15); the
  # original's floating point gives 0.15000000000000002 and penalises -0.45.
  assert rule('autocorrelation', [35, 35, 35, 35, 1], 'legacy')[4] == pytest.approx(
      -0.45, abs=1e-12)


# (5) Motif and (6) repeated motif --------------------------------------------------

@pytest.mark.parametrize('name, notes, legacy, corrected', [
    ('four_pitches', [14, 16, 18, 19, 1, 1, 1, 1], 3.3, 3.3),   # 3 + 0.3 · (4 - 3)
    ('three_pitches', [14, 16, 18, 0, 0, 0, 0, 0], 3.0, 3.0),
    ('two_pitches', [14, 14, 16, 16, 1, 1, 1, 1], 0.0, 0.0),
    # legacy 3 + 0.3 · 5; corrected counts at most 4 pitches: 3 + 0.3.
    ('eight_pitches', [2, 4, 6, 7, 9, 11, 13, 14], 4.5, 3.3),
    ('only_specials', [0, 1] * 4, 0.0, 0.0),
])
def test_motif(name, notes, legacy, corrected):
  del name
  for semantics, expected_last in (('legacy', legacy), ('corrected', corrected)):
    rewards = rule('motif', notes, semantics)
    assert rewards[:7] == [0.0] * 7  # fewer than 8 events: no motif
    assert rewards[7] == pytest.approx(expected_last)


def test_motif_window_slides():
  # The window is the last 8 events: at beat 8 it is [16, 18, 1 ×6] (2 pitches).
  assert rule('motif', [14, 16, 18, 1, 1, 1, 1, 1, 1]) == [0] * 7 + [3.0, 0.0]


def test_repeated_motif():
  motif = [14, 16, 18, 19, 1, 1, 1, 1]
  # Beat 15 closes motif #2, an exact copy of beats 0-7: 4 + (4 - 3) = 5. Beat 16's
  # window [16, 18, 19, 1, 1, 1, 1, 14] occurs at beats 1-8, before it: 5 again
  # in legacy; corrected counts the phrase once (beat 16 is within 7 steps of 15).
  notes = motif + motif + [14]
  assert rule('repeated_motif', notes, 'legacy') == [0.0] * 15 + [5.0, 5.0]
  assert rule('repeated_motif', notes, 'corrected') == [0.0] * 15 + [5.0, 0.0]


def test_repeated_motif_loop_pays_once_in_corrected():
  # A period-4 loop over 32 beats: legacy pays every beat from 15 on (each window has
  # a copy entirely before it). Corrected pays beat 15 only: from beat 16 the copies
  # fall within 7 steps of it, and from beat 19 each window has 2 copies before.
  loop = [14, 16, 18, 19] * 8
  assert rule('repeated_motif', loop, 'legacy') == [0.0] * 15 + [5.0] * 17
  assert rule('repeated_motif', loop, 'corrected') == [0.0] * 15 + [5.0] + [0.0] * 16
  # Two different phrases, each repeated once, 8 or more steps apart: both pay.
  a, b = [14, 16, 18, 19, 0, 0, 0, 0], [21, 19, 18, 16, 0, 0, 0, 1]
  rewards = rule('repeated_motif', a + a + b + b, 'corrected')
  assert [t for t, r in enumerate(rewards) if r] == [15, 31]


@pytest.mark.parametrize('semantics', BOTH)
def test_repeated_motif_needs_an_earlier_non_overlapping_copy(semantics):
  # Period 4: at beat 11 the window (beats 4-11) equals beats 0-7, but that copy
  # overlaps it; only at beat 15 is there a copy (beats 0-7) entirely before.
  rewards = rule('repeated_motif', [14, 16, 18, 19] * 4, semantics)
  assert rewards == [0.0] * 15 + [5.0]
  # A repeated window that is not a motif (2 pitches) earns nothing.
  assert rule('repeated_motif', [14, 16, 1, 1] * 4, semantics) == [0.0] * 16


@pytest.mark.parametrize('semantics', BOTH)
def test_repeated_motif_bonus_counts_distinct_pitches(semantics):
  motif = [2, 4, 6, 7, 9, 11, 13, 14]  # 8 distinct pitches: 4 + 5 (not capped)
  assert rule('repeated_motif', motif * 2, semantics)[15] == 9.0


# (7) Intervals ---------------------------------------------------------------------

# Both semantics: prev -> a and the ×5 reward (the original's documented test vectors).
SHARED_INTERVALS = [
    ('c_to_g_in_key_fifth', 14, 21, 0.5),
    ('d_to_a_other_fifth', 16, 23, 0.1),
    ('c_to_e_in_key_third', 14, 18, 0.75),
    ('d_to_f_sharp_third', 16, 20, 0.45),
    ('second', 14, 16, 0.4),
    ('fourth', 14, 19, 0.35),
    ('sixth', 14, 23, 0.25),
    ('seventh', 14, 25, -1.5),
    ('beyond_octave', 14, 27, -5.0),
    ('octave', 14, 26, 0.0),
    ('semitone', 14, 15, 0.0),
    ('tritone', 14, 20, 0.0),
    ('unison', 14, 14, 0.0),
]


@pytest.mark.parametrize('semantics', BOTH)
@pytest.mark.parametrize('name, prev, note, expected', SHARED_INTERVALS)
def test_intervals_shared(name, prev, note, expected, semantics):
  del name
  assert rule('intervals', [prev, note], semantics) == pytest.approx([0.0, expected])


@pytest.mark.parametrize('name, prev, note, corrected, legacy', [
    # Hold (0) and note-off (1): corrected gives holds the hold codes (-2.5 after a
    # tonic or fifth -> 0.3·5 = 1.5; -1.5 -> 0.375) and note-offs the rest codes
    # (-2 -> 0.15·5 = 0.75; -1 -> 0.25); legacy has them the other way round.
    ('hold_after_c', 14, 0, 1.5, 0.75),
    ('note_off_after_c', 14, 1, 0.75, 1.5),
    ('hold_after_g', 21, 0, 1.5, 0.75),
    ('hold_after_d', 16, 0, 0.375, 0.25),
    ('note_off_after_d', 16, 1, 0.25, 0.375),
    # C -> A♭ down 4: legacy's direction-blind in-key third (-3, 0.75); corrected:
    # A♭ is not in C major, so a plain major third (0.09·5 = 0.45).
    ('c_down_to_a_flat', 14, 10, 0.45, 0.75),
    # E -> G# up 4: same story.
    ('e_up_to_g_sharp', 18, 22, 0.45, 0.75),
    # C -> A down 3 (a minor third, A in key): corrected -3 (0.75); legacy code 3 (0).
    ('c_down_to_a', 14, 11, 0.75, 0.0),
    # E -> G up 3: corrected -3 (0.75); legacy code 3 (0).
    ('e_up_to_g', 18, 21, 0.75, 0.0),
    # D -> F up 3: D is not the tonic or third: code 3 in both (0).
    ('d_up_to_f', 16, 19, 0.0, 0.0),
])
def test_intervals_semantics(name, prev, note, corrected, legacy):
  del name
  assert rule('intervals', [prev, note], 'corrected')[1] == pytest.approx(corrected)
  assert rule('intervals', [prev, note], 'legacy')[1] == pytest.approx(legacy)


def test_corrected_holds_pay_until_a_quarter_note():
  # C held: each hold after the tonic earns 1.5 while C has sounded 1-3 steps, then 0
  # (legacy pays its rest code 0.75 for every index 0).
  assert rule('intervals', [14] + [0] * 6) == [0.0, 1.5, 1.5, 1.5, 0.0, 0.0, 0.0]
  assert rule('intervals', [14] + [0] * 6, 'legacy') == [0.0] + [0.75] * 6
  # A new pitch starts the count again; a hold after a note-off continues a rest
  # (code -2.5 after C, but the rest has no sounding note: never long).
  assert rule('intervals', [16, 0, 0, 0, 0, 16, 0]) == pytest.approx(
      [0, 0.375, 0.375, 0.375, 0, 0, 0.375])
  assert rule('intervals', [14, 1] + [0] * 5) == pytest.approx([0, 0.75] + [1.5] * 5)


@pytest.mark.parametrize('semantics', BOTH)
def test_intervals_walk_back_over_specials(semantics):
  # C = [14, 1, 0], a = 21: the previous pitch is 14, code -5 (in-key fifth): 0.5.
  # No previous pitch at all (only specials, or note 0) gives code 0.
  assert rule('intervals', [14, 1, 0, 21], semantics)[3] == pytest.approx(0.5)
  assert rule('intervals', [0, 1, 16], semantics) == [0.0, 0.0, 0.0]


def test_intervals_follow_the_key():
  # G major (corrected): G4 = 21 -> B4 = 25 (+4, in key) in-key third 0.75;
  # 21 -> D5 = 28 (+7) in-key fifth 0.5; hold after the tonic 1.5; C4 = 14 -> G4 is
  # a fifth from the fourth degree: 0.1.
  assert rule('intervals', [21, 25], key='G')[1] == pytest.approx(0.75)
  assert rule('intervals', [21, 28], key='G')[1] == pytest.approx(0.5)
  assert rule('intervals', [21, 0], key='G')[1] == pytest.approx(1.5)
  assert rule('intervals', [14, 21], key='G')[1] == pytest.approx(0.1)
  # A minor: A = 23 -> C = 26 (+3, in key) is the in-key third; 23 -> 27 (C#) is not.
  assert rule('intervals', [23, 26], key='A_minor')[1] == pytest.approx(0.75)
  assert rule('intervals', [23, 27], key='A_minor')[1] == pytest.approx(0.45)


# (8) Leap resolution ---------------------------------------------------------------

@pytest.mark.parametrize('semantics', BOTH)
@pytest.mark.parametrize('name, notes, expected', [
    # Leap up 14 -> 21, then steps down back to 14 <= leapt_from: resolved at beat 5.
    ('gradual_resolution', [14, 21, 19, 18, 16, 14, 16], {5: 5.0}),
    # Two leaps up in a row: doubled.
    ('doubled', [14, 21, 28], {2: -5.0}),
    # A quick leap back (0 steps) clears the leap silently.
    ('quick_leap_back', [14, 21, 14], {}),
    # Six specials after the leap: steps = 6 is not > 6.
    ('leap_back_after_six', [14, 21] + [1] * 6 + [14], {}),
    # Seven: steps = 7 > 6, the opposite leap resolves.
    ('leap_back_after_seven', [14, 21] + [1] * 7 + [14], {9: 5.0}),
    # Descending leap 21 -> 14, stepping back up to 21 >= leapt_from.
    ('descending_gradual', [21, 14, 16, 18, 21], {4: 5.0}),
    # Six semitones is not a leap.
    ('tritone_not_a_leap', [14, 20, 26], {}),
    # A doubled leap keeps the state: the later gradual return still resolves.
    ('doubled_then_resolved', [14, 21, 28, 26, 24, 22, 20, 18, 16, 14], {2: -5.0, 9: 5.0}),
])
def test_leap_resolution(name, notes, expected, semantics):
  del name
  rewards = rule('leap_resolution', notes, semantics)
  assert {t: r for t, r in enumerate(rewards) if r} == expected


# (9) Unique extrema ----------------------------------------------------------------

@pytest.mark.parametrize('semantics', BOTH)
@pytest.mark.parametrize('name, notes, expected_last', [
    ('both_unique', [14, 16, 18, 16], 6.0),
    ('neither_unique', [14, 16, 14, 16], 0.0),
    ('max_unique_only', [14, 16, 14, 18], 3.0),
    # No pitches: the maximum is over specials (index 1 once: +3); no lowest pitch.
    ('only_specials_max_once', [0, 1, 0, 0], 3.0),
    ('only_specials_max_twice', [0, 1, 1, 0], 0.0),
    # The lowest pitch ignores specials: 14 is the only pitch, once.
    ('specials_below_pitch', [0, 14, 0, 0], 6.0),
])
def test_unique_extrema(name, notes, expected_last, semantics):
  del name
  assert rule('unique_extrema', notes, semantics, num_notes=4) == [0, 0, 0, expected_last]


def test_unique_extrema_only_at_the_last_note():
  assert rule('unique_extrema', [14, 16, 18]) == [0, 0, 0]  # num_notes = 32


# Extra modes' rules ----------------------------------------------------------------

def test_scale():
  # prev 14 (scale position 7) -> 16 (position 8): step up 0.05 + in scale 0.01 +
  # next degree 0.8 = 0.86. 16 -> 15: not in scale, not a rise: 0. 15 -> 16: rise
  # of 1 (0.05) + in scale (0.01); 15 is not in the scale so no next-degree bonus.
  assert rule('scale', [14, 16, 15, 16]) == pytest.approx([0.01, 0.86, 0.0, 0.06])
  # The top of the scale (26, position 14) wraps to the bottom (2): 0.01 + 0.8.
  assert rule('scale', [26, 2])[1] == pytest.approx(0.81)
  # Index 1 earns 0.1; after 0 it also rises by 1 (0.05).
  assert rule('scale', [16, 1, 0, 1]) == pytest.approx([0.01, 0.1, 0.0, 0.15])
  # Note 0 compares with the priming event when given: 13 (position 6) -> 14.
  assert rule('scale', [14], priming=13) == pytest.approx([0.86])
  assert rule('scale', [14], priming=np.array([30])) == pytest.approx([0.01])


def test_key_distribution():
  assert rule('key_distribution', [14, 15, 0]) == pytest.approx([1 / 23, 0, 1 / 23])


@pytest.mark.parametrize('semantics', BOTH)
def test_non_repeating_is_never_none(semantics):
  assert rule('non_repeating', [14] * 7, semantics) == pytest.approx([0.1] * 5 + [0.0] * 2)
