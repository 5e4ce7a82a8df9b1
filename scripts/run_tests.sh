#!/usr/bin/env bash
# The README's test command: the linter, then the test suite, in .venv. pytest's exit code 5
# ("no tests collected") counts as success only when a marker expression deselected everything
# on purpose. Arguments go to pytest.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export TF_CPP_MIN_LOG_LEVEL=3 PYTHONDONTWRITEBYTECODE=1
if [ -z "${RL_TUNER_SKIP_LINT:-}" ]; then
  .venv/bin/ruff check --quiet . || { echo "run_tests: ruff found lint errors (above)" >&2; exit 1; }
fi
.venv/bin/python -m pytest -q -p no:cacheprovider "$@"
rc=$?
if [ "$rc" = 5 ]; then echo "run_tests: no tests were collected" >&2; exit 0; fi
exit "$rc"
