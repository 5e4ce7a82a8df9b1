"""Converters: Magenta's ids, byte-identical records, errors and limits."""

import hashlib
import os
import shutil
import time

import pytest

import pipelines_testlib as lib
from pipelines import converters
from pipelines import limits


def test_spec_example_id(shared_data, tmp_path):
  # Magenta's convert_dir_to_note_sequences: sub/primer.mid under root .../in.
  root = tmp_path / 'in'
  (root / 'sub').mkdir(parents=True)
  shutil.copy(shared_data / 'midi' / 'primer.mid', root / 'sub' / 'primer.mid')
  result = converters.convert_file(str(root), os.path.join('sub', 'primer.mid'))
  assert not result.errors
  (sequence,) = result.sequences
  assert sequence.id == '/id/midi/in/c4a4f01aed0201fa9a7c1da7b53897607e992dd8'
  assert sequence.filename == 'sub/primer.mid'
  assert sequence.collection_name == 'in'
  assert sequence.source_info.encoding_type == sequence.source_info.MIDI
  assert sequence.source_info.parser == sequence.source_info.PRETTY_MIDI


def test_trailing_slash_gives_empty_collection_like_magenta():
  assert converters.collection_name_for_root('/data/midi/') == ''
  assert (converters.note_sequence_id('a.mid', '', 'midi') ==
          '/id/midi//' + hashlib.sha1(b'a.mid').hexdigest())


def test_golden_inputs_convert_byte_identically(shared_data):
  # Magenta (with the ABC fix) wrote note_sequences_abc_fixed.tfrecord from
  # exactly these inputs; the records must be the same bytes.
  root = str(shared_data / 'magenta_golden' / 'inputs')
  records, counters = [], {}
  for relative in converters.list_files(root):
    result = converters.convert_file(root, relative)
    records += [s.SerializeToString() for s in result.sequences]
    for name, n in result.counters.items():
      counters[name] = counters.get(name, 0) + n
  golden = lib.read_tfrecord(shared_data / 'magenta_golden' /
                             'note_sequences_abc_fixed.tfrecord')
  assert len(golden) == 19
  assert lib.multiset(records) == lib.multiset(golden)
  assert counters[converters.MUSICXML_CONVERSION_ERRORS] == 3
  assert counters[converters.ABC_TUNE_ERRORS] == 3  # english 2, zocharti 1
  assert counters[converters.FILES_CONVERTED] == 19
  assert converters.OTHER_CONVERSION_ERRORS not in counters


def test_abc_python3_fix_keeps_good_tune_and_counts_bad_ones(shared_data):
  root = str(shared_data / 'abc')
  result = converters.convert_file(root, 'english.abc')
  (tune,) = result.sequences
  assert len(tune.notes) == 74
  assert tune.id == converters.note_sequence_id('english.abc_1', 'abc', 'abc')
  assert result.counters == {converters.ABC_TUNE_ERRORS: 2,
                             converters.FILES_CONVERTED: 1,
                             converters.SEQUENCES_WRITTEN: 1}
  assert any('VariantEndingError' in e for e in result.errors)


def test_bad_midi_files_are_classified_not_raised(shared_data):
  root = str(shared_data / 'bad')
  for name in ('truncated_english1.mid', 'text_renamed.mid'):
    result = converters.convert_file(root, name)
    assert result.sequences == []
    assert result.counters == {converters.MIDI_CONVERSION_ERRORS: 1}
    assert result.errors[0].startswith(converters.MIDI_CONVERSION_ERRORS)


def test_unsupported_and_missing_files(tmp_path):
  (tmp_path / 'notes.txt').write_text('hello')
  result = converters.convert_file(str(tmp_path), 'notes.txt')
  assert result.counters == {converters.UNSUPPORTED_EXTENSION: 1}
  result = converters.convert_file(str(tmp_path), 'missing.mid')
  assert result.counters == {converters.READ_ERRORS: 1}


def test_size_cap_is_checked_before_reading(shared_data, tmp_path):
  shutil.copy(shared_data / 'midi' / 'english1.mid', tmp_path / 'e.mid')
  capped = converters.ConversionLimits(max_file_bytes=1000)
  result = converters.convert_file(str(tmp_path), 'e.mid', capped)
  assert result.counters == {converters.FILE_TOO_LARGE: 1}
  assert '1716 bytes' in result.errors[0]
  uncapped = converters.ConversionLimits(max_file_bytes=0)
  assert converters.convert_file(str(tmp_path), 'e.mid', uncapped).sequences


def test_time_limit_interrupts_a_long_computation():
  start = time.time()
  with pytest.raises(limits.ConversionTimeout, match='slow.mid'):
    with limits.time_limit(0.2, 'slow.mid'):
      while True:
        pass
  assert time.time() - start < 5
  # A block that finishes in time is untouched, and nothing fires later.
  with limits.time_limit(0.2, 'fast'):
    total = sum(range(1000))
  time.sleep(0.4)
  assert total == 499500


def test_conversion_timeout_is_counted(shared_data, tmp_path, monkeypatch):
  shutil.copy(shared_data / 'midi' / 'english1.mid', tmp_path / 'e.mid')

  def hang(*unused_args, **unused_kwargs):
    while True:
      pass

  monkeypatch.setattr(converters.midi_io, 'midi_to_note_sequence', hang)
  result = converters.convert_file(
      str(tmp_path), 'e.mid',
      converters.ConversionLimits(max_seconds_per_file=0.2))
  assert result.counters == {converters.CONVERSION_TIMEOUT: 1}
  assert result.sequences == []


def test_list_files_is_magenta_preorder(tmp_path):
  (tmp_path / 'sub' / 'deeper').mkdir(parents=True)
  for path in ('a.mid', 'sub/b.mid', 'sub/deeper/c.xml', 'z.abc'):
    (tmp_path / path).write_bytes(b'')
  flat = converters.list_files(str(tmp_path))
  assert sorted(flat) == ['a.mid', 'sub', 'z.abc']  # sub: "no converter"
  deep = converters.list_files(str(tmp_path), recursive=True)
  assert sorted(deep) == ['a.mid', 'sub/b.mid', 'sub/deeper/c.xml', 'z.abc']
  # Files of a directory come before its subdirectories' files.
  assert deep.index('sub/b.mid') > max(deep.index('a.mid'),
                                       deep.index('z.abc'))
  assert deep.index('sub/deeper/c.xml') > deep.index('sub/b.mid')
