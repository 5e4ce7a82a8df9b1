"""attention_rnn as a Note RNN: Magenta's attention LSTM stack, then the output layer.

``AttentionNoteRnn`` is a ``NoteRnn`` whose recurrent part is ``attention_cell.
AttentionLstmStack`` (Magenta's ``AttentionCellWrapper`` around the first LSTM, plain LSTMs
above, weights in the TF1 layout) and whose inputs are attention_rnn's 74 key-aware features
(``features.KeyEncoder``). Everything else (``step_classes``, ``initial_state`` /
``state_spec``, ``logits``, ``get_weights`` / ``set_weights``, ``save``, the class <-> event
functions) behaves as for the other configs; the cell state is the stack's
``AttentionState`` (per layer ``(h, c)``, the last attention read and the window of the last
``attn_length`` outputs).

There are no Keras ``LSTMCell``s here, so ``lstm_cells`` is refused; ``stack`` holds the
variables. Training applies Magenta's dropout to the last layer's output only (the stack's
own step has no dropout between its layers).
"""

from typing import Optional, Sequence

import tensorflow as tf

from note_rnn import attention_cell
from note_rnn import model as model_lib


class AttentionNoteRnn(model_lib.NoteRnn):
  """attention_rnn: ``stack`` (AttentionLstmStack) and ``dense`` (the output layer)."""

  def __init__(self, layer_sizes: Sequence[int] = (128, 128), *,
               attn_length: Optional[int] = None, seed: Optional[int] = None,
               stack: Optional[attention_cell.AttentionLstmStack] = None,
               name: str = 'note_rnn'):
    self._attn_length = int(attn_length or attention_cell.DEFAULT_ATTN_LENGTH)
    self._stack_arg = stack
    super().__init__(layer_sizes, config='attention_rnn', seed=seed, name=name)

  def _build_recurrent(self, seed) -> None:
    stack = self._stack_arg
    del self._stack_arg
    if stack is None:
      stack = attention_cell.AttentionLstmStack(self.input_size, self.layer_sizes,
                                                self._attn_length, seed=seed)
    if (stack.input_size != self.input_size or stack.layer_sizes != self.layer_sizes
        or stack.attn_length != self._attn_length):
      raise ValueError('attention stack (%d inputs, layers %s, attn_length %d) does not fit '
                       'attention_rnn with layers %s and attn_length %d' % (
                           stack.input_size, list(stack.layer_sizes), stack.attn_length,
                           list(self.layer_sizes), self._attn_length))
    self.stack = stack

  @property
  def attn_length(self) -> int:
    return self._attn_length

  @property
  def lstm_cells(self):
    raise AttributeError('attention_rnn keeps its LSTMs inside .stack (TF1 layout); '
                         'lstm_cells exists for the LSTM-only configs')

  def initial_cell_state(self, batch_size):
    return self.stack.initial_state(batch_size)

  def cell_state_spec(self):
    return self.stack.state_spec()

  def step(self, inputs, state):
    """One encoded input [B, 74] and an ``AttentionState`` -> (logits, new state)."""
    output, state = self.stack.step(inputs, state)
    return tf.nn.bias_add(tf.matmul(output, self.dense.kernel), self.dense.bias), state

  def logits_and_state(self, inputs, state=None, *, training=False,
                       dropout_rate: float = 0.0):
    outputs, final = self.stack.run(inputs, state)
    if training and dropout_rate > 0:
      outputs = tf.nn.dropout(outputs, rate=dropout_rate)
    return self.dense(outputs), final

  @property
  def weight_variables(self) -> list:
    """The stack's variables (its ``get_weights`` order), then [dense kernel, dense bias]."""
    return self.stack.weight_variables + [self.dense.kernel, self.dense.bias]

  def config_dict(self) -> dict:
    out = super().config_dict()
    out['attn_length'] = self._attn_length
    return out
