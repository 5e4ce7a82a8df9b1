"""`generate_music_sequence(visualize_probs=True)`: the policy's note probabilities per step."""

from typing import Optional, Sequence

import numpy as np

from rl_tuner.policy import encodings


def step_probabilities(policy, priming: int, notes: Sequence[int]) -> np.ndarray:
  """softmax of the policy's scores [num_classes, len(notes)] before each note, stepping
  the priming class then the notes (any config: classes in the model's own layout)."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  model = encodings.step_model(policy)
  num_classes = encodings.num_classes(policy)
  state = model.initial_state(1)
  image = np.zeros((num_classes, len(notes)))
  for t, obs in enumerate([priming] + list(notes[:-1])):
    logits, state = model.step(np.eye(num_classes, dtype=np.float32)[[obs]], state)
    image[:, t] = tf.nn.softmax(logits)[0].numpy()
  return image


def plot(policy, priming: int, notes: Sequence[int], image_path: Optional[str]) -> None:
  """Classes x length softmax image ("Reds", class 0 at the bottom), as Magenta draws it
  (38 rows for basic_rnn; the model's classes otherwise); shown when `image_path` is None."""
  import matplotlib  # pylint: disable=g-import-not-at-top
  if image_path is not None:
    matplotlib.use('Agg')
  import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
  plt.figure()
  plt.imshow(step_probabilities(policy, priming, notes), interpolation='none', cmap='Reds')
  plt.ylabel('Note probability')
  plt.xlabel('Time (beat)')
  plt.gca().invert_yaxis()
  if image_path is not None:
    plt.savefig(image_path)
    plt.close()
  else:
    plt.show()
