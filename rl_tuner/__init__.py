"""rl_tuner stage."""
