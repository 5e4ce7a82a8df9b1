"""Shared by the RL Tuner's tests: kill -9 a training command mid-run, run a tool, check a run."""

import json
import os
import signal
import subprocess
import time

import numpy as np

import note_rnn
from rl_tuner.evaluate import sampling
from rl_tuner.policy import encodings
from rl_tuner.policy import step_models


def kill_after_new_checkpoints(command, checkpoint_dir, env, *, times: int = 2,
                               timeout: float = 300) -> int:
  """Starts `command` `times` times, each killed with SIGKILL once it writes a new checkpoint.

  Returns how many runs were killed (a run that finished first is not counted).
  """
  kills = 0
  for _ in range(times):
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env=env)
    before = set(os.listdir(checkpoint_dir)) if checkpoint_dir.exists() else set()
    deadline = time.time() + timeout
    while time.time() < deadline and proc.poll() is None:
      now = set(os.listdir(checkpoint_dir)) if checkpoint_dir.exists() else set()
      if any(n.endswith('.index') for n in now - before):
        break
      time.sleep(0.2)
    if proc.poll() is None:
      os.kill(proc.pid, signal.SIGKILL)
      kills += 1
    proc.wait()
  return kills


REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run_tool(tool, *args):
  """Runs bin/<tool> from the checkout's venv in the repo; asserts exit 0, returns the result."""
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3', PYTHONPATH=REPO)
  done = subprocess.run([os.path.join(REPO, '.venv', 'bin', 'python'),
                         os.path.join(REPO, 'bin', tool)] + list(args),
                        capture_output=True, text=True, timeout=600, env=env, cwd=REPO)
  assert done.returncode == 0, done.stderr[-3000:]
  return done


def check_tuned_run(run_dir, model_dir, config):
  """A finished run of any config: its policy rebuilds as that config with moved weights, its
  metrics and compositions exist, and it samples classes that decode to melody events.

  Returns:
    (the rebuilt policy, the prior loaded from ``model_dir``).
  """
  prior = note_rnn.load(model_dir)
  policy = step_models.load_policy(run_dir)
  assert policy.num_classes == prior.num_classes and policy.config_name == config
  tuned = policy.network.get_weights()
  assert any(not np.array_equal(a, b) for a, b in zip(tuned, prior.get_weights()))
  with open(os.path.join(run_dir, 'metrics.json')) as f:
    entry = json.load(f)[os.path.basename(run_dir)]
  assert 0 <= entry['notes_not_in_key'] <= 1 and np.isfinite(entry['mean_log_p'])
  assert os.listdir(os.path.join(run_dir, 'compositions'))
  priming, notes = sampling.generate_compositions(policy, 5, num_notes=16, seed=2)
  assert notes.max() < prior.num_classes
  events = encodings.composition_events(policy, priming, notes)
  assert events.min() >= -2 and events.max() <= 127
  return policy, prior
