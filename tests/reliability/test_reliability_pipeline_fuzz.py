"""Both pipelines under fuzzed input: nothing good lost, every bad file counted.

Mutations of the real files in ../shared/data (truncations, bit flips, empty
files) and crafted MIDI files (a header claiming a 2 GB track, huge tempo and
time-signature changes, only drums, only note-offs, zero-length notes, a
10,000-note melody, ...) are made from a seed at test time, mixed with the
good files, and run through ``convert_dir_to_note_sequences`` and then
``create_melody_dataset`` in-process on the DirectRunner. The properties:

* both pipelines finish;
* every good file's NoteSequence is byte-identical to a run without the bad
  files, and so is every melody example that came from a good file;
* every input that gives no NoteSequence is counted under a named error
  counter and its path is in a WARNING log line.
"""

from pipelines.errors import FlagError
import collections
import logging
import os
import shutil
import struct
import time

import pytest

import reliability_fuzzlib as fuzzlib
from pipelines import converters
from pipelines import convert_pipeline
from pipelines import dataset_pipeline
from pipelines import melody_dataset

SEED = 20261127


def _convert(input_dir, output_file, caplog, **limits):
  caplog.clear()
  with caplog.at_level(logging.INFO):
    config = convert_pipeline.ConvertConfig(
        input_dir=str(input_dir), output_file=str(output_file),
        recursive=limits.pop('recursive', False),
        limits=converters.ConversionLimits(**limits))
    data = convert_pipeline.run(config)
  warnings = [r.getMessage() for r in caplog.records
              if r.levelno >= logging.WARNING]
  return data, fuzzlib.read_tfrecord(output_file), warnings


def _error_total(data):
  return sum(data['counters'].get(name, 0)
             for name in converters.ERROR_COUNTERS)


@pytest.fixture(scope='module')
def fuzz_run(shared_data, tmp_path_factory):
  """Converts the good files alone and mixed with the bad ones."""
  base = tmp_path_factory.mktemp('fuzz')
  good_dir = base / 'good' / 'corpus'
  mixed_dir = base / 'mixed' / 'corpus'
  good_names = fuzzlib.copy_good(shared_data, good_dir)
  fuzzlib.copy_good(shared_data, mixed_dir)
  bad = fuzzlib.write_inputs(mixed_dir,
                             fuzzlib.all_bad_inputs(shared_data, SEED))
  handler = _ListHandler()
  root = logging.getLogger()
  root.addHandler(handler)
  old_level = root.level
  root.setLevel(logging.INFO)
  try:
    good_data = convert_pipeline.run(convert_pipeline.ConvertConfig(
        input_dir=str(good_dir), output_file=str(base / 'good.tfrecord')))
    handler.records.clear()
    mixed_data = convert_pipeline.run(convert_pipeline.ConvertConfig(
        input_dir=str(mixed_dir), output_file=str(base / 'mixed.tfrecord')))
    mixed_warnings = [r.getMessage() for r in handler.records
                      if r.levelno >= logging.WARNING]
  finally:
    root.removeHandler(handler)
    root.setLevel(old_level)
  return dict(base=base, good_names=good_names, bad=bad, good_dir=good_dir,
              mixed_dir=mixed_dir, good_data=good_data, mixed_data=mixed_data,
              good_records=fuzzlib.read_tfrecord(base / 'good.tfrecord'),
              mixed_records=fuzzlib.read_tfrecord(base / 'mixed.tfrecord'),
              mixed_warnings=mixed_warnings)


class _ListHandler(logging.Handler):

  def __init__(self):
    super().__init__(logging.INFO)
    self.records = []

  def emit(self, record):
    self.records.append(record)


def test_fuzz_set_is_large_and_deterministic(shared_data):
  first = fuzzlib.all_bad_inputs(shared_data, SEED)
  again = fuzzlib.all_bad_inputs(shared_data, SEED)
  assert [(i.name, i.data) for i in first] == [(i.name, i.data) for i in again]
  assert len(first) >= 40
  hows = ' '.join(i.how for i in first)
  for what in ('bytes', 'bit flips', 'zero bytes', '2 GB', 'tempo',
               'time signature', 'channel 10', 'note-off', 'same tick',
               '10,000', 'entity expansion', 'inflating'):
    assert what in hows, what


def test_convert_keeps_every_good_file_exactly(fuzz_run):
  good = fuzzlib.by_filename(fuzz_run['good_records'])
  mixed = fuzzlib.by_filename(fuzz_run['mixed_records'])
  assert good, 'the good files gave no NoteSequence'
  for filename, records in good.items():
    assert mixed.get(filename) == records, filename
  # The good run itself: every real file converted or counted.
  data = fuzz_run['good_data']
  assert data['inputs_total'] == len(fuzz_run['good_names'])


