"""Every test vector of the original RL Tuner's documented rules, in legacy semantics (λ = 1, no log p)."""

import numpy as np
import pytest

from rl_tuner.music import features as mf
from rl_tuner.music import rules as mt

MOTIF = [14, 16, 18, 19, 1, 1, 1, 1]
FULL = [14, 1, 16, 1, 18, 1, 21, 1, 19, 18, 16, 1, 14, 1, 0, 1,
        23, 21, 19, 1, 18, 16, 18, 1, 16, 1, 26, 1, 14, 1, 0, 0]


def legacy_reward(notes):
  return mt.music_theory_reward(np.array([notes]), key='C', semantics='legacy')[0]


def legacy_parts(notes):
  parts = mt.reward_components(np.array([notes]), key='C', semantics='legacy')
  return {name: values[0] for name, values in parts.items()}


@pytest.mark.parametrize('name, notes, expected, tolerance', [
    ('repeated_tonic', [14] * 7, [3, 0, 0, 0, 0, -100, -100], 1e-12),
    ('holds_after_c', [14, 0, 0, 0, 0], [3, -0.75, -0.75, -100.5, -99.25], 1e-12),
    ('index_1_after_c', [14] + [1] * 7, [3, 0, 0, 0.25, 1.5, 1.5, -98.5, -98.5], 1e-12),
    ('leap_resolved', [14, 21, 19, 18, 16, 14, 16],
     [3, -1.0, -1.1, -1.5, -1.6918, 3.9, -0.622], 5e-4),
    ('leap_doubled', [14, 21, 28], [3, -1.0, -6.0], 1e-12),
])
def test_per_step_vectors(name, notes, expected, tolerance):
  del name
  np.testing.assert_allclose(legacy_reward(notes), expected, rtol=0, atol=tolerance)


def test_holds_after_c_parts():
  parts = legacy_parts([14, 0, 0, 0, 0])
  np.testing.assert_allclose(parts['intervals'][1:], [0.75] * 4)
  np.testing.assert_allclose(parts['autocorrelation'], [0, -1.5, -1.5, -1.25, 0], atol=1e-12)
  assert parts['repetition'].tolist() == [0, 0, 0, -100, -100]


def test_index_1_after_c_parts():
  np.testing.assert_allclose(legacy_parts([14] + [1] * 7)['intervals'][1:], [1.5] * 7)


def test_leap_resolved_bonus():
  assert legacy_parts([14, 21, 19, 18, 16, 14, 16])['leap_resolution'][5] == 5.0


def test_quick_leap_back_gets_no_bonus():
  rewards = legacy_reward([14, 21, 14])
  assert rewards[2] == pytest.approx(-2.0)
  assert legacy_parts([14, 21, 14])['leap_resolution'].tolist() == [0, 0, 0]


def test_six_steps_are_not_more_than_six():
  assert not legacy_parts([14, 21] + [1] * 6 + [14])['leap_resolution'].any()


def test_motif_and_repeated_motif():
  parts = legacy_parts(MOTIF + MOTIF + [14])
  np.testing.assert_allclose(parts['motif'], [0] * 7 + [3.3] * 10)
  assert parts['repeated_motif'].tolist() == [0] * 15 + [5.0, 5.0]


@pytest.mark.parametrize('prev, note, expected', [
    (14, 21, 0.5), (16, 23, 0.1), (14, 18, 0.75), (14, 10, 0.75), (16, 20, 0.45),
    (14, 16, 0.4), (14, 19, 0.35), (14, 23, 0.25), (14, 25, -1.5), (14, 27, -5.0),
    (14, 26, 0.0), (14, 15, 0.0), (14, 17, 0.0), (14, 20, 0.0),
    (14, 0, 0.75), (14, 1, 1.5), (16, 0, 0.25), (16, 1, 0.375),
])
def test_interval_rewards(prev, note, expected):
  assert legacy_parts([prev, note])['intervals'][1] == pytest.approx(expected)


def test_classifier_walks_back_over_specials():
  codes = mf.interval_codes(np.array([[14, 1, 0, 21]]), mt.parse_key('C'), 'legacy')
  assert codes[0, 3] == mf.IN_KEY_FIFTH == -5


def test_full_composition():
  rewards = legacy_reward(FULL)
  assert rewards.sum() == pytest.approx(-9.9374, abs=1e-4)
  assert rewards[-1] == pytest.approx(6.489, abs=1e-3)
  parts = legacy_parts(FULL)
  last = {name: values[-1] for name, values in parts.items()}
  assert last['tonic'] == 3 and last['motif'] == 3 and last['unique_extrema'] == 3
  assert last['intervals'] == pytest.approx(0.75)
  assert last['autocorrelation'] == pytest.approx(-3.261, abs=1e-3)
  # Beat 26 doubles the ascending sixth 14 -> 23 of beat 16, which stays unresolved.
  assert {t: r for t, r in enumerate(parts['leap_resolution']) if r} == {26: -5.0}
  rho = mf.float_autocorrelation(np.array([FULL]), (1, 2, 3))[0]
  np.testing.assert_allclose(rho, [-0.2648, 0.3440, -0.4783], atol=1e-4)
  np.testing.assert_allclose(mf.autocorrelation_prefix(np.array([FULL]))[0, -1], rho,
                             rtol=1e-12)


def test_autocorrelate_two_notes():
  rho = mf.float_autocorrelation(np.array([[14, 21]]), (1, 2))[0]
  assert rho.tolist() == [-0.5, 0.0]
