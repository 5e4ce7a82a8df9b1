"""Compatibility with Magenta's own tools (run from ../shared/baseline).

Magenta's convert_dir_to_note_sequences and melody_rnn_create_dataset run on
the shared files and on a sample of the bundled corpus exported to MIDI (the
latter for every melody_rnn config); our pipelines must write the same records
(compared by NoteSequence id, and as multisets of SequenceExamples).
"""

import os
import shutil
import subprocess

import pytest

import pipelines_testlib as lib
from pipelines import convert_pipeline
from pipelines import corpus
from pipelines import dataset_pipeline
from pipelines import midi_export

pytestmark = [pytest.mark.baseline, pytest.mark.slow]


@pytest.fixture(scope='module')
def magenta(shared_dir):
  """A function running one of Magenta's tools; makes .venv-baseline if needed."""
  python = lib.REPO_ROOT / '.venv-baseline' / 'bin' / 'python'
  setup = shared_dir / 'baseline' / 'setup.sh'
  if not python.exists():
    if not setup.exists():
      pytest.skip('../shared/baseline is absent')
    subprocess.run(['bash', str(setup), '.venv-baseline'], cwd=lib.REPO_ROOT,
                   check=True, capture_output=True)

  def run(tool, *flags):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3')
    proc = subprocess.run([str(python), str(shared_dir / 'baseline' /
                                            'run_magenta.py'), tool, *flags],
                          cwd=lib.REPO_ROOT, capture_output=True, text=True,
                          env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc
  return run


def _compare(magenta, input_dir, tmp_path, name, configs=('basic_rnn',)):
  """Runs both sides on `input_dir`; returns (ours by id, theirs by id,
  Magenta's example count for the first config)."""
  theirs_ns = tmp_path / (name + '_magenta.tfrecord')
  magenta('convert_dir_to_note_sequences', '--input_dir=%s' % input_dir,
          '--output_file=%s' % theirs_ns)
  ours_ns = tmp_path / (name + '_ours.tfrecord')
  convert_pipeline.run(convert_pipeline.ConvertConfig(
      input_dir=str(input_dir), output_file=str(ours_ns)))
  counts = []
  for config in configs:
    theirs_ds = tmp_path / ('%s_magenta_%s' % (name, config))
    ours_ds = tmp_path / ('%s_ours_%s' % (name, config))
    # Both datasets from Magenta's NoteSequences, eval_ratio 0 (no random split).
    magenta('melody_rnn_create_dataset', '--config=%s' % config,
            '--input=%s' % theirs_ns, '--output_dir=%s' % theirs_ds,
            '--eval_ratio=0.0')
    dataset_pipeline.run(dataset_pipeline.DatasetConfig(
        input=str(theirs_ns), output_dir=str(ours_ds), eval_ratio=0.0,
        config=config))
    theirs = lib.read_tfrecord(theirs_ds / 'training_melodies.tfrecord')
    ours = lib.read_tfrecord(ours_ds / 'training_melodies.tfrecord')
    assert lib.multiset(ours) == lib.multiset(theirs), config
    counts.append(len(theirs))
  return (lib.by_id(lib.read_tfrecord(ours_ns)),
          lib.by_id(lib.read_tfrecord(theirs_ns)), counts[0])


def test_shared_files_match_magenta(shared_data, tmp_path, magenta):
  inputs = tmp_path / 'shared'
  inputs.mkdir()
  for folder in ('midi', 'abc', 'bad'):
    for path in (shared_data / folder).iterdir():
      shutil.copy(path, inputs / path.name)
  for name in ('flute_scale.xml', 'flute_scale.mxl', 'meter_test.xml',
               'alternating_meter.xml', 'bach-one_phrase-4_voices.xml'):
    shutil.copy(shared_data / 'musicxml' / name, inputs / name)
  ours, theirs, examples = _compare(magenta, inputs, tmp_path, 'shared')
  # Magenta converts no ABC file on Python 3; everything else is identical.
  assert {k: v for k, v in ours.items() if not k.startswith('/id/abc/')} == theirs
  assert sorted(k.split('/')[2] for k in set(ours) - set(theirs)) == ['abc']
  assert examples == 14  # english1 1 + english2 1 + example_complex 12


def test_corpus_sample_matches_magenta(tmp_path, magenta):
  # Every 97th unit of the bundled corpus (about 120 tunes and chorales),
  # exported to MIDI as the benchmark does.
  units = corpus.list_units()[::97]
  ns_file = tmp_path / 'sample_ns.tfrecord'
  records = []
  for unit in units:
    try:
      records.append(corpus.convert_unit(unit)[0].SerializeToString())
    except corpus.CorpusConversionError:
      continue
  _write_tfrecord(ns_file, records)
  midi_dir = tmp_path / 'corpus_midi'
  assert midi_export.export_midi_files(str(ns_file), str(midi_dir)) == len(
      records) > 100
  ours, theirs, examples = _compare(
      magenta, midi_dir, tmp_path, 'corpus',
      configs=('basic_rnn', 'mono_rnn', 'lookback_rnn', 'attention_rnn'))
  assert ours == theirs
  assert examples > 30


def _write_tfrecord(path, records):
  import struct  # pylint: disable=g-import-not-at-top
  import google_crc32c  # pylint: disable=g-import-not-at-top

  def masked(data):
    crc = google_crc32c.value(data)
    return (((crc >> 15) | (crc << 17)) + 0xa282ead8) & 0xffffffff

  with open(path, 'wb') as f:
    for record in records:
      length = struct.pack('<Q', len(record))
      f.write(length + struct.pack('<I', masked(length)) + record +
              struct.pack('<I', masked(record)))


def test_magenta_reads_our_note_sequences(tmp_path, shared_data, magenta):
  # Our converter's file (Beam's TFRecord framing) is accepted by Magenta's
  # dataset tool and gives the golden examples.
  ns = tmp_path / 'ours.tfrecord'
  convert_pipeline.run(convert_pipeline.ConvertConfig(
      input_dir=str(shared_data / 'magenta_golden' / 'inputs'),
      output_file=str(ns)))
  out = tmp_path / 'magenta_ds'
  magenta('melody_rnn_create_dataset', '--config=basic_rnn',
          '--input=%s' % ns, '--output_dir=%s' % out, '--eval_ratio=0.0')
  golden = lib.read_tfrecord(shared_data / 'magenta_golden' /
                             'melody_dataset_abc_fixed' /
                             'training_melodies.tfrecord')
  assert (lib.multiset(lib.read_tfrecord(out / 'training_melodies.tfrecord'))
          == lib.multiset(golden))