def test_convert_counts_and_logs_every_bad_file(fuzz_run):
  data = fuzz_run['mixed_data']
  names = fuzz_run['good_names'] + list(fuzz_run['bad'])
  assert data['inputs_total'] == len(names)
  converted = set(fuzzlib.by_filename(fuzz_run['mixed_records']))
  warnings = '\n'.join(fuzz_run['mixed_warnings'])
  failed = [n for n in names if n not in converted]
  assert len(failed) >= 25, failed  # most mutants really are broken
  for name in failed:
    assert str(fuzz_run['mixed_dir'] / name) in warnings, name
  # Every failed file is under a named counter, file by file.
  for name in failed:
    result = converters.convert_file(str(fuzz_run['mixed_dir']), name)
    assert not result.sequences
    assert set(result.counters) & set(converters.ERROR_COUNTERS), (
        name, result.counters)
  assert _error_total(data) >= len(failed)
  assert data['counters'].get('files_converted', 0) == len(converted)


def test_each_bad_file_alone_is_counted_in_a_named_counter(fuzz_run):
  """convert_file never raises and never returns an unexplained nothing."""
  for name in fuzz_run['bad']:
    result = converters.convert_file(str(fuzz_run['mixed_dir']), name)
    if not result.sequences:
      assert result.errors and result.counters, name
      assert set(result.counters) <= set(converters.ERROR_COUNTERS), name
    else:
      assert result.counters.get(converters.FILES_CONVERTED) == 1, name


def test_melody_dataset_keeps_every_good_example(fuzz_run, shared_data):
  """create_melody_dataset on good + fuzzed + garbage records loses nothing."""
  base = fuzz_run['base']
  good_out = base / 'ds_good'
  mixed_out = base / 'ds_mixed'
  dataset_pipeline.run(dataset_pipeline.DatasetConfig(
      input=str(base / 'good.tfrecord'), output_dir=str(good_out)))
  # The fuzzed sequences, plus records that are not NoteSequences at all.
  inputs = fuzzlib.melody_dataset_inputs(base, shared_data)
  data = dataset_pipeline.run(dataset_pipeline.DatasetConfig(
      input=str(inputs / '*.tfrecord'), output_dir=str(mixed_out)))
  assert data['inputs_total'] == len(fuzz_run['mixed_records']) + 3
  good_filenames = set(fuzzlib.by_filename(fuzz_run['good_records']))
  from note_seq.protobuf import music_pb2  # pylint: disable=g-import-not-at-top
  expected_extra = collections.Counter()
  for record in fuzz_run['mixed_records']:
    if music_pb2.NoteSequence.FromString(record).filename in good_filenames:
      continue
    result = melody_dataset.process_record(record, 0.1)
    for example in result.examples:
      expected_extra[(result.mode, example)] += 1
  for mode, name in (('training', dataset_pipeline.TRAINING_FILE),
                     ('eval', dataset_pipeline.EVAL_FILE)):
    good = collections.Counter(fuzzlib.read_tfrecord(good_out / name))
    mixed = collections.Counter(fuzzlib.read_tfrecord(mixed_out / name))
    extra = collections.Counter({ex: n for (m, ex), n in
                                 expected_extra.items() if m == mode})
    assert mixed == good + extra, mode


def test_endless_note_is_rejected_before_parsing(fuzz_run):
  """pretty_midi would allocate 8 bytes per tick (2 GB here) in one call."""
  result = converters.convert_file(str(fuzz_run['mixed_dir']),
                                   'endless_note.mid')
  assert result.counters == {converters.MIDI_TOO_MANY_TICKS: 1}
  assert 'endless_note.mid' in result.errors[0]


def test_endless_note_as_a_primer_is_refused_before_parsing(fuzz_run):
  """The primer readers of generation and RL priming share the tick bound."""
  from note_rnn import generate  # pylint: disable=g-import-not-at-top
  from rl_tuner.policy import priming as priming_lib  # pylint: disable=g-import-not-at-top
  path = str(fuzz_run['mixed_dir'] / 'endless_note.mid')
  with pytest.raises(Exception, match='tick') as info:
    generate.primer_sequence(primer_midi=path)
  assert path in str(info.value)
  with pytest.raises(FlagError, match='tick') as info:
    priming_lib.load_primers({'priming_mode': 'single_midi',
                                'midi_primer': path})
  assert path in str(info.value)


