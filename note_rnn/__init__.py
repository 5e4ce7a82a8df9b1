"""The Note RNN: a Keras LSTM over melody events, in any of Magenta's melody_rnn configs.

``note_rnn.load()`` returns the shipped default model (a 1 x 100 basic_rnn);
``note_rnn.load(path)`` reads a run dir of ours, a Magenta checkpoint, run dir or bundle of
basic_rnn, mono_rnn, lookback_rnn or attention_rnn, or the RL Tuner research checkpoint.
``note_rnn.build(layer_sizes, config=...)`` makes a fresh one.
"""

from note_rnn.loading import default_model_dir
from note_rnn.loading import load
from note_rnn.model import build
from note_rnn.model import lstm_stack_step
from note_rnn.model import NoteRnn

__all__ = ['NoteRnn', 'build', 'default_model_dir', 'load', 'lstm_stack_step']
