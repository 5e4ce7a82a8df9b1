"""Reinforcement learning: environment, batched collector, networks, targets, agents, trainer.

Imports `music`, `policy` and (for a run's final metrics.json) `evaluate`.
"""

from pipelines import quiet

quiet.import_gym_quietly()  # tf-agents imports gym, whose import prints a banner