def test_crafted_abc_sequences_finish_the_melody_stage(fuzz_run):
  """M:-3/4 made bars negative and melody extraction looped forever."""
  from pipelines import limits  # pylint: disable=g-import-not-at-top
  for name in fuzzlib.CRAFTED_ABC_HEADERS:
    result = converters.convert_file(str(fuzz_run['mixed_dir']), name)
    for sequence in result.sequences:
      with limits.time_limit(20, name):  # a hang fails here instead of forever
        out = melody_dataset.process_sequence(sequence, 0.1)
      assert out.counters[melody_dataset.stats.INPUTS_TOTAL] == 1, name
  result = converters.convert_file(str(fuzz_run['mixed_dir']),
                                   'negative_meter.abc')
  (sequence,) = result.sequences
  out = melody_dataset.process_sequence(sequence, 0.1)
  assert out.counters[melody_dataset.stat_name(
      'Quantizer', out.mode,
      'sequences_discarded_because_bad_time_signature')] == 1


def test_endless_note_sequence_is_discarded_not_expanded():
  """Melody extraction holds one event per step: 10^8 steps of one note."""
  from note_seq.protobuf import music_pb2  # pylint: disable=g-import-not-at-top
  sequence = music_pb2.NoteSequence(id='/id/midi/x/endless', filename='x.mid')
  sequence.tempos.add(qpm=120.0)
  sequence.time_signatures.add(numerator=4, denominator=4)
  for i, pitch in enumerate((60, 62, 64, 65, 67)):
    sequence.notes.add(pitch=pitch, velocity=80, start_time=i * 0.5,
                       end_time=i * 0.5 + 0.5)
  sequence.notes.add(pitch=69, velocity=80, start_time=2.5, end_time=1.25e7)
  sequence.total_time = 1.25e7
  out = melody_dataset.process_sequence(sequence, 0.1)
  assert out.examples == []
  name = melody_dataset.stat_name('Quantizer', out.mode,
                                  melody_dataset.TOO_MANY_STEPS)
  assert out.counters[name] == 1


