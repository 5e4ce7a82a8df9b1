"""Third-party noise that is not the user's business, silenced once, where each starts.

Every tool calls `silence()` before TensorFlow, Beam or note-seq are imported (the `cli`
packages of pipelines, note_rnn and rl_tuner do it on import, so both `bin/<tool>` and the
installed console scripts get it). What is left on the console is the tools' own stage lines,
progress and real warnings; `--log=DEBUG` (pipelines) or `--verbosity=1` (absl) brings our
per-file lines back. Each silenced message is named below, so a new one is a deliberate edit.
"""

import contextlib
import io
import logging
import os
import warnings

# TF's C++ logs on import (oneDNN custom operations, the cuDNN/cuFFT/cuBLAS factory
# registrations, the TensorRT probe, CPU-feature notes): 3 keeps C++ FATAL only. Python-side
# TF errors still show.
TF_CPP_MIN_LOG_LEVEL = '3'

# pydub (imported by note-seq) warns on import when ffmpeg is absent; we never decode audio.
PYDUB_WARNING = "Couldn't find ffmpeg or avconv"
# The same for Beam's worker processes, which inherit the environment but not our filters.
WORKER_PYTHONWARNINGS = 'ignore::RuntimeWarning:pydub.utils'

# Python-logging records dropped by logger name: substrings of messages that describe the
# libraries' own state, never the user's data.
_DROPPED = {
    # Beam: on import (every process), BigQuery clients are not installed and not used; on
    # every pipeline, that the default runner is used.
    'root': ('apitools not found', 'Missing pipeline option (runner)'),
    # The Direct runner, when beam_common.make_pipeline runs its worker processes itself.
    'apache_beam.runners.portability.fn_api_runner.fn_runner': ('direct_running_mode',),
    # TF's SavedModel export logs its progress through absl (untraced functions, fingerprint).
    'absl': ('Found untraced functions', 'Writing fingerprint to', 'Assets written to'),
    # TF1-era deprecation notices (tf-agents' ReplayBuffer.get_next, the TF1 graph used to
    # write Magenta's checkpoint) and the V1-checkpoint-format box of tf.compat.v1 Saver.
    'tensorflow': ('is deprecated and will be removed', '`tf.nn.rnn_cell.',
                   "TensorFlow's V1 checkpoint format", '*******', 'Consider switching to the',
                   'tf.train.Saver(write_version', 'now on by default'),
}

# Beam worker-harness loggers that report the harness's own set-up (no session file to load,
# Direct-runner-only options the worker does not know) at WARNING; passed to the workers as
# the pipeline option sdk_harness_log_level_overrides.
BEAM_WORKER_LOG_OVERRIDES = {
    # "No semi_persistent_directory" (sdk_worker_main, run as __main__ by Beam's own command).
    '__main__': 'ERROR',
    'apache_beam.runners.worker.sdk_worker_main': 'ERROR',
    'apache_beam.options.pipeline_options': 'ERROR',  # "Discarding unparseable args"
}


class _DropKnownNoise(logging.Filter):

  def __init__(self, substrings):
    super().__init__()
    self._substrings = substrings

  def filter(self, record: logging.LogRecord) -> bool:
    try:
      message = record.getMessage()
    except Exception:  # pylint: disable=broad-except
      return True
    return not any(s in message for s in self._substrings)


_done = False


def silence() -> None:
  """Sets the environment and filters above (idempotent; user settings win)."""
  global _done
  if _done:
    return
  _done = True
  os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', TF_CPP_MIN_LOG_LEVEL)
  given = os.environ.get('PYTHONWARNINGS')
  if not given:
    os.environ['PYTHONWARNINGS'] = WORKER_PYTHONWARNINGS
  elif WORKER_PYTHONWARNINGS not in given:
    os.environ['PYTHONWARNINGS'] = given + ',' + WORKER_PYTHONWARNINGS
  warnings.filterwarnings('ignore', message=PYDUB_WARNING, category=RuntimeWarning)
  # The TF1 cells that build Magenta's generation graph (export_magenta_bundle) on purpose.
  warnings.filterwarnings('ignore', message='`tf.nn.rnn_cell.', category=UserWarning)
  for name, substrings in _DROPPED.items():
    logging.getLogger(None if name == 'root' else name).addFilter(_DropKnownNoise(substrings))
  # TF's Python INFO lines (SavedModel export: untraced functions, assets, fingerprint).
  logging.getLogger('tensorflow').setLevel(logging.WARNING)


def import_gym_quietly() -> None:
  """Imports gym with its unmaintained-notice banner (printed on import) swallowed.

  tf-agents imports gym; the banner asks to migrate to Gymnasium, which is tf-agents' call.
  """
  with contextlib.redirect_stderr(io.StringIO()):
    import gym  # noqa: F401
