"""make_report: the pages hold tables, plots, audio and links; input strings are escaped.

Also the MIDI conventions (80 qpm, pitch = index + 46) read back from the files, and
the pages in headless Chromium (marked `browser`).
"""

from pipelines.errors import FlagError
import base64
import collections
import html as html_lib
import json
import os
import re
import shutil
import subprocess

import numpy as np
import pytest

from rl_tuner.evaluate import runs as runs_lib
from rl_tuner.evaluate import scoring
from rl_tuner.music import statistics
from rl_tuner.evaluate import midi as midi_lib
from rl_tuner.report import ab_page
from rl_tuner.report import pages as report_pages
from rl_tuner.report import tables as report_tables

EVIL = '<script>alert("x")</script>'
CHROMIUM = shutil.which('chromium') or shutil.which('chromium-browser')


@pytest.fixture(scope='module')
def tiny_note_rnn(tmp_path_factory):
  import note_rnn
  run_dir = str(tmp_path_factory.mktemp('nr') / 'tiny')
  note_rnn.build((16,), seed=5).save(run_dir)
  return run_dir


def _write_tb(run_dir):
  import tensorflow as tf
  writer = tf.summary.create_file_writer(os.path.join(run_dir, 'tb'))
  with writer.as_default():
    for step in range(0, 500, 100):
      tf.summary.scalar('reward/total', -5.0 + step / 100, step=step)
      tf.summary.scalar('reward/music_theory', -6.0 + step / 50, step=step)
      tf.summary.scalar('reward/log_p', -2.0, step=step)
  writer.close()


def _write_evil_midi(path):
  import pretty_midi
  midi = pretty_midi.PrettyMIDI()
  piano = pretty_midi.Instrument(program=0, name=EVIL)
  piano.notes.append(pretty_midi.Note(velocity=100, pitch=60, start=0.0, end=0.5))
  midi.instruments.append(piano)
  midi.write(path)


@pytest.fixture(scope='module')
def inputs(tmp_path_factory, tiny_note_rnn):
  """Two evaluations (corrected, legacy) of note_rnn and a run with an evil name."""
  root = tmp_path_factory.mktemp('inputs')
  run_name = 'q_$x^2$_' + EVIL.replace('/', '_')  # '$' would start matplotlib mathtext
  run_dir = root / run_name
  (run_dir / 'compositions').mkdir(parents=True)
  (run_dir / 'config.json').write_text(json.dumps(dict(
      algorithm='q', key='C', num_notes=16, priming_mode='random_note', num_steps=500,
      note_rnn_checkpoint=tiny_note_rnn, semantics='corrected', reward_mode=EVIL)))
  _write_tb(str(run_dir))
  _write_evil_midi(str(run_dir / 'compositions' / (EVIL.replace('/', '_') + '.mid')))
  rng = np.random.default_rng(0)
  notes = {'note_rnn': rng.integers(0, 38, size=(40, 16)).astype(np.int32),
           run_name: np.tile(np.array([14, 0, 16, 0, 18, 1, 14, 0], np.int32), (40, 2))}
  eval_dirs = []
  for semantics in ('corrected', 'legacy'):
    result = {'_run': dict(semantics=semantics, policy='sample', num_compositions=40, seed=1)}
    for name, comps in notes.items():
      entry = dict(note_rnn_checkpoint=EVIL, algorithm=None, key='C', num_notes=16,
                   priming_mode='random_note')
      entry.update(scoring._jsonable(
          statistics.composition_stats(comps, key='C', semantics=semantics)))
      entry['mean_log_p'] = -3.5
      entry.update(scoring.own_diversity_figures(comps))
      result[name] = entry
    for name, comps in notes.items():
      scoring.add_figures_vs_note_rnn(result[name], comps, result['note_rnn'],
                                      notes['note_rnn'], is_note_rnn=name == 'note_rnn')
    out = str(root / ('eval_' + semantics))
    runs_lib.write_outputs(out, result, notes)
    eval_dirs.append(out)
  return dict(run_dir=str(run_dir), run_name=run_name, eval_dirs=eval_dirs, root=root)


@pytest.fixture(scope='module')
def pages(inputs):
  out = str(inputs['root'] / 'report')
  logs = []
  config = report_pages.ReportConfig(output_dir=out, run_dirs=[inputs['run_dir']],
                               eval_dirs=inputs['eval_dirs'], num_samples=2, num_ab_pairs=3,
                               render_audio=midi_lib.audio_available() is None)
  paths = report_pages.build_report(config, log=logs.append)
  return dict(paths=paths, out=out, logs=logs, run_name=inputs['run_name'],
              report=open(paths['report'], encoding='utf-8').read(),
              ab=open(paths['ab'], encoding='utf-8').read())


