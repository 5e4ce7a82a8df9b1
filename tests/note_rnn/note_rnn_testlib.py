"""Helpers shared by the note_rnn tests: a numpy LSTM from the spec, the baseline venv."""

import os
import pathlib
import subprocess

import numpy as np
import pytest
import tensorflow as tf

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
BASELINE_PYTHON = REPO_ROOT / '.venv-baseline' / 'bin' / 'python'


def sigmoid(x):
  return 1.0 / (1.0 + np.exp(-x))


def numpy_tf1_lstm_logits(kernels, biases, dense_w, dense_b, inputs, forget_bias=1.0):
  """The TF1 LSTM (gate order i, j, f, o; forget bias 1.0 at run time), straight from the raw checkpoint arrays.

  gates = [x, h] . kernel + bias, split (i, j, f, o);
  c = c * sigmoid(f + forget_bias) + sigmoid(i) * tanh(j); h = tanh(c) * sigmoid(o).

  Args:
    kernels, biases: per layer, TF1 layout [in + u, 4u] and [4u].
    dense_w, dense_b: [u_last, C], [C].
    inputs: [B, T, C].

  Returns:
    (logits [B, T, C] float64, final state as a list of (c, h) per layer).
  """
  x = np.asarray(inputs, np.float64)
  batch, steps, _ = x.shape
  state = [(np.zeros((batch, k.shape[1] // 4)), np.zeros((batch, k.shape[1] // 4)))
           for k in kernels]
  out = []
  for t in range(steps):
    layer_in = x[:, t]
    for n, (kernel, bias) in enumerate(zip(kernels, biases)):
      c, h = state[n]
      gates = np.concatenate([layer_in, h], axis=1) @ kernel.astype(np.float64) + bias
      i, j, f, o = np.split(gates, 4, axis=1)
      c = c * sigmoid(f + forget_bias) + sigmoid(i) * np.tanh(j)
      h = np.tanh(c) * sigmoid(o)
      state[n] = (c, h)
      layer_in = h
    out.append(layer_in @ dense_w + dense_b)
  return np.stack(out, axis=1), state


def read_sequence_examples(path):
  """[(inputs [T, 38] float32, labels [T] int64)] of a SequenceExample TFRecord."""
  spec = {'inputs': tf.io.FixedLenSequenceFeature([38], tf.float32),
          'labels': tf.io.FixedLenSequenceFeature([], tf.int64)}
  out = []
  for record in tf.data.TFRecordDataset(str(path)):
    _, seq = tf.io.parse_single_sequence_example(record, sequence_features=spec)
    out.append((seq['inputs'].numpy(), seq['labels'].numpy()))
  return out


def baseline_python(shared_dir) -> str:
  """.venv-baseline's python, creating the venv with the kit's setup.sh when it is missing."""
  if not BASELINE_PYTHON.exists():
    setup = pathlib.Path(shared_dir) / 'baseline' / 'setup.sh'
    if not setup.exists():
      pytest.skip('no .venv-baseline and no %s to create it' % setup)
    proc = subprocess.run(['bash', str(setup), '.venv-baseline'], cwd=str(REPO_ROOT),
                          capture_output=True, text=True, timeout=1800)
    if proc.returncode != 0 or not BASELINE_PYTHON.exists():
      pytest.skip('could not create .venv-baseline: %s' % proc.stderr[-2000:])
  return str(BASELINE_PYTHON)


def quiet_env():
  env = dict(os.environ)
  env['TF_CPP_MIN_LOG_LEVEL'] = '3'
  env['CUDA_VISIBLE_DEVICES'] = ''
  return env
