"""rl_tuner stage: the RL Tuner on tf-agents.

`rl_tuner.RLTuner` and `rl_tuner.default_dqn_hparams` are Magenta's RL Tuner
class and hparams (rl_tuner/facade/); `rl_tuner.reward_rule` registers a
reward rule (rl_tuner/music/rule_api.py). They load lazily, so importing a pure
module such as `rl_tuner.music.rules`, or `rl_tuner.reward_rule` itself, does
not import TensorFlow.
"""

_FACADE_NAMES = ('RLTuner', 'default_dqn_hparams', 'DqnHParams')
_RULE_API_NAMES = ('reward_rule', 'RuleContext', 'registered_rules')


def __getattr__(name):
  if name in _FACADE_NAMES:
    from rl_tuner import facade  # pylint: disable=g-import-not-at-top
    return getattr(facade, name)
  if name in _RULE_API_NAMES:
    from rl_tuner.music import rule_api  # pylint: disable=g-import-not-at-top
    return getattr(rule_api, name)
  raise AttributeError('module %r has no attribute %r' % (__name__, name))


def __dir__():
  return sorted(list(globals()) + list(_FACADE_NAMES) + list(_RULE_API_NAMES))
