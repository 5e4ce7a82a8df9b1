"""The Note RNN: a Keras LSTM over the 38-class melody encoding.

``note_rnn.load()`` returns the shipped default model; ``note_rnn.load(path)`` reads a run dir
of ours, a Magenta checkpoint or bundle, or the RL Tuner research checkpoint.
"""

from note_rnn.loading import default_model_dir
from note_rnn.loading import load
from note_rnn.model import build
from note_rnn.model import NoteRnn

__all__ = ['NoteRnn', 'build', 'default_model_dir', 'load']
