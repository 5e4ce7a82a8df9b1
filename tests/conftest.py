"""Shared test fixtures: the ../shared data folder, absl flags parsed once, quiet TF."""

import os
import pathlib
import sys

import pytest

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')

REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent
SHARED_DIR = pathlib.Path(os.environ.get('RL_TUNER_SHARED_DIR', REPO_ROOT.parent / 'shared'))
SHARED_DATA = SHARED_DIR / 'data'
BIN_DIR = REPO_ROOT / 'bin'


def _parse_absl_flags_once():
  from absl import flags
  if not flags.FLAGS.is_parsed():
    flags.FLAGS.mark_as_parsed()


_parse_absl_flags_once()


@pytest.fixture(scope='session')
def shared_data() -> pathlib.Path:
  """../shared/data, or a skip when this clone has none (a user's machine)."""
  if not SHARED_DATA.is_dir():
    pytest.skip('../shared/data is absent (only CI and developer machines have it)')
  return SHARED_DATA


@pytest.fixture(scope='session')
def shared_dir() -> pathlib.Path:
  if not SHARED_DIR.is_dir():
    pytest.skip('../shared is absent (only CI and developer machines have it)')
  return SHARED_DIR


@pytest.fixture(scope='session')
def python_exe() -> str:
  return sys.executable
