"""The bundled music21 corpus: units, conversion, the cached build."""

import hashlib
import json
import os

import pytest
from note_seq.protobuf import music_pb2

import pipelines_testlib as lib
from pipelines import corpus
from pipelines import corpus_pipeline

IN_PROCESS = ('--direct_num_workers=1', '--direct_running_mode=in_memory')


def test_split_abc_tunes_prepends_header_and_keeps_ids_unique():
  text = '%header\nL:1/8\n\nX: 1\nT:a\nK:C\nCDEF|\n\nX:2\nT:b\nK:G\nGABc|\nX:2\nK:D\nD|\n'
  tunes = corpus.split_abc_tunes(text)
  assert [ref for ref, _ in tunes] == ['1', '2', '2#2']
  assert all(body.startswith('%header\nL:1/8\n\nX:') for _, body in tunes)
  assert 'GABc' in tunes[1][1] and 'GABc' not in tunes[0][1]
  assert corpus.split_abc_tunes('no tunes here') == []


def test_list_units_mixes_collections_and_is_stable():
  units = corpus.list_units(max_tunes=8)
  assert [u.collection for u in units] == list(corpus.COLLECTIONS) * 2
  assert units == corpus.list_units(max_tunes=8)
  assert len({u.cache_key for u in units}) == 8
  with pytest.raises(ValueError, match='unknown collection'):
    corpus.list_units(['nope'])


def test_full_listing_has_the_expected_size():
  counts = {}
  for unit in corpus.list_units():
    counts[unit.collection] = counts.get(unit.collection, 0) + 1
  # music21 10.5.1: 8,514 + 2,009 + 1,059 ABC tunes and 413 Bach files.
  assert counts == {'bach': 413, 'essenFolksong': 8514, 'oneills1850': 2009,
                    'ryansMammoth': 1059}


def test_chorale_gives_its_soprano_line():
  (unit,) = [u for u in corpus.list_units(['bach'])
             if u.filename == 'bwv1.6.mxl']
  sequence, _ = corpus.convert_unit(unit)
  assert sequence.id == ('/id/musicxml/bach/' +
                         hashlib.sha1(b'bwv1.6.mxl').hexdigest())
  assert sequence.source_info.parser == sequence.source_info.MUSIC21
  # One monophonic line (the first part of this score is a horn, not the
  # soprano): no two notes start together.
  starts = [n.start_time for n in sequence.notes]
  assert len(starts) == len(set(starts)) > 30


def test_build_slice_then_rerun_from_cache(tmp_path):
  config = corpus_pipeline.CorpusConfig(
      output_dir=str(tmp_path / 'corpus'), max_tunes=8, beam_args=IN_PROCESS)
  summary = corpus_pipeline.build(config)
  records = lib.read_tfrecord(tmp_path / 'corpus' / corpus.NOTESEQUENCES_FILE)
  assert len(records) == summary['notesequences'] >= 7
  ids = {music_pb2.NoteSequence.FromString(r).id for r in records}
  expected = {u.source_type for u in corpus.list_units(max_tunes=8)}
  assert {i.split('/')[2] for i in ids} <= expected
  assert summary['training_melodies'] + summary['eval_melodies'] >= 3
  assert summary['training_steps'] > 0
  dataset = tmp_path / 'corpus' / corpus.MELODY_DATASET_DIR
  for name in ('training_melodies.tfrecord', 'eval_melodies.tfrecord',
               'pipeline_stats.json'):
    assert (dataset / name).exists()
  cached = sum(1 for _, _, files in
               os.walk(tmp_path / 'corpus' / corpus.CACHE_DIR)
               for name in files if name.endswith(('.pb', '.err')))
  assert cached == 8
  before = {name: os.path.getmtime(dataset / name)
            for name in os.listdir(dataset)}
  again = corpus_pipeline.build(config)
  # Nothing changed: neither stage ran again, the outputs are untouched.
  assert {name: os.path.getmtime(dataset / name)
          for name in os.listdir(dataset)} == before
  for key in ('notesequences', 'training_melodies', 'eval_melodies',
              'training_steps'):
    assert again[key] == summary[key]
  build = json.loads((tmp_path / 'corpus' / 'build.json').read_text())
  assert build['units'] == 8
