"""Untrusted files are data, never code.

* No pickle on anything a user passes in: the package sources are scanned for
  pickle/joblib/dill loads and for ``np.load(..., allow_pickle=True)``.
* Checkpoints and ``.mag`` bundles are read for their variables only: loading
  a bundle never imports or runs its metagraph (a garbage metagraph loads the
  same weights), and a checkpoint without the Note RNN's variables fails with a
  message that lists what it has.
* Strings from input files reach report.html and ab.html escaped: a MIDI whose
  file name and track name hold ``<script>`` and ``<img onerror=...>`` goes
  through training (as the primer), evaluation and the report, and headless
  Chromium shows that no payload ran.
"""

import ast
import json
import os
import pathlib
import re
import shutil
import subprocess

import numpy as np
import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
SOURCE_DIRS = ('pipelines', 'note_rnn', 'rl_tuner', 'bin', 'bench', 'scripts')
CHROMIUM = shutil.which('chromium') or shutil.which('chromium-browser')

FORBIDDEN_CALLS = {
    ('pickle', 'load'), ('pickle', 'loads'), ('pickle', 'Unpickler'),
    ('cPickle', 'load'), ('cloudpickle', 'load'), ('cloudpickle', 'loads'),
    ('dill', 'load'), ('dill', 'loads'), ('joblib', 'load'), ('marshal', 'loads'),
    ('torch', 'load'), ('yaml', 'load'), ('yaml', 'unsafe_load'),
    ('shelve', 'open'),
    # A metagraph is code: it must never be imported from a user's file.
    ('train', 'import_meta_graph'), ('v1', 'import_meta_graph'),
}


def _python_sources():
  for top in SOURCE_DIRS:
    base = REPO / top
    if not base.is_dir():
      continue
    for path in sorted(base.rglob('*')):
      if '.venv' in path.parts or not path.is_file():
        continue
      if path.suffix == '.py':
        yield path
      elif path.suffix == '' and path.parent.name == 'bin':
        if path.read_bytes()[:2] == b'#!' and b'python' in path.read_bytes()[:40]:
          yield path


def _calls(tree):
  for node in ast.walk(tree):
    if isinstance(node, ast.Call):
      func = node.func
      if isinstance(func, ast.Attribute):
        base = func.value
        base_name = (base.id if isinstance(base, ast.Name) else
                     base.attr if isinstance(base, ast.Attribute) else None)
        yield node, base_name, func.attr
      elif isinstance(func, ast.Name):
        yield node, None, func.id


def test_no_pickle_or_metagraph_import_in_the_sources():
  sources = list(_python_sources())
  assert len(sources) > 30
  problems = []
  np_loads = 0
  for path in sources:
    text = path.read_text(encoding='utf-8')
    tree = ast.parse(text, filename=str(path))
    rel = path.relative_to(REPO)
    for node, base, name in _calls(tree):
      if (base, name) in FORBIDDEN_CALLS:
        problems.append('%s:%d %s.%s' % (rel, node.lineno, base, name))
      if base in ('np', 'numpy') and name == 'load':
        np_loads += 1
        for kw in node.keywords:
          if kw.arg == 'allow_pickle' and not (
              isinstance(kw.value, ast.Constant) and kw.value.value is False):
            problems.append('%s:%d np.load(allow_pickle=...)' % (rel, node.lineno))
    for node in ast.walk(tree):
      if isinstance(node, (ast.Import, ast.ImportFrom)):
        names = [a.name for a in node.names] + [getattr(node, 'module', '') or '']
        for name in names:
          if name.split('.')[0] in ('pickle', 'cPickle', 'dill', 'joblib',
                                    'cloudpickle', 'shelve', 'marshal'):
            problems.append('%s:%d import %s' % (rel, node.lineno, name))
    if 'allow_pickle=True' in text:
      problems.append('%s: allow_pickle=True' % rel)
  assert not problems, problems
  # np.load must stay pickle-free by default too (numpy >= 1.16.3).
  with pytest.raises(ValueError, match='allow_pickle'):
    buf = _pickled_npy()
    np.load(buf)
  del np_loads


def _pickled_npy():
  import io  # pylint: disable=g-import-not-at-top
  buf = io.BytesIO()
  np.save(buf, np.array([{'a': 1}], dtype=object), allow_pickle=True)
  buf.seek(0)
  return buf


# ---------------------------------------------------------------------------
# .mag bundles and checkpoints


@pytest.fixture(scope='module')
def golden_bundle(shared_data):
  path = shared_data / 'magenta_golden' / 'basic_rnn.mag'
  if not path.exists():
    pytest.skip('no golden bundle')
  return path


