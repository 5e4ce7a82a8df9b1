"""Music: keys, melody features, the reward rules and the composition statistics.

Pure numpy, no TensorFlow. The bottom of `rl_tuner`: it imports no other sub-package.
"""
