"""The Note RNN: a Keras LSTM over melody events, in any of Magenta's melody_rnn configs.

``note_rnn.load()`` returns the shipped default model (a 1 x 100 basic_rnn);
``note_rnn.load(path)`` reads a run dir of ours, a Magenta checkpoint, run dir or bundle of
basic_rnn, mono_rnn, lookback_rnn or attention_rnn, or the RL Tuner research checkpoint.
``note_rnn.build(layer_sizes, config=...)`` makes a fresh one.

The names below load lazily (TensorFlow comes with them), so the command-line tools in
``note_rnn.cli`` can set up logging and answer ``--help`` before TensorFlow is imported.
"""

import importlib

_LAZY = {'NoteRnn': 'model', 'build': 'model', 'lstm_stack_step': 'model',
         'default_model_dir': 'loading', 'load': 'loading'}

__all__ = ['NoteRnn', 'build', 'default_model_dir', 'load', 'lstm_stack_step']


def __getattr__(name):
  if name in _LAZY:
    return getattr(importlib.import_module('note_rnn.' + _LAZY[name]), name)
  raise AttributeError('module %r has no attribute %r' % (__name__, name))


def __dir__():
  return sorted(list(globals()) + list(_LAZY))
