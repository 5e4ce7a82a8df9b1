"""Runs the ORIGINAL RL Tuner's reward methods and statistics on scripted notes.

Run with the baseline venv (Magenta's code under ../shared/baseline), never
with the project's venv:

  .venv-baseline/bin/python tests/rl_tuner/magenta_reward_probe.py KIT_DIR IN.json

IN.json holds {"compositions": [[...32 ints...], ...], "priming": [...]}.
Prints one JSON object: per composition and step the value of each original
reward method (as `RLTuner.reward_music_theory` would call them, in its order,
with the leap state carried), the extra modes' rewards, and the stat dict of
`rl_tuner_eval_metrics.compute_composition_stats` driven by the same notes.

The RLTuner instance is made without its constructor (no graph, no checkpoint):
the reward and statistic methods read only `composition`, `beat`,
`num_notes_in_melody` and the leap state, which `reset_composition` sets.
"""

import json
import os
import sys

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')

NUM_ACTIONS = 38
NUM_NOTES = 32

# (name in our REWARD_RULES, original method) in reward_music_theory's order.
RULE_METHODS = (
    ('key', 'reward_key'),
    ('tonic', 'reward_tonic'),
    ('repetition', 'reward_penalize_repeating'),
    ('autocorrelation', 'reward_penalize_autocorrelation'),
    ('motif', 'reward_motif'),
    ('repeated_motif', 'reward_repeated_motif'),
    ('intervals', 'reward_preferred_intervals'),
    ('leap_resolution', 'reward_leap_up_back'),
    ('unique_extrema', 'reward_high_low_unique'),
)


def main(kit_dir, in_path):
  sys.path.insert(0, kit_dir)
  import numpy as np  # pylint: disable=g-import-not-at-top
  import tensorflow.compat.v1 as tf  # pylint: disable=g-import-not-at-top
  tf.logging.set_verbosity(tf.logging.ERROR)
  from magenta.models.rl_tuner import rl_tuner  # pylint: disable=g-import-not-at-top
  from magenta.models.rl_tuner import rl_tuner_eval_metrics  # pylint: disable=g-import-not-at-top
  from magenta.models.rl_tuner import rl_tuner_ops  # pylint: disable=g-import-not-at-top

  with open(in_path) as f:
    data = json.load(f)
  compositions = data['compositions']
  priming = data['priming']

  def one_hot(i):
    return np.array(rl_tuner_ops.make_onehot([i], NUM_ACTIONS)).flatten()

  tuner = rl_tuner.RLTuner.__new__(rl_tuner.RLTuner)
  tuner.num_notes_in_melody = NUM_NOTES
  tuner.num_actions = NUM_ACTIONS

  rewards = {name: [] for name, _ in RULE_METHODS}
  for extra in ('scale', 'key_distribution', 'non_repeating'):
    rewards[extra] = []
  for notes, prime in zip(compositions, priming):
    tuner.reset_composition()
    rows = {name: [] for name in rewards}
    obs = one_hot(prime)
    for note in notes:
      action = one_hot(note)
      for name, method in RULE_METHODS:
        rows[name].append(float(getattr(tuner, method)(action)))
      rows['scale'].append(float(tuner.reward_scale(obs, action)))
      rows['key_distribution'].append(float(tuner.reward_key_distribute_prob(action)))
      non_repeating = tuner.reward_non_repeating(action)
      rows['non_repeating'].append(None if non_repeating is None else float(non_repeating))
      tuner.composition.append(int(note))
      tuner.beat += 1
      obs = action
    for name in rewards:
      rewards[name].append(rows[name])

  # compute_composition_stats, fed the scripted notes instead of the model's.
  queue = {'notes': None, 'i': 0, 'next': 0}

  def prime_internal_models():
    queue['notes'] = compositions[queue['next']]
    queue['next'] += 1
    queue['i'] = 0
    return one_hot(0)

  def action(unused_obs, unused_period, enable_random=False, sample_next_obs=True):
    del enable_random, sample_next_obs
    note = queue['notes'][queue['i']]
    queue['i'] += 1
    return one_hot(note), one_hot(note), None

  tuner.prime_internal_models = prime_internal_models
  tuner.action = action
  stats = rl_tuner_eval_metrics.compute_composition_stats(
      tuner, num_compositions=len(compositions), composition_length=NUM_NOTES)
  stats = {k: (v if not isinstance(v, list) else [float(x) for x in v])
           for k, v in stats.items()}
  json.dump({'rewards': rewards, 'stats': stats}, sys.stdout)


if __name__ == '__main__':
  main(sys.argv[1], sys.argv[2])
