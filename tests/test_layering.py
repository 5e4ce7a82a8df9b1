"""Imports point one way, between stages and between the sub-packages of `rl_tuner`.

Stages: bin -> rl_tuner -> note_rnn -> pipelines; no package imports bin, bench or tests.
Within rl_tuner (bottom first): music, policy, evaluate, rl, report, then the top level
(config, errors, demo, facade/, cli/). Each imports only those below it; the trainer (rl) may
call evaluation for its final metrics.json, evaluation never imports the trainer.
"""

import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
ORDER = ['pipelines', 'note_rnn', 'rl_tuner']
RL_TUNER_ORDER = ['music', 'policy', 'evaluate', 'rl', 'report']
# Top-level modules of rl_tuner that the sub-packages may use: the config dataclass and
# errors are data every layer shares.
RL_TUNER_SHARED = {'config', 'errors'}


def _imports(path):
  tree = ast.parse(path.read_text(), filename=str(path))
  for node in ast.walk(tree):
    if isinstance(node, ast.Import):
      for alias in node.names:
        yield alias.name
    elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
      if node.module == 'rl_tuner':
        for alias in node.names:
          yield 'rl_tuner.' + alias.name
      else:
        yield node.module


@pytest.mark.parametrize('package', ORDER)
def test_imports_point_down(package):
  allowed = set(ORDER[:ORDER.index(package) + 1])
  forbidden = (set(ORDER) - allowed) | {'bin', 'bench', 'tests'}
  bad = []
  for path in (ROOT / package).rglob('*.py'):
    for name in _imports(path):
      if name.split('.')[0] in forbidden:
        bad.append('%s imports %s' % (path.relative_to(ROOT), name))
  assert not bad, bad


@pytest.mark.parametrize('sub_package', RL_TUNER_ORDER)
def test_rl_tuner_sub_packages_point_down(sub_package):
  allowed = set(RL_TUNER_ORDER[:RL_TUNER_ORDER.index(sub_package) + 1]) | RL_TUNER_SHARED
  bad = []
  for path in (ROOT / 'rl_tuner' / sub_package).rglob('*.py'):
    for name in _imports(path):
      parts = name.split('.')
      if parts[0] == 'rl_tuner' and (len(parts) == 1 or parts[1] not in allowed):
        bad.append('%s imports %s' % (path.relative_to(ROOT), name))
  assert not bad, bad


def test_every_rl_tuner_module_has_a_room():
  loose = sorted(p.name for p in (ROOT / 'rl_tuner').glob('*.py')
                 if p.stem not in {'__init__', 'config', 'errors', 'facade', 'demo'})
  assert not loose, 'modules outside a sub-package: %s' % loose
