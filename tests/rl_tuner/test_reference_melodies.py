"""Realism against reference melodies: summed per-melody histograms, and the TFRecord reader."""

import numpy as np
import pytest
import tensorflow as tf

from pipelines.errors import FlagError
from rl_tuner.evaluate import runs as runs_lib
from rl_tuner.music import diversity

H, OFF = -2, -1


def test_melody_histograms_never_join_two_melodies():
  # C4 held 2 steps then E4 (1 step); a second melody G4 A4. Intervals: +4 in the first,
  # +2 in the second; no interval E4 -> G4 across the two melodies.
  histograms = diversity.melody_histograms([np.array([60, H, 64]), np.array([67, 69])])
  intervals = histograms['js_intervals']
  assert intervals[12 + 4] == 1 and intervals[12 + 2] == 1 and intervals.sum() == 2
  assert histograms['js_note_lengths'][:2].tolist() == [3, 1]  # lengths 1, 1, 1 and 2
  assert histograms['js_pitch_classes'][[0, 4, 7, 9]].tolist() == [1, 1, 1, 1]


def test_compositions_like_the_reference_are_at_distance_zero():
  reference = diversity.melody_histograms([np.array([60, H, 64, OFF]), np.array([67, 69])])
  same = np.array([[60, H, 64, OFF], [67, 69, OFF, OFF]])
  figures = diversity.js_vs_reference(same, reference)
  assert set(figures) == {'js_note_lengths_vs_reference', 'js_intervals_vs_reference',
                          'js_pitch_classes_vs_reference'}
  assert figures['js_intervals_vs_reference'] == 0.0
  assert figures['js_pitch_classes_vs_reference'] == 0.0


def _write_melodies(path, melodies):
  with tf.io.TFRecordWriter(str(path)) as writer:
    for classes in melodies:
      example = tf.train.SequenceExample()
      for c in classes[:-1]:
        example.feature_lists.feature_list['inputs'].feature.add().float_list.value.extend(
            np.eye(38)[c].tolist())
      for c in classes[1:]:
        example.feature_lists.feature_list['labels'].feature.add().int64_list.value.append(c)
      writer.write(example.SerializeToString())


def test_reader_decodes_records_and_names_the_flag(tmp_path):
  path = tmp_path / 'eval_melodies.tfrecord'
  _write_melodies(path, [[14, 0, 18, 1], [21, 23]])  # C4 - E4 off; G4 A4
  melodies = runs_lib.read_reference_melodies(str(path))
  assert [m.tolist() for m in melodies] == [[60, H, 64, OFF], [67, 69]]
  with pytest.raises(FlagError, match='--reference_melodies: no such file'):
    runs_lib.read_reference_melodies(str(tmp_path / 'missing'))
  (tmp_path / 'bad').write_bytes(b'not a tfrecord')
  with pytest.raises(FlagError, match='--reference_melodies: .*bad'):
    runs_lib.read_reference_melodies(str(tmp_path / 'bad'))
