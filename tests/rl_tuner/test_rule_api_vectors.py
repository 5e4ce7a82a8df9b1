"""The existing rule test vectors, rerun with every rule computed through the rule API.

`rules.reward_components` (which the vector tests and `music_theory_reward` call) is
replaced by one that converts the compositions to melody events and calls the registered
rules (rl_tuner.music.rule_api), so each vector proves the API gives today's value.
"""

import importlib.util
import os

import numpy as np
import pytest

from rl_tuner.music import rule_api
from rl_tuner.music import rules

_HERE = os.path.dirname(os.path.abspath(__file__))
_ORIGINAL = rules.reward_components


def _load(name):
  spec = importlib.util.spec_from_file_location('api_' + name, os.path.join(_HERE, name + '.py'))
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


def _through_api(compositions, *, key='C', semantics=rules.CORRECTED,
                 num_notes=rules.DEFAULT_NUM_NOTES, rules=None, priming=None):  # pylint: disable=redefined-outer-name
  x, key = _check_args(compositions, key, semantics, num_notes)
  names = _MUSIC_THEORY_RULES if rules is None else tuple(rules)
  if priming is not None:
    priming = rule_api.events_from_indices(np.broadcast_to(np.asarray(priming), x.shape[:1]))
  context = rule_api.make_context(key=key, num_notes=num_notes, semantics=semantics,
                                  priming=priming)
  return rule_api.rule_rewards(rule_api.events_from_indices(x), dict.fromkeys(names, 1.0),
                               context)


_check_args = rules._check_args  # pylint: disable=protected-access
_MUSIC_THEORY_RULES = rules.MUSIC_THEORY_RULES


@pytest.fixture(autouse=True)
def _rules_through_the_api(monkeypatch):
  monkeypatch.setattr(rules, 'reward_components', _through_api)


def test_the_api_is_in_use():
  assert rules.reward_components is _through_api
  x = np.random.default_rng(1).integers(0, 38, (16, 32))
  for name, part in _ORIGINAL(x, key='G', semantics='legacy').items():
    np.testing.assert_array_equal(rules.reward_components(x, key='G', semantics='legacy')[name],
                                  part)


for _module_name in ('test_music_theory_rules', 'test_music_theory_appendix',
                     'test_music_theory_reference'):
  _module = _load(_module_name)
  for _name in dir(_module):
    if _name.startswith('test_'):
      globals()['%s__%s' % (_name, _module_name[len('test_music_theory_'):])] = getattr(
          _module, _name)
del _module, _module_name, _name