def _bundle_with(golden, tmp_path, name, **changes):
  from note_seq.protobuf import generator_pb2  # pylint: disable=g-import-not-at-top
  bundle = generator_pb2.GeneratorBundle.FromString(golden.read_bytes())
  for key, value in changes.items():
    if key == 'metagraph_file':
      bundle.metagraph_file = value
    elif key == 'checkpoint_file':
      del bundle.checkpoint_file[:]
      bundle.checkpoint_file.extend(value)
  path = tmp_path / name
  path.write_bytes(bundle.SerializeToString())
  return path


def test_bundle_metagraph_is_never_imported_or_run(golden_bundle, tmp_path,
                                                   monkeypatch):
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  import note_rnn  # pylint: disable=g-import-not-at-top
  reference = note_rnn.load(str(golden_bundle)).get_weights()

  def refuse(*unused_args, **unused_kwargs):
    raise AssertionError('a bundle metagraph was imported or a session run')

  monkeypatch.setattr(tf.compat.v1.train, 'import_meta_graph', refuse)
  monkeypatch.setattr(tf.compat.v1.Session, 'run', refuse)
  monkeypatch.setattr(tf.compat.v1, 'import_graph_def', refuse)
  monkeypatch.setattr(tf, 'import_graph_def', refuse, raising=False)
  garbage = _bundle_with(golden_bundle, tmp_path, 'garbage_graph.mag',
                         metagraph_file=b'\x00not a metagraph\xff' * 100)
  for path in (golden_bundle, garbage):
    weights = note_rnn.load(str(path)).get_weights()
    assert len(weights) == len(reference)
    for a, b in zip(weights, reference):
      np.testing.assert_array_equal(a, b)


def _tf1_checkpoint_bytes(tmp_path, arrays):
  from note_rnn import magenta_checkpoint  # pylint: disable=g-import-not-at-top
  prefix = magenta_checkpoint._save_tf1(  # pylint: disable=protected-access
      arrays, str(tmp_path / 'v1' / 'model.ckpt'), v1=True)
  return pathlib.Path(prefix).read_bytes()


def test_bundle_or_checkpoint_without_the_variables_lists_what_it_has(
    golden_bundle, tmp_path):
  import note_rnn  # pylint: disable=g-import-not-at-top
  data = _tf1_checkpoint_bytes(tmp_path, {
      'encoder/some_weights': np.zeros((3, 4), np.float32),
      'global_step': np.array(7, np.int64)})
  wrong = _bundle_with(golden_bundle, tmp_path, 'wrong_vars.mag',
                       checkpoint_file=[data])
  with pytest.raises(ValueError) as info:
    note_rnn.load(str(wrong))
  message = str(info.value)
  assert 'wrong_vars.mag' in message
  assert 'encoder/some_weights' in message and 'global_step' in message

  # The same checkpoint as a plain file (a Magenta prefix).
  ckpt = tmp_path / 'v1' / 'model.ckpt'
  with pytest.raises(ValueError) as info:
    note_rnn.load(str(ckpt))
  assert 'encoder/some_weights' in str(info.value)

  # Not a checkpoint at all inside the bundle, and not a bundle at all.
  junk = _bundle_with(golden_bundle, tmp_path, 'junk_ckpt.mag',
                      checkpoint_file=[b'\x00' * 64])
  with pytest.raises(ValueError, match='junk_ckpt.mag'):
    note_rnn.load(str(junk))
  empty = _bundle_with(golden_bundle, tmp_path, 'no_ckpt.mag',
                       checkpoint_file=[])
  with pytest.raises(ValueError, match='no_ckpt.mag'):
    note_rnn.load(str(empty))
  text = tmp_path / 'text.mag'
  text.write_text('<script>alert(1)</script> not a bundle')
  with pytest.raises(ValueError, match='text.mag'):
    note_rnn.load(str(text))


def test_our_run_dir_with_foreign_weights_is_refused(tmp_path):
  import note_rnn  # pylint: disable=g-import-not-at-top
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  run = tmp_path / 'run'
  note_rnn.build((8,), seed=0).save(str(run))
  # Replace the weights by a checkpoint of something else under the same name.
  best = [p for p in (run / 'best').iterdir()]
  for p in best:
    p.unlink()
  other = tf.train.Checkpoint(stranger=tf.Variable(np.zeros(3, np.float32)))
  other.write(str(run / 'best' / 'model'))
  with pytest.raises((ValueError, AssertionError)) as info:
    note_rnn.load(str(run))
  assert str(run) in str(info.value)


# ---------------------------------------------------------------------------
# HTML escaping, through the whole chain, in headless Chromium.

