"""The time-to-quality bench's baseline runs on OUR Note RNN weights.

`bench/time_to_quality.py --baseline` exports our Note RNN in the layout the
original RL Tuner's `NoteRNNLoader` restores. This checks, with Magenta's own
loader in `.venv-baseline`, that both implementations then give the same
logits for the same input (gate order, forget bias and state layout included).
"""

import json
import os
import pathlib
import subprocess

import numpy as np
import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
BASELINE_PYTHON = REPO / '.venv-baseline' / 'bin' / 'python'

# Runs in .venv-baseline: restores the exported checkpoint with Magenta's
# NoteRNNLoader (as RLTuner does for its three networks) and prints the logits.
_MAGENTA_LOGITS = r'''
import json, sys
sys.path.insert(0, sys.argv[1])
import numpy as np
import tensorflow.compat.v1 as tf
tf.disable_v2_behavior()
from magenta.models.rl_tuner import note_rnn_loader
events = json.loads(sys.argv[3])
graph = tf.Graph()
loader = note_rnn_loader.NoteRNNLoader(graph, scope='q_network', checkpoint_dir=sys.argv[2])
with graph.as_default():
  session = tf.Session(graph=graph)
loader.initialize_and_restore(session)
inputs = np.eye(38, dtype=np.float32)[events][None]
logits = session.run(loader.logits, {
    loader.melody_sequence: inputs, loader.lengths: [len(events)],
    loader.initial_state: loader.get_zero_state()})
print(json.dumps(np.asarray(logits).tolist()))
'''


@pytest.fixture(scope='module')
def baseline_python(shared_dir):
  """.venv-baseline (created with the kit's idempotent setup.sh when missing)."""
  if not BASELINE_PYTHON.exists():
    setup = shared_dir / 'baseline' / 'setup.sh'
    result = subprocess.run(['bash', str(setup), '.venv-baseline'], cwd=REPO,
                            capture_output=True, text=True, check=False)
    if result.returncode != 0 or not BASELINE_PYTHON.exists():
      pytest.skip('could not create .venv-baseline: %s' % result.stderr[-500:])
  return str(BASELINE_PYTHON)


@pytest.mark.baseline
def test_exported_note_rnn_gives_the_same_logits_in_magenta(tmp_path, shared_dir,
                                                            baseline_python):
  import note_rnn
  from note_rnn import magenta_checkpoint
  from pipelines import encoding

  model = note_rnn.load(str(shared_dir / 'data' / 'checkpoints' / 'rl_tuner_research'
                            / 'model.ckpt-1994'))
  prefix = magenta_checkpoint.export_rl_tuner_checkpoint(
      model, str(tmp_path / 'export' / 'model.ckpt'))
  # Pitches, holds (0) and note-offs (1), long enough for the state to matter.
  events = [14, 0, 0, 1, 16, 18, 0, 19, 21, 1, 23, 37, 2, 0, 14, 1] * 2
  inputs = encoding.one_hot(np.asarray(events))[None].astype(np.float32)
  ours = model.logits(inputs).numpy()[0]

  result = subprocess.run(
      [baseline_python, '-c', _MAGENTA_LOGITS,
       str(shared_dir / 'baseline' / 'magenta_rl_tuner'), os.path.dirname(prefix),
       json.dumps(events)],
      capture_output=True, text=True, check=False, cwd=REPO,
      env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3'))
  assert result.returncode == 0, result.stderr[-3000:]
  theirs = np.asarray(json.loads(result.stdout.strip().splitlines()[-1]), np.float32)

  assert theirs.shape == ours.shape == (len(events), encoding.NUM_CLASSES)
  np.testing.assert_allclose(theirs, ours, atol=2e-4, rtol=1e-4)
  # Not trivially equal: the logits vary over time and across classes.
  assert np.ptp(ours[:, 14]) > 0.1 and np.ptp(ours[5]) > 1.0
