"""The data stage of the demo: a corpus slice through both pipelines.

``bin/demo`` calls ``run_data_stage`` first; later stages (Note RNN, RL tuning,
evaluation, report) take the paths it returns. Steps, all under ``output_dir``:

1. ``corpus/``: a slice of the bundled music21 corpus as NoteSequences
   (cached, so a second demo run skips the parsing);
2. ``midi/``: those NoteSequences exported as MIDI files;
3. ``notesequences.tfrecord``: ``convert_dir_to_note_sequences`` on ``midi/``;
4. ``melody_dataset/``: ``create_melody_dataset`` on that file.
"""

import dataclasses
import logging
import os
import time
from typing import Dict, Sequence

from pipelines import beam_common
from pipelines import convert_pipeline
from pipelines import corpus
from pipelines import corpus_pipeline
from pipelines import dataset_pipeline
from pipelines import midi_export

DEFAULT_OUTPUT_DIR = 'demo_output'
DEFAULT_MAX_TUNES = 300


@dataclasses.dataclass(frozen=True)
class DataStageConfig:
  """Attributes:
    output_dir: where everything goes (gitignored demo_output/ by default).
    max_tunes: the size of the corpus slice.
    eval_ratio: the melody dataset's eval fraction.
    beam_args: Beam options for the pipelines (the corpus step defaults to
      two worker processes).
  """
  output_dir: str = DEFAULT_OUTPUT_DIR
  max_tunes: int = DEFAULT_MAX_TUNES
  eval_ratio: float = 0.1
  beam_args: Sequence[str] = ()


def run_data_stage(config: DataStageConfig) -> Dict[str, object]:
  """Runs steps 1-4; returns paths and the counters of both pipelines.

  Returns:
    {'notesequences': path, 'melody_dataset_dir': path, 'training_file': path,
     'eval_file': path, 'convert_stats': dict, 'dataset_stats': dict,
     'seconds': float}
  """
  start = time.time()
  corpus_config = corpus_pipeline.CorpusConfig(
      output_dir=os.path.join(config.output_dir, 'corpus'),
      max_tunes=config.max_tunes, beam_args=tuple(config.beam_args))
  units = corpus.list_units(corpus_config.collections, config.max_tunes)
  options = beam_common.make_pipeline_options(
      config.beam_args, **corpus_pipeline.DEFAULT_WORKER_OPTIONS)
  logging.info('demo: converting %d corpus tunes with music21.', len(units))
  corpus_pipeline.convert(corpus_config, units, options)
  midi_dir = os.path.join(config.output_dir, 'midi')
  exported = midi_export.export_midi_files(
      os.path.join(corpus_config.output_dir, corpus.NOTESEQUENCES_FILE),
      midi_dir)
  logging.info('demo: exported %d MIDI files to %s.', exported, midi_dir)
  ns_file = os.path.join(config.output_dir, 'notesequences.tfrecord')
  small = beam_common.make_pipeline_options(config.beam_args)
  convert_stats = convert_pipeline.run(convert_pipeline.ConvertConfig(
      input_dir=midi_dir, output_file=ns_file,
      beam_args=tuple(config.beam_args)), options=small)
  dataset_dir = os.path.join(config.output_dir, 'melody_dataset')
  dataset_stats = dataset_pipeline.run(dataset_pipeline.DatasetConfig(
      input=ns_file, output_dir=dataset_dir, eval_ratio=config.eval_ratio,
      command_flags=('demo',)), options=small)
  return {
      'notesequences': ns_file,
      'melody_dataset_dir': dataset_dir,
      'training_file': os.path.join(dataset_dir,
                                    dataset_pipeline.TRAINING_FILE),
      'eval_file': os.path.join(dataset_dir, dataset_pipeline.EVAL_FILE),
      'convert_stats': convert_stats,
      'dataset_stats': dataset_stats,
      'seconds': round(time.time() - start, 1),
  }


def format_data_stage(result: Dict[str, object]) -> str:
  """Both pipelines' counter tables, for the demo's output."""
  return '\n'.join([
      '== convert_dir_to_note_sequences ==',
      convert_pipeline.summary(result['convert_stats'],
                               result['notesequences']),
      '== create_melody_dataset ==',
      dataset_pipeline.summary(result['dataset_stats'],
                               result['melody_dataset_dir']),
      'Data stage took %.1f s.' % result['seconds']])
