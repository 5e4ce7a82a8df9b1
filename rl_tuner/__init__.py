"""rl_tuner stage: the RL Tuner on tf-agents.

`rl_tuner.RLTuner` and `rl_tuner.default_dqn_hparams` are Magenta's RL Tuner
class and hparams (rl_tuner/facade/). They load lazily, so importing a pure
module such as `rl_tuner.music.rules` does not import TensorFlow.
"""

_FACADE_NAMES = ('RLTuner', 'default_dqn_hparams', 'DqnHParams')


def __getattr__(name):
  if name in _FACADE_NAMES:
    from rl_tuner import facade  # pylint: disable=g-import-not-at-top
    return getattr(facade, name)
  raise AttributeError('module %r has no attribute %r' % (__name__, name))


def __dir__():
  return sorted(list(globals()) + list(_FACADE_NAMES))
