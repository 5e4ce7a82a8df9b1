"""Where `RLTuner.save_model` copies a run and `restore_from_directory` finds one."""

import glob
import os
import re
import shutil
from typing import Optional

from rl_tuner.policy import layout

SAVED_MODEL_PATTERN = re.compile(r'^(?P<name>.+)-(?P<step>\d+)$')


def next_file_name(directory: str, name: str, extension: str) -> str:
  """`<dir>/<name>.<ext>`, else `<name>1.<ext>`, ... (Magenta's get_next_file_name)."""
  path = os.path.join(directory, '%s.%s' % (name, extension))
  i = 0
  while os.path.exists(path):
    i += 1
    path = os.path.join(directory, '%s%d.%s' % (name, i, extension))
  return path


def latest_saved_run(directory: str) -> Optional[str]:
  """The directory itself if it is a run dir, else its `<name>-<steps>` with most steps."""
  if is_run_dir(directory):
    return directory
  best, best_step = None, -1
  for path in glob.glob(os.path.join(directory, '*-*')):
    match = SAVED_MODEL_PATTERN.match(os.path.basename(path))
    if match and is_run_dir(path):
      step = int(match.group('step'))
      if step > best_step or (step == best_step and os.path.getmtime(path) >
                              os.path.getmtime(best)):
        best, best_step = path, step
  return best


def is_run_dir(path: str) -> bool:
  """A tuned run (or a save_model copy of one): config.json and its checkpoints."""
  return (os.path.isfile(os.path.join(path, layout.CONFIG_FILE))
          and os.path.isdir(os.path.join(path, layout.CHECKPOINTS_DIR)))


def copy_run(run_dir: str, target: str) -> None:
  """Copies what restoring needs (config, policy, checkpoints, Note RNN export) to `target`,
  replacing it only once the copy is complete."""
  tmp = target + '.tmp'
  shutil.rmtree(tmp, ignore_errors=True)
  os.makedirs(tmp)
  for entry in (layout.CONFIG_FILE, layout.POLICY_DIR, layout.CHECKPOINTS_DIR,
                layout.NOTE_RNN_EXPORT_DIR):
    src = os.path.join(run_dir, entry)
    if os.path.isdir(src):
      shutil.copytree(src, os.path.join(tmp, entry))
    elif os.path.isfile(src):
      shutil.copy2(src, os.path.join(tmp, entry))
  shutil.rmtree(target, ignore_errors=True)
  os.replace(tmp, target)


def adopt_run(run_dir: str, output_dir: str) -> None:
  """Makes `run_dir`'s checkpoints, config and policy `output_dir`'s own, so training there
  continues from the restored model."""
  own = os.path.join(output_dir, layout.CHECKPOINTS_DIR)
  shutil.rmtree(own, ignore_errors=True)
  if os.path.isdir(os.path.join(run_dir, layout.CHECKPOINTS_DIR)):
    shutil.copytree(os.path.join(run_dir, layout.CHECKPOINTS_DIR), own)
  for entry in (layout.CONFIG_FILE, layout.POLICY_DIR):
    dst = os.path.join(output_dir, entry)
    if os.path.isdir(dst):
      shutil.rmtree(dst)
    src = os.path.join(run_dir, entry)
    if os.path.lexists(src):
      (shutil.copytree if os.path.isdir(src) else shutil.copy2)(src, dst)
