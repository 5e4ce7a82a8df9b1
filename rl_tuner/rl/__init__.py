"""Reinforcement learning: environment, batched collector, networks, targets, agents, trainer.

Imports `music`, `policy` and (for a run's final metrics.json) `evaluate`.
"""
