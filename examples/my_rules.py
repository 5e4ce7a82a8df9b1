"""My own reward rule: bin/train_rl_tuner --reward_rule_module=examples/my_rules.py ..."""
import numpy as np
import rl_tuner

@rl_tuner.reward_rule('pentatonic')
def pentatonic(melodies, *, context):
  """+1 for a struck note of the key's major pentatonic scale, -1 for any other pitch."""
  scale = [(context.tonic_pitch_class + step) % 12 for step in (0, 2, 4, 7, 9)]
  struck = melodies >= 0
  return np.where(struck, np.where(np.isin(melodies % 12, scale), 1.0, -1.0), 0.0)
