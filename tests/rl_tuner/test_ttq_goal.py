"""bench/ttq_goal.py: which criterion passed last, on hand-made check records."""

import importlib.util
import os

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _load(name):
  spec = importlib.util.spec_from_file_location(name, os.path.join(REPO, 'bench', name + '.py'))
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


ttq_goal = _load('ttq_goal')
quality_bar = _load('quality_bar')
KEYS = ['notes_in_motif', 'starts_with_tonic', 'js_note_lengths']


def _checks(failed_per_check):
  return [{'check': i, 'steps': 8192 * i, 'train_seconds': 2.0 * i,
           'train_cpu_seconds': 1.0 * i, 'eval_seconds': 0.5, 'failed': failed,
           'passed': not failed, 'figures': {}}
          for i, failed in enumerate(failed_per_check)]


def test_last_to_pass_and_held_from():
  checks = _checks([KEYS, ['starts_with_tonic'], [], ['starts_with_tonic'],
                    ['starts_with_tonic', 'js_note_lengths'], [], [], ['notes_in_motif']])
  run = ttq_goal.summarise('q_fast', checks, KEYS, quality_bar, extra={'seed': 1})
  assert run['reached'] and run['steps_to_quality'] == 5 * 8192
  assert run['time_to_quality_s'] == 10.0 and run['time_to_quality_cpu_s'] == 5.0
  assert run['last_to_pass'] == ['starts_with_tonic', 'js_note_lengths']
  # Motif passed from check 1 on (the failure after the two passing checks does not count).
  assert run['held_from_steps'] == {'notes_in_motif': 8192, 'starts_with_tonic': 5 * 8192,
                                    'js_note_lengths': 5 * 8192}
  assert [c['check'] for c in run['passing_checks']] == [5, 6]
  assert run['steps_total'] == 7 * 8192 and run['eval_seconds_total'] == 4.0


def test_met_from_the_first_check_and_never_met():
  run = ttq_goal.summarise('x', _checks([[], []]), KEYS, quality_bar, extra={})
  assert run['last_to_pass'] == [] and set(run['held_from_steps'].values()) == {0}
  run = ttq_goal.summarise('x', _checks([KEYS, ['notes_in_motif'], [], ['js_intervals']]),
                           KEYS, quality_bar, extra={})
  assert not run['reached'] and run['closest_check']['check'] == 2
  assert 'last_to_pass' not in run
