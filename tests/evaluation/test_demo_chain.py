"""The demo's RL half end to end on a tiny Note RNN and the smallest budget (slow)."""

import json
import os

import pytest

from rl_tuner import demo


@pytest.mark.slow
def test_tune_evaluate_report_chain(tmp_path):
  import note_rnn
  prior_dir = str(tmp_path / 'prior')
  note_rnn.build((16,), seed=2).save(prior_dir)
  lines = []
  result = demo.tune_evaluate_report(str(tmp_path / 'demo'), num_steps=1, num_compositions=300,
                                     note_rnn_checkpoint=prior_dir, log=lines.append)
  stages = [line for line in lines if line.startswith('[')]
  assert [s[:5] for s in stages] == ['[1/4]', '[2/4]', '[3/4]', '[4/4]']
  metrics = json.loads(open(os.path.join(result['eval_dir'], 'metrics.json')).read())
  assert set(metrics) == {'_run', 'note_rnn', 'q'}
  assert metrics['q']['algorithm'] == 'q'
  legacy = json.loads(open(os.path.join(str(tmp_path / 'demo'), 'eval_legacy',
                                        'metrics.json')).read())
  assert legacy['_run']['semantics'] == 'legacy'
  page = open(result['report'], encoding='utf-8').read()
  assert 'Legacy next to corrected' in page and '<img src="data:image/png' in page
  assert '| notes in motif |' in result['table']
  assert os.path.isfile(result['ab'])
  from rl_tuner.report import live_page  # pylint: disable=g-import-not-at-top
  if live_page.vendored_bundle() is None:
    assert result['live'] is None
  else:
    assert result['live'] == os.path.join(os.path.dirname(result['report']), 'live.html')
    assert os.path.isfile(os.path.join(str(tmp_path / 'demo'), 'q', 'magenta_js',
                                       'weights_manifest.json'))