def test_report_holds_tables_plots_and_links(pages):
  html = pages['report']
  # Two semantics: one table holds both, side by side (not each again on its own).
  assert html.count('<table class="metrics') == 1
  assert 'Legacy next to corrected' in html
  assert '<table class="mix">' in html  # holds / note-offs / pitches per model
  assert 'corrected semantics: <code>' in html and 'legacy semantics: <code>' in html
  assert 'paper Q' in html
  assert '<th>better</th>' in html and '<td class="better">lower</td>' in html
  assert 'interfaces.md' not in html and 'preload="metadata"' in html
  assert 'bar lines' in html  # the piano rolls' caption
  images = re.findall(r'<img src="data:image/png;base64,', html)
  assert len(images) >= 4  # reward curves, 2 metric bars, piano rolls
  assert html.count('download=') >= 4  # our samples' MIDI and the run's own file
  for png in ('reward_curves.png', 'metrics_0.png', 'metrics_1.png', 'piano_rolls.png'):
    assert os.path.isfile(os.path.join(pages['out'], png))
  # The tuned model plays one loop: flagged at the top, once per evaluation; never the Note RNN.
  assert html.count('Collapse warning,') == 2
  assert 'top_composition_share 100 % &gt; 0.2 %' in html
  assert html.index('Collapse warning,') < html.index('<table class="metrics')
  assert 'Collapse warning, note_rnn' not in html


def test_inputs_strings_are_escaped(pages):
  for html in (pages['report'], pages['ab']):
    assert EVIL not in html
    assert '<script>alert' not in html
    assert html.count('<script>') <= 1  # only the A/B page's own script
  assert html_escaped(EVIL) in pages['report']  # the track name, the config value


def html_escaped(text):
  import html
  return html.escape(text, quote=True)


def test_audio_when_fluidsynth_is_installed(pages):
  if midi_lib.audio_available() is not None:
    assert 'No audio' in pages['report']
    pytest.skip(midi_lib.audio_available())
  assert pages['report'].count('<audio controls') == 4  # 2 samples x 2 models
  assert pages['ab'].count('<audio controls') == 6  # 3 pairs
  wavs = [f for f in os.listdir(pages['out']) if f.endswith('.wav')]
  assert wavs


def test_ab_page_has_pairs_and_buttons(pages):
  ab = pages['ab']
  assert ab.count('class="pair"') == 3
  assert ab.count('class="choice"') == 6
  assert 'localStorage' in ab
  assert 'id="reveal"' in ab
  # Each pair holds one Note RNN and one tuned sample (the encoded mapping says which).
  mapping = _ab_mapping(ab)
  assert len(mapping) == 3
  assert all(sorted(pair) == sorted(['note_rnn', pages['run_name']]) for pair in mapping)


def _ab_mapping(ab):
  key = re.search(r'data-key="([^"]*)"', ab).group(1)
  return ab_page.decode_mapping(re.search(r'data-mapping="([^"]*)"', ab).group(1), key)


def _model_names(pages):
  names = ['note_rnn', pages['run_name']]
  return names + [html_escaped(n) for n in names] + ['data-model']


def assert_blind(text, pages):
  for name in _model_names(pages):
    assert name not in text, 'the A/B page names %r before the reveal' % name
  downloads = re.findall(r'download="([^"]*)"', text)
  assert downloads and all(re.fullmatch(r'pair\d\d_[ab]\.mid', d) for d in downloads), downloads


def test_ab_page_is_blind_in_its_source(pages):
  ab = pages['ab']
  assert_blind(ab, pages)
  script = re.search(r'<script>(.*)</script>', ab, re.S).group(1)
  literals = re.findall(r"'([^'\\]*)'|\"([^\"\\]*)\"", script)
  assert literals
  for literal in (a or b for a, b in literals):
    assert not any(name in literal for name in _model_names(pages)), literal


def test_ab_mapping_is_keyed_per_page(pages, inputs, tmp_path):
  again = report_pages.build_report(report_pages.ReportConfig(
      output_dir=str(tmp_path / 'again'), run_dirs=[inputs['run_dir']],
      eval_dirs=inputs['eval_dirs'], num_samples=2, num_ab_pairs=3, render_audio=False),
      log=lambda _: None)
  other = open(again['ab'], encoding='utf-8').read()
  assert re.search(r'data-key="([^"]*)"', other).group(1) != re.search(
      r'data-key="([^"]*)"', pages['ab']).group(1)


