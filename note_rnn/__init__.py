"""The Note RNN: a Keras LSTM over the 38-class melody encoding.

``note_rnn.load()`` returns the shipped default model; ``note_rnn.load(path)`` reads a run dir
of ours, a Magenta checkpoint or bundle, or the RL Tuner research checkpoint.

The names below load lazily (TensorFlow comes with them), so the command-line tools in
``note_rnn.cli`` can set up logging and answer ``--help`` before TensorFlow is imported.
"""

import importlib

_LAZY = {'NoteRnn': 'model', 'build': 'model', 'default_model_dir': 'loading', 'load': 'loading'}

__all__ = ['NoteRnn', 'build', 'default_model_dir', 'load']


def __getattr__(name):
  if name in _LAZY:
    return getattr(importlib.import_module('note_rnn.' + _LAZY[name]), name)
  raise AttributeError('module %r has no attribute %r' % (__name__, name))


def __dir__():
  return sorted(list(globals()) + list(_LAZY))