def test_truncated_note_sequence_file_is_counted_not_fatal(fuzz_run,
                                                           caplog):
  """A partly written NoteSequence TFRecord: the whole records before the cut
  are kept, the file is counted and named, the other files are unaffected."""
  base = fuzz_run['base']
  inputs = base / 'ds_truncated'
  inputs.mkdir()
  good = (base / 'good.tfrecord').read_bytes()
  shutil.copyfile(base / 'good.tfrecord', inputs / 'a_good.tfrecord')
  records = fuzzlib.read_tfrecord(base / 'good.tfrecord')
  cut = 12 + len(records[0]) + 4 + 12 + len(records[1]) // 2
  (inputs / 'b_cut.tfrecord').write_bytes(good[:cut])
  flipped = bytearray(good)
  flipped[12 + len(records[0]) + 4 + 20] ^= 0x10  # inside record 2's data
  (inputs / 'c_crc.tfrecord').write_bytes(bytes(flipped))
  # A record header with a valid checksum that claims 2^60 bytes.
  length = struct.pack('<Q', 2 ** 60)
  huge = struct.pack('<I', dataset_pipeline._masked_crc32c(length))  # pylint: disable=protected-access
  (inputs / 'd_huge.tfrecord').write_bytes(good[:cut - len(records[1]) // 2 - 12]
                                           + length + huge + b'x' * 64)
  with caplog.at_level(logging.WARNING):
    data = dataset_pipeline.run(dataset_pipeline.DatasetConfig(
        input=str(inputs / '*.tfrecord'), output_dir=str(base / 'ds_t_out')))
  # a_good: all; b_cut, c_crc, d_huge: record 0 only.
  assert data['inputs_total'] == len(records) + 3
  assert data['counters'].get('corrupt_tfrecord_files') == 3
  text = '\n'.join(r.getMessage() for r in caplog.records)
  assert str(inputs / 'b_cut.tfrecord') in text
  assert str(inputs / 'c_crc.tfrecord') in text
  assert str(inputs / 'd_huge.tfrecord') in text


def test_melody_stage_has_a_time_bound_per_record(fuzz_run, monkeypatch,
                                                  caplog):
  """A record that never finishes is abandoned, logged by name and counted."""
  from pipelines import limits  # pylint: disable=g-import-not-at-top
  from note_seq.protobuf import music_pb2  # pylint: disable=g-import-not-at-top
  real = melody_dataset.process_record

  def hangs_on_english1(record, eval_ratio, config):
    if music_pb2.NoteSequence.FromString(record).filename == 'english1.mid':
      while True:
        time.sleep(0.005)
    return real(record, eval_ratio, config)

  monkeypatch.setattr(melody_dataset, 'process_record', hangs_on_english1)
  monkeypatch.setattr(limits, 'DEFAULT_MAX_SECONDS_PER_FILE', 5.0)
  base = fuzz_run['base']
  with caplog.at_level(logging.WARNING):
    data = dataset_pipeline.run(dataset_pipeline.DatasetConfig(
        input=str(base / 'good.tfrecord'), output_dir=str(base / 'ds_hang')))
  assert data['counters']['record_errors'] == 1
  assert data['inputs_total'] == len(fuzz_run['good_records'])
  assert any('english1.mid' in r.getMessage() and 'ConversionTimeout' in
             r.getMessage() for r in caplog.records)


def _assert_only_english1_skipped(root, output_file, caplog, counter, **limit):
  """Converts `root` under one limit: english1.mid alone is skipped, counted
  under `counter` and logged with its path and the limit's flag name."""
  (flag,) = limit
  data, records, warnings = _convert(root, output_file, caplog, **limit)
  assert data['counters'][counter] == 1
  assert len(records) == 2
  assert any(str(root / 'english1.mid') in w and flag in w for w in warnings)


def test_max_file_bytes_and_max_seconds_per_file(shared_data, tmp_path,
                                                 monkeypatch, caplog):
  """Small limits: the size cap skips before reading, the time bound stops a
  converter that never returns; the other files are unaffected."""
  root = tmp_path / 'corpus'
  root.mkdir()
  for name in ('english1.mid', 'example.mid', 'melody.mid'):
    shutil.copyfile(shared_data / 'midi' / name, root / name)
  # english1.mid is 1716 bytes; the others are < 200.
  _assert_only_english1_skipped(root, tmp_path / 'size.tfrecord', caplog,
                                'file_too_large', max_file_bytes=1000)

  from note_seq import midi_io  # pylint: disable=g-import-not-at-top
  real = midi_io.midi_to_note_sequence

  def hangs_on_english1(data_bytes):
    if len(data_bytes) == 1716:
      import time  # pylint: disable=g-import-not-at-top
      while True:  # a parser stuck in a pure-Python loop
        time.sleep(0.005)
    return real(data_bytes)

  monkeypatch.setattr(midi_io, 'midi_to_note_sequence', hangs_on_english1)
  _assert_only_english1_skipped(root, tmp_path / 'time.tfrecord', caplog,
                                'conversion_timeout', max_seconds_per_file=5.0)


def test_odd_file_system_entries(shared_data, tmp_path, caplog):
  """Unicode names, a directory named x.mid, dangling links, symlink loops."""
  root = tmp_path / 'corpus'
  (root / 'sub').mkdir(parents=True)
  english1 = shared_data / 'midi' / 'english1.mid'
  shutil.copyfile(english1, root / 'mélodie 音楽 ♪.mid')
  shutil.copyfile(english1, root / 'sub' / 'plain.mid')
  (root / 'x.mid').mkdir()
  (root / 'y.xml').mkdir()
  (root / 'z.abc').mkdir()
  os.symlink(root / 'missing.mid', root / 'dangling.mid')
  os.symlink('..', root / 'sub' / 'loop')  # sub/loop -> corpus
  os.symlink('.', root / 'self')  # self -> corpus
  undecodable = os.path.join(os.fsencode(root), b'bad\xff name.mid')
  shutil.copyfile(english1, undecodable)

  data, records, warnings = _convert(root, tmp_path / 'out.tfrecord', caplog,
                                     recursive=True)
  filenames = sorted(fuzzlib.by_filename(records))
  assert filenames == ['mélodie 音楽 ♪.mid', 'sub/plain.mid'], filenames
  text = '\n'.join(warnings)
  for name in ('x.mid', 'y.xml', 'z.abc', 'dangling.mid'):
    assert str(root / name) in text, name
  assert data['counters']['read_errors'] == 4
  assert data['counters']['directory_cycles'] == 2
  assert data['counters']['file_name_not_utf8'] == 1
  assert 'bad\\xff name.mid' in text
  assert data['inputs_total'] == 2 + 4 + 2 + 1


@pytest.mark.skipif(os.geteuid() == 0, reason='root reads unreadable files')
def test_unreadable_file_is_counted(shared_data, tmp_path, caplog):
  root = tmp_path / 'corpus'
  root.mkdir()
  for name in ('english1.mid', 'primer.mid'):
    shutil.copyfile(shared_data / 'midi' / name, root / name)
  shutil.copyfile(shared_data / 'musicxml' / 'flute_scale.xml',
                  root / 'flute_scale.xml')
  (root / 'primer.mid').chmod(0)
  (root / 'flute_scale.xml').chmod(0)
  try:
    data, records, warnings = _convert(root, tmp_path / 'out.tfrecord',
                                       caplog)
  finally:
    (root / 'primer.mid').chmod(0o644)
    (root / 'flute_scale.xml').chmod(0o644)
  assert len(records) == 1
  assert data['counters']['read_errors'] == 2
  assert any(str(root / 'primer.mid') in w for w in warnings)
