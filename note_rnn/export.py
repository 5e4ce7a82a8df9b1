"""``export_to_magenta``: what ``bin/export_magenta_bundle`` calls (see ``magenta_export``).

The bundle is of the model's own config (generator id basic_rnn, mono_rnn, lookback_rnn or
attention_rnn), named ``<config>.mag`` by default, so Magenta's generator encodes its inputs
the way the model was trained.
"""

import dataclasses
import os
from typing import Optional

from note_rnn import loading
from note_rnn import magenta_export
from note_rnn import model as model_lib

BUNDLE_NAME = 'basic_rnn.mag'  # the default model's; other configs: '<config>.mag'


@dataclasses.dataclass
class ExportConfig:
  """Attributes:
    source: anything ``note_rnn.load`` reads; None = the shipped model.
    output_dir: receives ``train/model.ckpt-<step>`` and, by default, ``<config>.mag``.
    bundle_file: bundle path (default ``output_dir/<config>.mag``, e.g. ``basic_rnn.mag``).
    write_checkpoint: also write the melody_rnn-style training checkpoint.
    bundle_description: ``bundle_details.description``.
    batch_size: generation graph batch size.
    attn_length: attention_rnn's window where the source does not record it (None: 40).
  """
  source: Optional[str]
  output_dir: str
  bundle_file: Optional[str] = None
  write_checkpoint: bool = True
  bundle_description: str = ''
  batch_size: int = 128
  attn_length: Optional[int] = None


def _source_step(source: Optional[str]) -> int:
  """The training step recorded for the source run dir (0 when unknown)."""
  run_dir = source if source else loading.default_model_dir()
  info = model_lib.read_best_info(run_dir) if os.path.isdir(run_dir) else None
  return int(info.get('step') or 0) if info else 0


def export_to_magenta(cfg: ExportConfig) -> dict:
  """Loads the source model and writes the Magenta checkpoint and bundle; returns the paths."""
  model = loading.load(cfg.source, attn_length=cfg.attn_length)
  step = _source_step(cfg.source)
  description = cfg.bundle_description or (
      'rl-tuner Note RNN (%s %s) exported from %s' % (
          model.config_name, list(model.layer_sizes), cfg.source or 'the shipped default model'))
  return magenta_export.export_magenta(
      model,
      checkpoint_prefix=(os.path.join(cfg.output_dir, 'train', 'model.ckpt-%d' % step)
                         if cfg.write_checkpoint else None),
      bundle_file=cfg.bundle_file or os.path.join(cfg.output_dir,
                                                  '%s.mag' % model.config_name),
      bundle_description=description, batch_size=cfg.batch_size, global_step=step)
