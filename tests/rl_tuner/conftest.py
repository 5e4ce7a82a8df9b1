"""Fixtures of the RL Tuner tests."""

import pytest

import note_rnn


@pytest.fixture(scope='module')
def tiny_note_rnn(tmp_path_factory):
  """A random one-layer 8-unit basic Note RNN run dir: every RL tool accepts it, in seconds."""
  path = str(tmp_path_factory.mktemp('note_rnn') / 'tiny')
  note_rnn.build((8,), seed=0).save(path)
  return path
