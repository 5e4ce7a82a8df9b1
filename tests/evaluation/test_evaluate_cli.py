"""bin/evaluate_rl_tuner end to end on a tiny N, and the run-settings rules (who decides what)."""

from pipelines.errors import FlagError
import json
import os
import subprocess

import numpy as np
import pytest

from pipelines import encoding
from rl_tuner.policy import priming as priming_lib
from rl_tuner.evaluate import runs as runs_lib
from rl_tuner.evaluate import scoring

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CLI = os.path.join(REPO, 'bin', 'evaluate_rl_tuner')
TABLE_KEYS = [key for key, _, _ in scoring.TABLE_ROWS]


@pytest.fixture(scope='module')
def tiny_note_rnn(tmp_path_factory):
  import note_rnn
  run_dir = str(tmp_path_factory.mktemp('note_rnn') / 'tiny')
  note_rnn.build((16,), seed=3).save(run_dir)
  return run_dir


NINE_RULES = ('key', 'tonic', 'repetition', 'autocorrelation', 'motif', 'repeated_motif',
              'intervals', 'leap_resolution', 'unique_extrema')


def _run(python_exe, *args):
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3')
  return subprocess.run([python_exe, CLI] + list(args), capture_output=True, text=True,
                        timeout=300, env=env, cwd=REPO)


def _fake_run(tmp_path, name, **config):
  run_dir = tmp_path / name
  run_dir.mkdir()
  base = dict(algorithm='q', key='C', num_notes=32, priming_mode='random_note',
              note_rnn_checkpoint=None, semantics='corrected')
  base.update(config)
  (run_dir / 'config.json').write_text(json.dumps(base))
  return str(run_dir)


def test_cli_writes_metrics_table_and_compositions(python_exe, tiny_note_rnn, tmp_path):
  out = tmp_path / 'eval'
  done = _run(python_exe, '--note_rnn_checkpoint=' + tiny_note_rnn, '--num_compositions=300',
              '--batch_size=128', '--num_notes=16', '--semantics=legacy', '--seed=4',
              '--output_dir=' + str(out), '--save_compositions')
  assert done.returncode == 0, done.stderr
  metrics = json.loads((out / 'metrics.json').read_text())
  assert metrics['_run'] == dict(semantics='legacy', policy='sample', num_compositions=300,
                                 seed=4, reward_rules=dict.fromkeys(NINE_RULES, 1.0))
  assert set(metrics['note_rnn']['rules']) == set(NINE_RULES)
  entry = metrics['note_rnn']
  for key in TABLE_KEYS + ['num_compositions', 'intervals', 'key', 'num_notes',
                           'priming_mode', 'note_rnn_checkpoint', 'algorithm']:
    assert key in entry, key
  assert entry['num_compositions'] == 300 and entry['num_notes'] == 16
  assert entry['algorithm'] is None
  assert -np.log(38) - 1 < entry['mean_log_p'] < 0  # near-uniform random init
  with np.load(out / 'compositions.npz', allow_pickle=False) as data:
    assert sorted(data.files) == ['note_rnn', 'note_rnn_events']
    notes = data['note_rnn']
    np.testing.assert_array_equal(data['note_rnn_events'], encoding.index_to_event(notes))
  assert notes.shape == (300, 16) and np.issubdtype(notes.dtype, np.integer)
  assert notes.min() >= 0 and notes.max() < 38
  markdown = (out / 'metrics.md').read_text()
  assert markdown in done.stdout
  assert '| notes excessively repeated |' in markdown and 'paper Q' in markdown
  assert 'Semantics: **legacy**' in markdown


def test_cli_same_seed_same_metrics(python_exe, tiny_note_rnn, tmp_path):
  results = []
  for name in ('a', 'b'):
    out = tmp_path / name
    done = _run(python_exe, '--note_rnn_checkpoint=' + tiny_note_rnn, '--num_compositions=64',
                '--policy=greedy', '--output_dir=' + str(out))
    assert done.returncode == 0, done.stderr
    results.append(json.loads((out / 'metrics.json').read_text())['note_rnn'])
  assert results[0] == results[1]


def test_cli_flag_conflicting_with_run_config_is_an_error(python_exe, tmp_path):
  run = _fake_run(tmp_path, 'q_run', key='G')
  out = tmp_path / 'out'
  done = _run(python_exe, '--run_dir=' + run, '--key=C', '--num_compositions=10',
              '--output_dir=' + str(out))
  assert done.returncode != 0
  assert '--key' in done.stderr and run in done.stderr
  assert not out.exists()  # nothing written


