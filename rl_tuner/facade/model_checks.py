"""The `RLTuner` keywords that describe the Note RNN, checked against the loaded model.

Magenta's RLTuner took `input_size` / `num_actions` (38, its only encoding), `note_rnn_type`
and `note_rnn_hparams`; here the config and sizes come from the checkpoint, and a keyword
that contradicts it is a ValueError naming the keyword.
"""

from typing import Any, Optional

from pipelines import encoding
from rl_tuner.policy import encodings


def check_size(keyword: str, value: Optional[int], field: str) -> None:
  """Raises ValueError unless `value` is None or some melody_rnn config's `field`
  ('input_size' or 'num_classes')."""
  if value is None:
    return
  sizes = {name: getattr(encoding.config_encoding(name), field)
           for name in encoding.CONFIG_NAMES}
  if value not in sizes.values():
    raise ValueError('%s=%r: no melody_rnn config has that size (%s); leave it out to take '
                     "the loaded Note RNN's" % (keyword, value, ', '.join(
                         '%s %d' % item for item in sizes.items())))


def check_against(prior, *, note_rnn_type: str, note_rnn_hparams: Any,
                  input_size: Optional[int], num_actions: Optional[int]) -> None:
  """Raises ValueError for a keyword that contradicts the loaded Note RNN `prior`."""
  name = encodings.config_name(prior)
  if note_rnn_type not in ('default', name):
    raise ValueError('note_rnn_type=%r but the checkpoint holds a %s' % (note_rnn_type, name))
  sizes = getattr(note_rnn_hparams, 'rnn_layer_sizes', None)
  if sizes is not None and tuple(sizes) != tuple(prior.layer_sizes):
    raise ValueError('note_rnn_hparams.rnn_layer_sizes=%s but the checkpoint holds %s'
                     % (list(sizes), list(prior.layer_sizes)))
  for keyword, wanted, actual in (
      ('input_size', input_size, getattr(prior, 'input_size', encoding.NUM_CLASSES)),
      ('num_actions', num_actions, encodings.num_classes(prior))):
    if wanted is not None and int(wanted) != int(actual):
      raise ValueError("%s=%r but the checkpoint's %s has %d"
                       % (keyword, wanted, name, int(actual)))
