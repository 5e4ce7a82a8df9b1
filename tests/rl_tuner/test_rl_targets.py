"""The Q / Ψ / G target maths and the ε schedule, against hand computation."""

import numpy as np
import pytest

from rl_tuner.rl import targets


def test_next_values_by_hand():
  t = np.array([[1.0, 2.0, 0.0]], np.float32)
  prior = np.log(np.array([[0.5, 0.25, 0.25]], np.float32))
  assert targets.q_next_values(t).numpy() == pytest.approx([2.0])
  # log(e^1 + e^2 + e^0) = 2.4076
  assert targets.psi_next_values(t).numpy() == pytest.approx([2.40760596])
  # log(0.5 e^1 + 0.25 e^2 + 0.25 e^0) = log(1.35914 + 1.84726 + 0.25) = log 3.45640 = 1.24023
  assert targets.g_next_values(t, prior).numpy() == pytest.approx([1.2402290], rel=1e-5)


def test_targets_apply_discount_and_terminal_mask():
  r = np.array([1.0, -2.0], np.float32)
  d = np.array([1.0, 0.0], np.float32)  # the second transition ends the episode
  t = np.array([[0.0, 3.0], [5.0, 7.0]], np.float32)
  # y0 = 1 + 0.5 * 3 = 2.5; y1 = -2 (discount 0: no bootstrap)
  assert targets.q_targets(r, d, t, 0.5).numpy() == pytest.approx([2.5, -2.0])
  # y0 = 1 + 0.5 * log(1 + e^3) = 1 + 0.5 * 3.04859 = 2.524293
  assert targets.psi_targets(r, d, t, 0.5).numpy() == pytest.approx([2.524293, -2.0])
  prior = np.log(np.full((2, 2), 0.5, np.float32))
  # y0 = 1 + 0.5 * (log(1 + e^3) + log 0.5) = 1 + 0.5 * 2.35544 = 2.17772
  assert targets.g_targets(r, d, t, prior, 0.5).numpy() == pytest.approx([2.17772, -2.0],
                                                                         rel=1e-5)


@pytest.mark.parametrize('steps, expected', [(0, 1.0), (50, 0.55), (100, 0.1), (1000, 0.1)])
def test_epsilon_anneals_linearly(steps, expected):
  assert targets.epsilon(steps, exploration_period=100) == pytest.approx(expected)


def test_epsilon_without_period_is_final():
  assert targets.epsilon(0, exploration_period=0, final_epsilon=0.1) == pytest.approx(0.1)
