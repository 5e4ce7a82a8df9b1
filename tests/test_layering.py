"""Imports point one way: bin -> rl_tuner -> note_rnn -> pipelines; no package imports bin."""

import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
ORDER = ['pipelines', 'note_rnn', 'rl_tuner']


def _imported_top_levels(path):
  tree = ast.parse(path.read_text(), filename=str(path))
  for node in ast.walk(tree):
    if isinstance(node, ast.Import):
      for alias in node.names:
        yield alias.name.split('.')[0]
    elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
      yield node.module.split('.')[0]


@pytest.mark.parametrize('package', ORDER)
def test_imports_point_down(package):
  allowed = set(ORDER[:ORDER.index(package) + 1])
  forbidden = (set(ORDER) - allowed) | {'bin', 'bench', 'tests'}
  bad = []
  for path in (ROOT / package).rglob('*.py'):
    for name in _imported_top_levels(path):
      if name in forbidden:
        bad.append('%s imports %s' % (path.relative_to(ROOT), name))
  assert not bad, bad