def test_cli_requires_output_dir(python_exe):
  done = _run(python_exe, '--num_compositions=10')
  assert done.returncode != 0 and 'output_dir' in done.stderr


def _config(tmp_path, runs, **explicit):
  return runs_lib.EvaluationConfig(output_dir=str(tmp_path / 'o'), run_dirs=runs,
                                        explicit=explicit)


def test_note_rnn_entry_takes_the_runs_settings(tmp_path):
  run = _fake_run(tmp_path, 'psi_run', key='G', num_notes=16, algorithm='psi')
  models = runs_lib.resolve_models(_config(tmp_path, [run]))
  assert [m.name for m in models] == ['note_rnn', 'psi_run']
  assert models[0].settings['key'] == 'G' and models[0].settings['num_notes'] == 16
  assert models[1].algorithm == 'psi' and models[1].run_dir == run


@pytest.mark.parametrize('flag, value, config', [
    ('key', 'C', dict(key='G')),
    ('num_notes', 32, dict(num_notes=16)),
    ('priming_mode', 'random_note', dict(priming_mode='primer_melody',
                                         primer_melody=[60, -2])),
    ('note_rnn_checkpoint', '/somewhere/else', dict(note_rnn_checkpoint=None)),
])
def test_each_conflicting_flag_is_named(tmp_path, flag, value, config):
  run = _fake_run(tmp_path, 'r', **config)
  with pytest.raises(FlagError) as raised:
    runs_lib.resolve_models(_config(tmp_path, [run], **{flag: value}))
  assert raised.value.flag == flag and run in str(raised.value)


def test_agreeing_flag_is_fine_and_shipped_equals_none(tmp_path):
  run = _fake_run(tmp_path, 'r', note_rnn_checkpoint='shipped')
  models = runs_lib.resolve_models(_config(tmp_path, [run], key='C',
                                                note_rnn_checkpoint=None))
  assert models[1].settings['note_rnn_checkpoint'] is None


def test_runs_that_disagree_or_share_a_name(tmp_path):
  a = _fake_run(tmp_path, 'a', key='C')
  b = _fake_run(tmp_path, 'b', key='D')
  with pytest.raises(FlagError, match='differ in key'):
    runs_lib.resolve_models(_config(tmp_path, [a, b]))
  (tmp_path / 'x').mkdir()
  c = _fake_run(tmp_path / 'x', 'a')
  with pytest.raises(FlagError, match='both be named'):
    runs_lib.resolve_models(_config(tmp_path, [a, c]))


@pytest.mark.parametrize('config', [dict(num_notes='32'), dict(num_notes=0),
                                    dict(key='H'), dict(priming_mode='telepathy')])
def test_bad_run_config_values_are_named(tmp_path, config):
  run = _fake_run(tmp_path, 'r', **config)
  with pytest.raises(FlagError, match='config.json'):
    runs_lib.resolve_models(_config(tmp_path, [run]))


def test_run_without_config_is_named(tmp_path):
  (tmp_path / 'empty').mkdir()
  with pytest.raises(FlagError, match='config.json'):
    runs_lib.resolve_models(_config(tmp_path, [str(tmp_path / 'empty')]))


def test_primer_melody_prefix():
  primers = priming_lib.load_primers(dict(priming_mode='primer_melody',
                                            primer_melody=[60, -2, 62, -1]))
  np.testing.assert_array_equal(primers, [14, 0, 16, 1])
  with pytest.raises(FlagError, match='pitch outside') as raised:
    priming_lib.load_primers(dict(priming_mode='primer_melody', primer_melody=[99]))
  assert raised.value.flag == 'primer_melody'


def test_markdown_table_formats(tmp_path):
  entry = {key: 0.5 for key in TABLE_KEYS}
  entry.update(leaps_resolved=None, notes_in_repeated_motif=0.00007, mean_log_p=-1.25)
  table = scoring.markdown_table({'_run': dict(semantics='corrected', policy='greedy',
                                                  num_compositions=100000, seed=1),
                                     'note_rnn': entry, 'a|b': entry})
  assert 'Semantics: **corrected**, policy: **greedy**, 100,000 compositions' in table
  assert '| statistic | note_rnn | a\\|b | paper Note RNN |' in table
  assert '| leaps resolved | – | – | 77.2% |' in table
  assert '| notes in repeated motif | 0.007% | 0.007% |' in table
  assert '| mean log p(note) under the Note RNN (nats) | -1.250 | -1.250 |' in table