PAYLOAD_NAME = "<svg onload=document.title='PWNED1'><img src=x onerror=document.body.appendChild(document.createElement('pwned'))>"
PAYLOAD_TRACK = ("<script>document.title='PWNED2'</script>"
                 "<img src=x onerror=\"document.title='PWNED3';"
                 "document.body.appendChild(document.createElement('pwned'))\">")


def _evil_midi(path):
  import pretty_midi  # pylint: disable=g-import-not-at-top
  midi = pretty_midi.PrettyMIDI(initial_tempo=80)
  piano = pretty_midi.Instrument(program=0, name=PAYLOAD_TRACK)
  for i, pitch in enumerate((60, 62, 64, 65, 67, 69, 71, 72)):
    piano.notes.append(pretty_midi.Note(velocity=100, pitch=pitch,
                                        start=i * 0.25, end=i * 0.25 + 0.2))
  midi.instruments.append(piano)
  midi.lyrics.append(pretty_midi.Lyric(PAYLOAD_TRACK, 0.0))
  midi.write(str(path))


def _dump_dom(page, profile):
  command = [CHROMIUM, '--headless', '--no-sandbox', '--disable-gpu',
             '--disable-quic', '--no-first-run',
             '--disable-background-networking', '--disable-component-update',
             '--disable-sync', '--user-data-dir=%s' % profile,
             '--virtual-time-budget=3000', '--dump-dom',
             'file://' + os.path.abspath(page)]
  done = subprocess.run(command, capture_output=True, text=True, timeout=180)
  assert done.returncode == 0, done.stderr[-2000:]
  return done.stdout


@pytest.mark.browser
@pytest.mark.slow
def test_payloads_from_input_files_never_run_in_the_pages(tmp_path):
  if CHROMIUM is None:
    pytest.skip('Debian chromium is not installed (scripts/setup_system.sh '
                'installs it)')
  import note_rnn  # pylint: disable=g-import-not-at-top
  from rl_tuner import config as config_lib  # pylint: disable=g-import-not-at-top
  from rl_tuner.evaluate import runs as runs_lib  # pylint: disable=g-import-not-at-top
  from rl_tuner.report import pages as report_pages  # pylint: disable=g-import-not-at-top
  from rl_tuner.rl import trainer  # pylint: disable=g-import-not-at-top

  inputs = tmp_path / 'inputs'
  inputs.mkdir()
  primer = inputs / (PAYLOAD_NAME + '.mid')
  _evil_midi(primer)
  prior = tmp_path / 'prior'
  note_rnn.build((8,), seed=0).save(str(prior))
  run_dir = tmp_path / ('q_' + PAYLOAD_NAME)
  config = config_lib.RLTunerConfig(
      output_dir=str(run_dir), note_rnn_checkpoint=str(prior), num_notes=8,
      num_parallel_envs=8, num_steps=64, exploration_period=32, batch_size=8,
      replay_capacity=512, output_every_nth=32, checkpoint_every_n=64,
      final_eval_compositions=8, num_midi_compositions=2, seed=1,
      priming_mode='single_midi', midi_primer=str(primer))
  trainer.train_eval(config, log=lambda _: None)
  # The user's own MIDI beside the run's samples (the report lists them).
  shutil.copyfile(primer, run_dir / 'compositions' / primer.name)
  eval_dir = tmp_path / 'eval'
  runs_lib.run_evaluation(runs_lib.EvaluationConfig(
      output_dir=str(eval_dir), run_dirs=[str(run_dir)], num_compositions=16,
      save_compositions=True), log=lambda _: None)
  out = tmp_path / 'report'
  paths = report_pages.build_report(report_pages.ReportConfig(
      output_dir=str(out), run_dirs=[str(run_dir)], eval_dirs=[str(eval_dir)],
      num_samples=1, num_ab_pairs=2, render_audio=False), log=lambda _: None)
  for key in ('report', 'ab'):
    html = pathlib.Path(paths[key]).read_text(encoding='utf-8')
    if key == 'report':  # the blind A/B page stores model names only encoded
      assert 'PWNED' in html, key  # the strings did reach the page ...
    assert '<svg onload' not in html and '<img src=x' not in html, key
    assert "<script>document.title" not in html, key
    dom = _dump_dom(paths[key], tmp_path / ('profile_' + key))
    title = re.search(r'<title>(.*?)</title>', dom, re.S)
    assert title is None or 'PWNED' not in title.group(1), key
    assert '<pwned' not in dom.lower(), key  # ... and nothing ran
    assert not re.search(r'<img[^>]*onerror', dom), key
    assert not re.search(r'<svg[^>]*onload', dom), key
  assert json.loads((run_dir / 'config.json').read_text())
