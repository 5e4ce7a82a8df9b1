"""Note RNN configurations: named presets, Magenta-style hparams overrides, JSON.

Presets (``--config``):

* ``rl_tuner_default``: the RL Tuner's 'default' Note RNN, one LSTM of 100 units over
  basic_rnn's encoding;
* Magenta's melody_rnn configs ``basic_rnn``, ``mono_rnn``, ``lookback_rnn`` and
  ``attention_rnn`` with Magenta's default hparams: two LSTMs of 128 units, dropout keep 0.5,
  Adam 1e-3, clip_norm 5 (attention_rnn: 3, attn_length 40); their encodings are in
  ``note_rnn.melody_configs``.

``--hparams`` strings use Magenta's syntax (``batch_size=128,rnn_layer_sizes=[100]``)
so a command line written for ``melody_rnn_train`` carries over.
"""

import ast
import dataclasses
import re
from typing import Any, Optional

from note_rnn import melody_configs
from pipelines import encoding
from pipelines import files


@dataclasses.dataclass
class NoteRnnHParams:
  """Model and optimisation hyperparameters (the names Magenta's hparams use).

  Attributes:
    rnn_layer_sizes: units of each stacked LSTM layer.
    dropout_keep_prob: keep probability of the dropout after each LSTM layer
      (training only; 1.0 disables it), as Magenta's DropoutWrapper.
    batch_size: training batch size.
    learning_rate: Adam learning rate.
    clip_norm: per-tensor gradient norm clip (tf-slim's clip_gradient_norms, i.e.
      Keras ``clipnorm``); 0 disables clipping.
    attn_length: attention_rnn's attention window (0 for the other configs).
  """
  rnn_layer_sizes: tuple = (100,)
  dropout_keep_prob: float = 0.5
  batch_size: int = 128
  learning_rate: float = 0.001
  clip_norm: float = 5.0
  attn_length: int = 0

  def __post_init__(self):
    self.rnn_layer_sizes = tuple(int(u) for u in self.rnn_layer_sizes)
    # Upper bounds keep a typo from allocating terabytes; NaN fails every comparison.
    if not self.rnn_layer_sizes or any(not 0 < u <= 16384 for u in self.rnn_layer_sizes):
      raise ValueError('rnn_layer_sizes must be a non-empty list of ints in [1, 16384], got %r'
                       % (self.rnn_layer_sizes,))
    if not 0.0 < self.dropout_keep_prob <= 1.0:
      raise ValueError('dropout_keep_prob must be in (0, 1], got %r' % self.dropout_keep_prob)
    if not 0 < self.batch_size <= 65536:
      raise ValueError('batch_size must be in [1, 65536], got %r' % self.batch_size)
    if not 0 < self.learning_rate <= 10:
      raise ValueError('learning_rate must be in (0, 10], got %r' % self.learning_rate)
    if not 0 <= self.clip_norm < float('inf'):
      raise ValueError('clip_norm must be a finite number >= 0, got %r' % self.clip_norm)
    if not 0 <= self.attn_length <= 4096:
      raise ValueError('attn_length must be in [0, 4096], got %r' % self.attn_length)

  def to_dict(self) -> dict:
    d = dataclasses.asdict(self)
    d['rnn_layer_sizes'] = list(self.rnn_layer_sizes)
    return d


NAMED_CONFIGS = {
    'rl_tuner_default': NoteRnnHParams(rnn_layer_sizes=(100,)),
    **{name: NoteRnnHParams(rnn_layer_sizes=c.rnn_layer_sizes, clip_norm=c.clip_norm,
                            attn_length=c.attn_length)
       for name, c in melody_configs.CONFIGS.items()},
}


def melody_config_name(preset: str) -> str:
  """The melody_rnn config (encoding) a preset trains: rl_tuner_default is a basic_rnn."""
  return 'basic_rnn' if preset == 'rl_tuner_default' else melody_configs.get(preset).name


def named_config(name: str) -> NoteRnnHParams:
  """Returns a fresh copy of the preset ``name``; unknown names list the valid ones."""
  if name not in NAMED_CONFIGS:
    raise ValueError('unknown Note RNN config %r; valid: %s' % (name, ', '.join(NAMED_CONFIGS)))
  return dataclasses.replace(NAMED_CONFIGS[name])


def parse_hparams(hparams: NoteRnnHParams, overrides: str) -> NoteRnnHParams:
  """Applies a Magenta-style override string such as ``batch_size=64,rnn_layer_sizes=[64,64]``.

  Values are Python literals. Commas inside brackets belong to the value.

  Raises:
    ValueError: naming the unknown key or the unparsable value.
  """
  values = hparams.to_dict()
  text = (overrides or '').strip()
  if not text:
    return NoteRnnHParams(**values)
  # Split on commas that are followed by `name=` (not the ones inside lists).
  parts = re.split(r',\s*(?=[A-Za-z_][A-Za-z0-9_]*\s*=)', text)
  for part in parts:
    if '=' not in part:
      raise ValueError('hparams: expected name=value, got %r' % part)
    key, raw = (s.strip() for s in part.split('=', 1))
    if key not in values:
      raise ValueError('hparams: unknown name %r; valid: %s' % (key, ', '.join(values)))
    try:
      value = ast.literal_eval(raw)
    except (ValueError, SyntaxError):
      raise ValueError('hparams: cannot parse the value of %s: %r' % (key, raw)) from None
    values[key] = value
  return NoteRnnHParams(**values)


def encoding_dict(config: Optional[melody_configs.MelodyConfig] = None) -> dict[str, Any]:
  """The encoding facts stored in every config.json, so a reader can check them."""
  if config is not None and config.name != 'basic_rnn':
    return {'name': config.name, 'encoder': config.encoder, 'input_size': config.input_size,
            'num_classes': config.num_classes, 'min_midi_pitch': config.min_note,
            'max_midi_pitch': config.max_note, 'no_event_index': config.no_event_label}
  return {
      'name': 'basic_rnn_one_hot',
      'num_classes': encoding.NUM_CLASSES,
      'min_midi_pitch': encoding.MIN_MIDI_PITCH,
      'max_midi_pitch': encoding.MAX_MIDI_PITCH,
      'no_event_index': encoding.NO_EVENT_INDEX,
      'note_off_index': encoding.NOTE_OFF_INDEX,
      'pitch_index_offset': encoding.PITCH_INDEX_OFFSET,
  }


def write_json_atomic(path, obj) -> None:
  """Writes JSON through a temporary file and a rename, so a kill never leaves half a file."""
  files.write_json_atomic(path, obj, indent=1, sort_keys=True)
