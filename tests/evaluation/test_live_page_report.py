"""bin/make_report's live.html: which models it offers, and what it refuses (no browser)."""

import json
import os
import re
import subprocess
import sys

import pytest

import note_rnn
from note_rnn import magenta_js
from rl_tuner.report import live_page

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope='module')
def tiny_exports(tmp_path_factory):
  root = tmp_path_factory.mktemp('exports')
  model = note_rnn.build((8,), seed=2)
  prior = root / 'prior'
  model.save(str(prior))
  run = root / 'q_run'
  run.mkdir()
  (run / 'config.json').write_text(json.dumps(
      {'algorithm': 'q', 'note_rnn_checkpoint': str(prior)}))
  model.save(str(run / 'note_rnn_export'), source='rl_tuner', algorithm='q')
  magenta_js.export_magenta_js(str(run))
  other = magenta_js.export_magenta_js(str(prior), str(root / 'prior_js'))
  return {'run': str(run), 'prior': str(prior), 'prior_js': other}


def _page_data(path):
  page = open(path, encoding='utf-8').read()
  found = re.search(r'<script type="application/json" id="rl-tuner-live-data">(.*?)</script>',
                    page, re.S)
  return json.loads(found.group(1))


def test_page_embeds_every_file_and_escapes_labels(tiny_exports, tmp_path):
  label = '</script><script>alert(1)</script>'
  page = live_page.write_live_page([live_page.describe(tiny_exports['prior_js'], label)],
                                   str(tmp_path), bundle=__file__)
  text = open(page, encoding='utf-8').read()
  assert '<script>alert(1)' not in text
  (model,) = _page_data(page)['models']
  assert model['label'] == label
  assert sorted(model['files']) == ['config.json', 'group1-shard1of1.bin',
                                    'weights_manifest.json']
  assert os.path.exists(os.path.join(str(tmp_path), live_page.BUNDLE_NAME))
  assert 'cdn' not in text.lower() and 'https://' not in text


def test_report_offers_the_runs_export_and_the_untuned_note_rnn(tiny_exports, tmp_path,
                                                                  monkeypatch):
  monkeypatch.setenv(live_page.BUNDLE_ENV, __file__)
  page = live_page.for_report(str(tmp_path), run_dirs=[tiny_exports['run']], log=print)
  labels = [m['label'] for m in _page_data(page)['models']]
  assert labels == ['Note RNN (untuned): prior', 'tuned (q): q_run']
  # An untuned model given explicitly is not doubled.
  page = live_page.for_report(str(tmp_path / 'b'), [tiny_exports['prior_js']],
                              [tiny_exports['run']], log=print)
  assert [m['label'] for m in _page_data(page)['models']] == ['Note RNN: prior',
                                                                'tuned (q): q_run']


def test_report_without_magenta_js_says_why(tiny_exports, tmp_path, monkeypatch):
  logs = []
  monkeypatch.setenv(live_page.BUNDLE_ENV, str(tmp_path / 'missing.js'))
  monkeypatch.setattr(live_page, 'VENDORED_BUNDLE', str(tmp_path / 'missing.js'))
  assert live_page.for_report(str(tmp_path), run_dirs=[tiny_exports['run']],
                              log=logs.append) is None
  assert logs and 'not vendored' in logs[0]
  assert live_page.for_report(str(tmp_path), run_dirs=[tiny_exports['prior']],
                              log=logs.append) is None
  assert 'no run has a magenta_js/' in logs[-1]
  with pytest.raises(live_page.LivePageUnavailable, match='make setup'):
    live_page.write_live_page([live_page.describe(tiny_exports['prior_js'])], str(tmp_path))


def test_make_report_cli_live_page_alone_and_a_bad_dir(tiny_exports, tmp_path):
  env = dict(os.environ, PYTHONPATH=REPO, TF_CPP_MIN_LOG_LEVEL='3',
             **{live_page.BUNDLE_ENV: __file__})
  tool = [sys.executable, os.path.join(REPO, 'bin', 'make_report')]
  done = subprocess.run(tool + ['--magenta_js_dir=' + tiny_exports['prior'],
                                '--output_dir=' + str(tmp_path / 'bad')],
                        env=env, capture_output=True, text=True, timeout=300)
  assert done.returncode == 2 and not (tmp_path / 'bad').exists()
  (line,) = done.stderr.strip().splitlines()[-1:]
  assert line.startswith('make_report: --magenta_js_dir: ') and 'MusicRNN' in line, line
  done = subprocess.run(tool + ['--magenta_js_dir=' + tiny_exports['prior_js'],
                                '--output_dir=' + str(tmp_path / 'r')],
                        env=env, capture_output=True, text=True, timeout=300)
  assert done.returncode == 0, done.stderr[-2000:]
  assert done.stdout.split() == [str(tmp_path / 'r' / 'live.html')]
  assert sorted(os.listdir(tmp_path / 'r')) == ['live.html', 'magentamusic.js']


def test_report_header_links_the_live_page_only_when_there_is_one(tmp_path):
  from rl_tuner.report import pages  # pylint: disable=g-import-not-at-top
  with_live = pages._header(pages.ReportConfig(output_dir=str(tmp_path), live_page='live.html'),  # pylint: disable=protected-access
                            [], [])
  assert '<a href="live.html">live.html</a>' in with_live
  without = pages._header(pages.ReportConfig(output_dir=str(tmp_path)), [], [])  # pylint: disable=protected-access
  assert 'live.html' not in without and 'ab.html' in without