def _checkpointed_run(tmp_path, name, prior_dir, *, algorithm='q', seed=7):
  """A tuned run dir whose checkpoints/ hold a network as the trainer saves it."""
  import note_rnn
  import tensorflow as tf
  from rl_tuner.policy import layout
  from rl_tuner.rl import networks
  run_dir = _fake_run(tmp_path, name, algorithm=algorithm, num_notes=12,
                      note_rnn_checkpoint=prior_dir)
  policy = note_rnn.build((16,), seed=seed)
  network = networks.NoteRnnQNetwork(networks.observation_spec(False), (16,),
                                     initial_weights=policy.get_weights())
  tf.train.CheckpointManager(tf.train.Checkpoint(q_network=network),
                             os.path.join(run_dir, layout.CHECKPOINTS_DIR),
                             max_to_keep=2).save(checkpoint_number=1)
  return run_dir, policy


def test_tuned_runs_are_sampled_through_their_policy(tmp_path, tiny_note_rnn):
  import note_rnn
  from rl_tuner.evaluate import sampling
  q_dir, q_net = _checkpointed_run(tmp_path, 'q', tiny_note_rnn)
  g_dir, _ = _checkpointed_run(tmp_path, 'g', tiny_note_rnn, algorithm='g', seed=8)
  config = runs_lib.EvaluationConfig(
      output_dir=str(tmp_path / 'out'), run_dirs=[q_dir, g_dir], num_compositions=200,
      seed=3, save_compositions=True, batch_size=64)
  result = runs_lib.run_evaluation(config, log=lambda _: None)
  assert list(result) == ['_run', 'note_rnn', 'q', 'g']
  assert result['note_rnn']['num_notes'] == 12  # the runs' settings
  assert result['q']['algorithm'] == 'q' and result['g']['algorithm'] == 'g'
  with np.load(tmp_path / 'out' / 'compositions.npz', allow_pickle=False) as data:
    saved = {k: data[k] for k in data.files}
  assert sorted(saved) == ['g', 'g_events', 'note_rnn', 'note_rnn_events', 'q', 'q_events']
  # q's notes are its own network's samples; its mean log p is under the prior.
  priming, notes = sampling.generate_compositions(q_net, 200, num_notes=12, seed=3,
                                                    batch_size=64)
  np.testing.assert_array_equal(saved['q'], notes)
  prior = note_rnn.load(tiny_note_rnn)
  expected = sampling.score_log_p(prior, priming, notes).mean()
  assert result['q']['mean_log_p'] == pytest.approx(expected, abs=1e-5)
  assert result['g']['mean_log_p'] != result['q']['mean_log_p']
  # Issue 13's figures, from the same compositions.
  from rl_tuner.music import diversity
  q, base = result['q'], result['note_rnn']
  assert q['top_composition_share'] == diversity.top_composition_share(saved['q'])
  assert q['distinct_8grams'] == diversity.distinct_8grams(saved['q'])
  assert q['distinct_8grams_ratio'] == pytest.approx(
      q['distinct_8grams'] / diversity.distinct_8grams(saved['note_rnn']))
  events = {k: encoding.index_to_event(saved[k]) for k in ('q', 'note_rnn')}
  for name, array in events.items():  # basic models: the saved events are these
    np.testing.assert_array_equal(saved[name + '_events'], array)
  assert q['js_intervals'] == pytest.approx(
      diversity.js_intervals(events['q'], events['note_rnn']))
  assert base['js_note_lengths'] == 0.0 and base['distinct_8grams_ratio'] == 1.0
  # The Note RNN's KL to itself is exactly 0; q's entropy is that of its own softmax.
  assert base['kl_to_note_rnn_per_note'] == 0.0 and q['kl_to_note_rnn_per_note'] > 0
  _, _, _, own, _ = sampling.generate_compositions(
      q_net, 200, num_notes=12, seed=3, batch_size=64, return_log_p=True,
      return_distributions=True)
  assert q['entropy_per_note'] == pytest.approx(diversity.entropy_per_note(own), rel=1e-6)
  assert base['collapse_warnings'] == [] and isinstance(q['collapse_warnings'], list)


@pytest.mark.parametrize('flag, value', [
    ('seed', '-1'), ('num_compositions', '1000000000000'), ('num_compositions', '0'),
    ('batch_size', '0'), ('output_dir', '/etc/hostname'), ('key', 'H_major'),
])
def test_bad_flags_fail_naming_the_flag(python_exe, tmp_path, flag, value):
  args = ['--output_dir=' + str(tmp_path / 'o'), '--%s=%s' % (flag, value)]
  done = _run(python_exe, *args)
  assert done.returncode != 0
  assert '--' + flag in done.stderr.strip().splitlines()[-1]
  assert not (tmp_path / 'o').exists()
