"""Every tool runs as the README shows it: as `bin/<tool>` from a checkout and as a console script.

The tools are discovered from bin/ (every file not starting with `_`), so a tool added later
is covered without editing this file. Each must be a thin wrapper calling
`<package>.cli.<module>.run()`, have a `[project.scripts]` entry of the same name (`demo` is
`rl_tuner_demo`) pointing at the same `run`, and answer `--helpfull` both ways:
  * the installed console script of the running venv (`make setup` installs them), and
  * the bin/ wrapper started by its `#!/usr/bin/env python3` line with a PATH that finds the
    system Python, which has none of our dependencies: it only works because
    bin/_bootstrap.py re-executes on the checkout's .venv.
"""

import ast
import os
import pathlib
import shutil
import subprocess
import sys
import sysconfig
import tomllib

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
BIN = ROOT / 'bin'
# bin/ names that would be too generic as installed commands.
SCRIPT_NAMES = {'demo': 'rl_tuner_demo'}
TOOLS = sorted(p.name for p in BIN.iterdir() if p.is_file() and not p.name.startswith('_'))


def _console_scripts():
  with open(ROOT / 'pyproject.toml', 'rb') as f:
    return tomllib.load(f)['project']['scripts']


def _wrapper_target(path: pathlib.Path) -> str:
  """'package.cli.module:run' from `from package.cli import module` + `module.run()`."""
  tree = ast.parse(path.read_text())
  imports = {alias.asname or alias.name: '%s.%s' % (node.module, alias.name)
             for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
             for alias in node.names}
  calls = [node.func for node in ast.walk(tree)
           if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
           and isinstance(node.func.value, ast.Name)]
  assert len(calls) == 1, '%s should make exactly one call, <module>.run()' % path.name
  return '%s:%s' % (imports[calls[0].value.id], calls[0].attr)


def _no_venv_env():
  """The environment with the venv's bin/ off PATH, so `env python3` is the system one."""
  venv_bins = {os.path.realpath(os.path.join(p, 'bin')) for p in (sys.prefix, ROOT / '.venv')}
  path = [p for p in os.environ.get('PATH', '').split(os.pathsep)
          if p and os.path.realpath(p) not in venv_bins]
  env = {k: v for k, v in os.environ.items()
         if k not in ('VIRTUAL_ENV', 'PYTHONPATH', 'PYTHONHOME')}
  env['PATH'] = os.pathsep.join(path or ['/usr/bin', '/bin'])
  return env


def _assert_helpfull(done, tool):
  # absl prints the help and exits with status 1 (a crash would be another status or no help).
  assert done.returncode in (0, 1), '%s --helpfull failed:\n%s' % (tool, done.stderr[-2000:])
  assert '--[no]helpfull' in done.stdout and 'absl.flags' in done.stdout, (
      done.stdout[-1000:] + done.stderr[-2000:])
  assert 'Traceback' not in done.stderr, done.stderr[-2000:]


def test_tools_are_discovered():
  assert {'demo', 'train_rl_tuner', 'build_corpus', 'make_report'} <= set(TOOLS)


@pytest.mark.parametrize('tool', TOOLS)
def test_wrapper_is_thin_and_matches_its_console_script(tool):
  path = BIN / tool
  text = path.read_text()
  assert text.startswith('#!/usr/bin/env python3\n'), tool
  assert 'import _bootstrap' in text, '%s must import _bootstrap first' % tool
  assert os.access(path, os.X_OK), '%s is not executable' % tool
  code = [line for line in text.splitlines()
          if line.strip() and not line.startswith(('#', '"""')) and '"""' not in line]
  assert len(code) <= 8, '%s is not a thin wrapper: %s' % (tool, code)
  target = _wrapper_target(path)
  assert '.cli.' in target, '%s: the tool\'s main belongs in <package>/cli/' % tool
  scripts = _console_scripts()
  name = SCRIPT_NAMES.get(tool, tool)
  assert scripts.get(name) == target, (
      'pyproject.toml [project.scripts] needs %s = "%s"' % (name, target))


def test_every_console_script_has_a_wrapper():
  expected = {SCRIPT_NAMES.get(t, t) for t in TOOLS}
  assert set(_console_scripts()) == expected


@pytest.mark.parametrize('tool', TOOLS)
def test_installed_console_script_answers_helpfull(tool):
  name = SCRIPT_NAMES.get(tool, tool)
  script = os.path.join(sysconfig.get_path('scripts'), name)
  assert os.path.isfile(script), (
      '%s is not installed in %s: pyproject.toml changed since the venv was set up; run '
      '`make setup` (or pip install -e .)' % (name, sys.prefix))
  done = subprocess.run([script, '--helpfull'], capture_output=True, text=True, timeout=300,
                        cwd=str(ROOT))
  _assert_helpfull(done, name)


@pytest.mark.parametrize('tool', TOOLS)
def test_wrapper_runs_from_the_system_python(tool):
  env = _no_venv_env()
  system_python = shutil.which('python3', path=env['PATH'])
  if system_python is None:
    pytest.skip('no python3 on PATH outside the venv')
  if not (ROOT / '.venv' / 'bin' / 'python').exists():
    pytest.skip('the checkout has no .venv (make setup creates it)')
  done = subprocess.run([str(BIN / tool), '--helpfull'], capture_output=True, text=True,
                        timeout=300, cwd='/', env=env)
  _assert_helpfull(done, tool)
