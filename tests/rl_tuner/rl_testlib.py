"""Shared by the RL Tuner's resume tests: start a training command and kill -9 it mid-run."""

import os
import signal
import subprocess
import time


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