def test_wavs_peak_at_minus_one_dbfs(pages):
  if midi_lib.audio_available() is not None:
    pytest.skip(midi_lib.audio_available())
  wavs = sorted(f for f in os.listdir(pages['out']) if f.endswith('.wav'))
  assert wavs
  peaks = [midi_lib.peak_dbfs(os.path.join(pages['out'], f)) for f in wavs]
  assert all(abs(p - midi_lib.PEAK_DBFS) <= 0.5 for p in peaks), dict(zip(wavs, peaks))


def test_bad_compositions_npz_is_named(tmp_path):
  runs_lib.write_outputs(str(tmp_path), {'_run': {}, 'note_rnn': {}},
                              {'note_rnn': np.full((2, 4), 40)})
  with pytest.raises(FlagError, match='compositions.npz'):
    report_pages.read_evaluation(str(tmp_path))


def test_one_evaluation_gets_its_own_table_and_the_run_names_the_shipped_note_rnn(
    inputs, tmp_path):
  run_dir = tmp_path / 'shipped_run'
  shutil.copytree(inputs['run_dir'], run_dir)
  config = json.loads((run_dir / 'config.json').read_text())
  config['note_rnn_checkpoint'] = None
  (run_dir / 'config.json').write_text(json.dumps(config))
  paths = report_pages.build_report(report_pages.ReportConfig(
      output_dir=str(tmp_path / 'r'), run_dirs=[str(run_dir)], eval_dirs=inputs['eval_dirs'][:1],
      num_samples=1, num_ab_pairs=1, render_audio=False), log=lambda _: None)
  page = open(paths['report'], encoding='utf-8').read()
  assert page.count('<table class="metrics"') == 1 and 'Semantics: <b>corrected</b>' in page
  assert '<td>note_rnn_checkpoint</td><td>shipped (rl_tuner_default)</td>' in page
  assert '<td>None</td>' not in page


def test_non_numeric_metric_is_shown_not_fatal():
  html = report_tables.metrics_table_html({'_run': {}, 'note_rnn': {'notes_in_motif': EVIL}})
  assert EVIL not in html and html_escaped(EVIL) in html


def test_missing_metrics_is_named(tmp_path):
  with pytest.raises(FlagError, match='metrics.json'):
    report_pages.build_report(report_pages.ReportConfig(output_dir=str(tmp_path / 'o'),
                                            eval_dirs=[str(tmp_path)]))


def test_midi_pitches_tempo_and_timing_read_back(tmp_path):
  import note_seq
  path = midi_lib.write_midi([14, 0, 0, 0, 16, 1, 18, 0, 37, 2], str(tmp_path / 'a.mid'))
  sequence = note_seq.midi_file_to_note_sequence(path)
  notes = [(n.pitch, round(n.start_time, 4), round(n.end_time, 4), n.velocity, n.program)
           for n in sequence.notes]
  step = 60.0 / 80.0 / 4  # 80 qpm, 4 steps per quarter
  assert notes == [(60, 0.0, round(4 * step, 4), 100, 0),
                   (62, round(4 * step, 4), round(5 * step, 4), 100, 0),
                   (64, round(6 * step, 4), round(8 * step, 4), 100, 0),
                   (83, round(8 * step, 4), round(9 * step, 4), 100, 0),
                   (48, round(9 * step, 4), round(10 * step, 4), 100, 0)]
  assert sequence.tempos[0].qpm == 80.0
  assert sequence.ticks_per_quarter == 220


def test_note_spans_follow_melody_semantics():
  from rl_tuner.report import plots
  assert plots.note_spans([0, 14, 0, 1, 0, 16, 18, 0]) == [
      (1, 3, 60), (5, 6, 62), (6, 8, 64)]


def _dump_dom(path, tmp_path):
  command = [CHROMIUM, '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
             '--no-first-run', '--disable-background-networking',
             '--disable-component-update', '--disable-sync',
             '--user-data-dir=%s' % (tmp_path / 'profile'), '--virtual-time-budget=3000',
             '--dump-dom', 'file://' + os.path.abspath(path)]
  done = subprocess.run(command, capture_output=True, text=True, timeout=120)
  assert done.returncode == 0, done.stderr[-2000:]
  return done.stdout


@pytest.mark.browser
def test_pages_in_headless_chromium(pages, tmp_path):
  if CHROMIUM is None:
    pytest.skip('Debian chromium is not installed (scripts/setup_system.sh installs it)')
  dom = _dump_dom(pages['paths']['report'], tmp_path)
  assert dom.count('<table') >= 3  # metrics (both semantics), event mix, run config
  assert len(re.findall(r'<img src="data:image/png', dom)) >= 4
  if midi_lib.audio_available() is None:
    assert dom.count('<audio') == 4
  assert '<script>alert' not in dom
  ab = _dump_dom(pages['paths']['ab'], tmp_path)
  assert ab.count('class="choice') == 6 and 'id="reveal"' in ab
  if midi_lib.audio_available() is None:
    assert ab.count('<audio') == 6


