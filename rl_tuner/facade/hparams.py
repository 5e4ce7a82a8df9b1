"""Magenta's `default_dqn_hparams()`: the DQN settings the facade maps onto `RLTunerConfig`."""

import dataclasses
from typing import Any, Dict


@dataclasses.dataclass
class DqnHParams:
  """Magenta's `rl_tuner_ops.default_dqn_hparams()`, field for field.

  Attribute access, `values()` and `parse('name=value,...')` work as on the
  `HParams` object Magenta returns, so notebooks that tweak fields keep working.

  Attributes:
    random_action_probability: final ε of ε-greedy exploration.
    store_every_nth: store one transition per this many steps (only 1 exists).
    train_every_nth: environment steps per gradient step.
    minibatch_size: transitions per gradient step.
    discount_rate: γ.
    max_experience: replay capacity in transitions.
    target_network_update_rate: τ of the soft target update.
  """
  random_action_probability: float = 0.1
  store_every_nth: int = 1
  train_every_nth: int = 5
  minibatch_size: int = 32
  discount_rate: float = 0.95
  max_experience: int = 100000
  target_network_update_rate: float = 0.01

  def values(self) -> Dict[str, Any]:
    return dataclasses.asdict(self)

  def parse(self, text: str) -> 'DqnHParams':
    """Sets fields from 'name=value,name=value' (Magenta's HParams syntax)."""
    for item in filter(None, (part.strip() for part in text.split(','))):
      name, sep, value = item.partition('=')
      if not sep or not hasattr(self, name.strip()):
        raise ValueError('cannot parse hparam %r; valid names: %s'
                         % (item, ', '.join(self.values())))
      name = name.strip()
      setattr(self, name, type(getattr(self, name))(value))
    return self


def default_dqn_hparams() -> DqnHParams:
  """The DQN hyperparameters Magenta's RLTuner uses by default."""
  return DqnHParams()
