"""The Beam pipelines through their command lines (DirectRunner)."""

import json
import shutil

import pipelines_testlib as lib
from pipelines import converters
from pipelines import convert_pipeline
from pipelines import dataset_pipeline
from pipelines import splits


def _mixed_dir(shared_data, tmp_path):
  """All real MIDI files, the two broken ones, and a non-music file."""
  root = tmp_path / 'mixed'
  root.mkdir()
  good = sorted((shared_data / 'midi').glob('*.mid'))
  for path in good:
    shutil.copy(path, root / path.name)
  for path in sorted((shared_data / 'bad').glob('*.mid')):
    shutil.copy(path, root / path.name)
  (root / 'notes.txt').write_text('not music')
  return root, good


def test_bad_files_are_counted_and_every_good_file_written(shared_data,
                                                           tmp_path):
  root, good = _mixed_dir(shared_data, tmp_path)
  out = tmp_path / 'out' / 'ns.tfrecord'
  proc = lib.run_bin('convert_dir_to_note_sequences', '--input_dir=%s' % root,
                     '--output_file=%s' % out, '--direct_num_workers=2',
                     '--direct_running_mode=multi_processing')
  assert proc.returncode == 0, proc.stderr[-3000:]
  records = lib.read_tfrecord(out)
  assert len(records) == len(good) == 8  # N good in, N out
  expected = {}
  for path in good:
    (sequence,) = converters.convert_file(str(root), path.name).sequences
    expected[sequence.id] = sequence.SerializeToString()
  assert lib.by_id(records) == expected
  stats = json.loads((tmp_path / 'out' / 'ns.tfrecord.stats.json').read_text())
  assert stats['inputs_total'] == 11 and stats['outputs_total'] == 8
  assert stats['counters'][converters.MIDI_CONVERSION_ERRORS] == 2  # k counted
  assert stats['counters'][converters.UNSUPPORTED_EXTENSION] == 1
  assert converters.OTHER_CONVERSION_ERRORS not in stats['counters']
  # Each bad file is named in the log with its reason, and the table printed.
  assert 'truncated_english1.mid' in proc.stderr
  assert 'text_renamed.mid' in proc.stderr
  assert 'midi_conversion_errors' in proc.stdout


def test_nothing_produced_exits_non_zero(shared_data, tmp_path):
  root = tmp_path / 'bad'
  shutil.copytree(shared_data / 'bad', root)
  out = tmp_path / 'ns.tfrecord'
  proc = lib.run_bin('convert_dir_to_note_sequences', '--input_dir=%s' % root,
                     '--output_file=%s' % out)
  assert proc.returncode != 0
  assert 'no NoteSequence was produced' in proc.stderr
  assert json.loads(open(str(out) + '.stats.json').read())['counters'][
      converters.MIDI_CONVERSION_ERRORS] == 2


def test_flag_errors_name_the_flag_and_write_nothing(tmp_path):
  out = tmp_path / 'x' / 'ns.tfrecord'
  proc = lib.run_bin('convert_dir_to_note_sequences', '--output_file=%s' % out)
  assert proc.returncode != 0 and '--input_dir' in proc.stderr
  proc = lib.run_bin('convert_dir_to_note_sequences',
                     '--input_dir=%s' % tmp_path, '--output_file=%s' % out,
                     '--no_such_flag=1')
  assert proc.returncode != 0 and '--no_such_flag' in proc.stderr
  proc = lib.run_bin('create_melody_dataset', '--input=%s/none*.tfrecord'
                     % tmp_path, '--output_dir=%s' % (tmp_path / 'd'))
  assert proc.returncode != 0 and '--input' in proc.stderr
  assert not out.exists() and not (tmp_path / 'd').exists()
  proc = lib.run_bin('create_melody_dataset', '--helpfull')
  assert '--eval_ratio' in proc.stdout  # absl exits 1 after --helpfull


def test_create_melody_dataset_matches_magenta_golden(shared_data, tmp_path):
  golden = shared_data / 'magenta_golden'
  out = tmp_path / 'ds'
  proc = lib.run_bin('create_melody_dataset', '--config=basic_rnn',
                     '--input=%s' % (golden / 'note_sequences.tfrecord'),
                     '--output_dir=%s' % out, '--eval_ratio=0.0',
                     '--direct_num_workers=2',
                     '--direct_running_mode=multi_processing')
  assert proc.returncode == 0, proc.stderr[-3000:]
  assert 'Processed 18 inputs total. Produced 2 outputs.' in proc.stdout
  expected = lib.read_tfrecord(golden / 'melody_dataset' /
                               'training_melodies.tfrecord')
  assert (lib.multiset(lib.read_tfrecord(out / 'training_melodies.tfrecord'))
          == lib.multiset(expected))
  assert (out / 'eval_melodies.tfrecord').read_bytes() == b''
  ours = json.loads((out / 'pipeline_stats.json').read_text())
  theirs = json.loads((golden / 'melody_dataset' / 'pipeline_stats.json')
                      .read_text())
  assert ours['counters'] == theirs['counters']
  assert ours['histograms'] == theirs['histograms']


def test_hash_split_and_shards_in_process(shared_data, tmp_path):
  # Convert with 2 shards, then split half/half: every record lands on the
  # side its NoteSequence id hashes to.
  ns = tmp_path / 'ns.tfrecord'
  convert_pipeline.run(convert_pipeline.ConvertConfig(
      input_dir=str(shared_data / 'midi'), output_file=str(ns), num_shards=2))
  shards = sorted(tmp_path.glob('ns.tfrecord-0000?-of-00002'))
  assert len(shards) == 2
  sequences = lib.by_id(r for s in shards for r in lib.read_tfrecord(s))
  assert len(sequences) == 8
  data = dataset_pipeline.run(dataset_pipeline.DatasetConfig(
      input=str(tmp_path / 'ns.tfrecord-*'), output_dir=str(tmp_path / 'ds'),
      eval_ratio=0.5))
  assert data['outputs_total'] == 14  # 1 + 1 + 12 (spec table)
  from pipelines import melody_dataset  # pylint: disable=g-import-not-at-top
  expected = {'eval': [], 'training': []}
  for sequence_id, record in sequences.items():
    result = melody_dataset.process_record(record, 0.5)
    assert result.mode == splits.partition(sequence_id, 0.5)
    expected[result.mode] += result.examples
  for mode, name in dataset_pipeline.OUTPUT_FILES.items():
    assert (lib.multiset(lib.read_tfrecord(tmp_path / 'ds' / name)) ==
            lib.multiset(expected[mode]))