_HARNESS = """<!DOCTYPE html><html><body><div id="result">pending</div>
<iframe id="f" src="%s"></iframe>
<script>
document.getElementById('f').addEventListener('load', function () {
  var out = document.getElementById('result');
  try {
    var d = this.contentDocument;
    d.querySelectorAll('.pair').forEach(function (p) {
      p.querySelectorAll('button.choice')[1].click();
    });
    d.getElementById('reveal').click();
    var revealed = [];
    d.querySelectorAll('.revealed').forEach(function (r) { revealed.push(r.textContent); });
    out.textContent = 'TALLY:' + d.getElementById('tally').textContent + '|CHOSEN:' +
        d.querySelectorAll('button.chosen').length + '|STORED:' +
        this.contentWindow.localStorage.length + '|REVEALED:' + revealed.join(';');
  } catch (e) { out.textContent = 'ERROR:' + e; }
});
</script></body></html>
"""


def _true_models(pages):
  """[[model of A, model of B] per pair], from which sample file each MIDI link embeds."""
  by_bytes = {}
  for name in os.listdir(pages['out']):
    if name.startswith('sample_') and name.endswith('.mid'):
      model = 'note_rnn' if name.startswith('sample_00_') else pages['run_name']
      with open(os.path.join(pages['out'], name), 'rb') as f:
        by_bytes[base64.b64encode(f.read()).decode('ascii')] = model
  links = re.findall(r'download="pair\d\d_[ab]\.mid" href="data:audio/midi;base64,([^"]*)"',
                     pages['ab'])
  models = [by_bytes[data] for data in links]
  return [models[i:i + 2] for i in range(0, len(models), 2)]


@pytest.mark.browser
def test_ab_page_is_blind_in_the_browser_and_reveals_the_right_models(pages, tmp_path):
  if CHROMIUM is None:
    pytest.skip('Debian chromium is not installed (scripts/setup_system.sh installs it)')
  assert_blind(_dump_dom(pages['paths']['ab'], tmp_path), pages)
  harness = tmp_path / 'harness.html'
  harness.write_text(_HARNESS % ('file://' + os.path.abspath(pages['paths']['ab'])))
  command = [CHROMIUM, '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
             '--no-first-run', '--disable-background-networking',
             '--disable-component-update', '--disable-sync', '--allow-file-access-from-files',
             '--user-data-dir=%s' % (tmp_path / 'profile2'), '--virtual-time-budget=5000',
             '--dump-dom', 'file://' + str(harness)]
  done = subprocess.run(command, capture_output=True, text=True, timeout=120)
  result = re.search(r'id="result">([^<]*)<', done.stdout)
  assert result, done.stdout[-2000:] + done.stderr[-2000:]
  text = html_lib.unescape(result.group(1))
  assert 'ERROR' not in text, text
  assert '|CHOSEN:3|STORED:1|' in text
  truth = _true_models(pages)
  assert len(truth) == 3 and all(sorted(p) == sorted(['note_rnn', pages['run_name']])
                                 for p in truth)
  revealed = text.split('|REVEALED:')[1].split(';')
  assert revealed == ['A: %s, B: %s' % tuple(pair) for pair in truth]
  chosen = collections.Counter(pair[1] for pair in truth)  # the harness clicks every B
  for model, count in chosen.items():
    assert '%s: preferred %d of 3' % (model, count) in text, text


def test_without_fluidsynth_the_report_says_so_and_keeps_the_rest(inputs, tmp_path,
                                                                  monkeypatch):
  monkeypatch.setattr(midi_lib.shutil, 'which', lambda name: None)
  assert 'fluidsynth' in midi_lib.audio_available()
  with pytest.raises(midi_lib.AudioUnavailable, match='fluid-soundfont-gm'):
    midi_lib.render_wav('x.mid', str(tmp_path / 'x.wav'))
  logs = []
  paths = report_pages.build_report(report_pages.ReportConfig(
      output_dir=str(tmp_path / 'r'), eval_dirs=inputs['eval_dirs'][:1], num_samples=1,
      num_ab_pairs=1), log=logs.append)
  page = open(paths['report'], encoding='utf-8').read()
  assert 'No audio: fluidsynth is not installed' in page
  assert '<audio' not in page and '<table class="metrics"' in page
  assert 'download=' in page  # the MIDI links stay
  assert any('no audio' in line for line in logs)
