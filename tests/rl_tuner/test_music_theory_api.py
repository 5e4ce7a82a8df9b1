"""reward_components / music_theory_reward: modes, shapes, errors,
and corrected-semantics R_MT vectors worked out by hand."""

import numpy as np
import pytest

from rl_tuner.music import rules as mt

FULL = [14, 1, 16, 1, 18, 1, 21, 1, 19, 18, 16, 1, 14, 1, 0, 1,
        23, 21, 19, 1, 18, 16, 18, 1, 16, 1, 26, 1, 14, 1, 0, 0]


def _random_compositions(seed=3, batch=64, length=32):
  rng = np.random.default_rng(seed)
  noise = rng.integers(0, 38, (batch, length))
  specials = rng.integers(0, 2, (batch, length))
  walk = np.clip(20 + np.cumsum(rng.integers(-3, 4, (batch, length)), axis=1), 2, 37)
  choice = rng.random((batch, length))
  return np.where(choice < 0.2, noise, np.where(choice < 0.5, specials, walk))


def test_corrected_holds_after_c():
  # [14, 0, 0, 0, 0], corrected:
  #   beat 0: tonic 3.                                                   = 3
  #   beats 1-3: hold after C -> code -2.5 -> 0.3·5 = 1.5; one struck pitch: ρ is
  #     NaN, no autocorrelation penalty                                  = 1.5
  #   beat 4: C has sounded 4 steps: the hold earns nothing               = 0
  # No repetition penalty: a hold is never excessive (legacy: -100 at beats 3, 4).
  rewards = mt.music_theory_reward(np.array([[14, 0, 0, 0, 0]]), key='C')
  np.testing.assert_allclose(rewards[0], [3, 1.5, 1.5, 1.5, 0], atol=1e-12)


def test_corrected_full_composition_from_legacy():
  # Corrected differs from legacy on this composition in the intervals of specials,
  # the tonic rule at beat 29, the motif bonus and the autocorrelation:
  #   index 1 after C/G (beats 1, 7, 13, 15, 27, 29): rest -2 (0.75), not hold -2.5
  #     (1.5): 6 × -0.75 = -4.5;
  #   index 1 after D/E/F (beats 3, 5, 11, 19, 23, 25): rest -1 (0.25), not hold
  #     -1.5 (0.375): 6 × -0.125 = -0.75;
  #   index 0 after C (beats 14, 30, 31; C has sounded 1-2 steps): hold -2.5 (1.5),
  #     not rest -2 (0.75): 3 × +0.75 = +2.25;
  #   beat 6, E -> G (+3, in key): in-key third 0.75 instead of code 3 (0): +0.75;
  #   beat 29 holds index 1 (a note-off): corrected wants a hold there: -3;
  #   windows of 5 pitches (beats 12, 13, 21, 22, 23) earn 3.3, not 3.6: 5 × -0.3.
  # Σ corrected = Σ legacy - 4.5 - 0.75 + 2.25 + 0.75 - 3 - 1.5 = Σ legacy - 6.75,
  # autocorrelation aside: corrected's is legacy's on the 19 struck pitches alone.
  x = np.array([FULL])
  legacy = mt.reward_components(x, key='C', semantics='legacy')
  corrected = mt.reward_components(x, key='C', semantics='corrected')
  others = [name for name in mt.MUSIC_THEORY_RULES if name != 'autocorrelation']
  assert sum(corrected[n].sum() for n in others) == pytest.approx(
      sum(legacy[n].sum() for n in others) - 6.75, abs=1e-9)
  diff = sum(corrected[n][0] - legacy[n][0] for n in others)
  assert diff[29] == pytest.approx(-3.75)  # tonic -3 and rest-after-tonic -0.75
  assert diff[6] == pytest.approx(0.75)
  assert diff[12] == pytest.approx(-0.3)
  struck = np.nonzero(x[0] >= 2)[0]
  on_pitches = mt.reward_components(x[:, struck], key='C', semantics='legacy',
                                    rules=['autocorrelation'])['autocorrelation'][0]
  np.testing.assert_allclose(corrected['autocorrelation'][0][struck], on_pitches, atol=1e-12)
  # A special keeps the penalty of the pitches before it.
  specials = np.nonzero(x[0] < 2)[0]
  np.testing.assert_array_equal(corrected['autocorrelation'][0][specials],
                                corrected['autocorrelation'][0][specials - 1])


@pytest.mark.parametrize('mode', mt.REWARD_MODES)
@pytest.mark.parametrize('semantics', mt.SEMANTICS)
def test_modes_sum_their_rules(mode, semantics):
  x = _random_compositions()
  priming = np.arange(len(x)) % 37
  parts = mt.reward_components(x, key='G', semantics=semantics, rules=list(mt.REWARD_RULES),
                               priming=priming)
  expected = sum(parts[name] for name in mt.REWARD_MODE_RULES[mode])
  total = mt.music_theory_reward(x, key='G', semantics=semantics, reward_mode=mode,
                                 priming=priming)
  np.testing.assert_allclose(total, expected, rtol=0, atol=1e-12)
  assert total.shape == x.shape and total.dtype == np.float64


def test_mode_tables():
  assert set(mt.REWARD_MODES) == {
      'music_theory_all', 'music_theory_basic', 'music_theory_basic_plus_variety',
      'music_theory_only', 'music_theory_random', 'key_and_tonic', 'scale', 'key',
      'non_repeating', 'preferred_intervals'}
  assert set(mt.MODES_WITH_LOG_P) == {'music_theory_all', 'music_theory_basic',
                                      'music_theory_basic_plus_variety'}
  assert mt.REWARD_MODE_RULES['music_theory_all'] == mt.MUSIC_THEORY_RULES
  assert mt.REWARD_MODE_RULES['music_theory_basic_plus_variety'] == (
      'key', 'tonic', 'repetition', 'autocorrelation')
  assert len(mt.MUSIC_THEORY_RULES) == 9


def test_default_components_are_the_nine_rules():
  parts = mt.reward_components(np.array([FULL]))
  assert tuple(parts) == mt.MUSIC_THEORY_RULES


def test_batch_rows_are_independent():
  x = _random_compositions(seed=7, batch=16)
  together = mt.music_theory_reward(x, semantics='legacy')
  for b in range(len(x)):
    alone = mt.music_theory_reward(x[b:b + 1], semantics='legacy')
    np.testing.assert_array_equal(alone[0], together[b])


def test_empty_shapes():
  assert mt.music_theory_reward(np.zeros((0, 32), int)).shape == (0, 32)
  assert mt.music_theory_reward(np.zeros((3, 0), int)).shape == (3, 0)


@pytest.mark.parametrize('kwargs, message', [
    (dict(compositions=[14, 16]), r'\[B, T\]'),
    (dict(compositions=[[14, 38]]), 'outside'),
    (dict(compositions=[[-1, 14]]), 'outside'),
    (dict(compositions=[[14.5, 16]]), 'integer'),
    (dict(compositions=[[14] * 33]), 'num_notes'),
    (dict(compositions=[[14]], semantics='fixed'), 'semantics'),
    (dict(compositions=[[14]], key='H'), 'valid keys'),
    (dict(compositions=[[14]], reward_mode='music'), 'music_theory_all'),
    (dict(compositions=[[14]], num_notes=0), 'num_notes'),
])
def test_bad_arguments(kwargs, message):
  with pytest.raises(ValueError, match=message):
    mt.music_theory_reward(**kwargs)


def test_unknown_rule():
  with pytest.raises(ValueError, match='unknown rules'):
    mt.reward_components([[14]], rules=['melody'])

