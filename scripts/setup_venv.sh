#!/usr/bin/env bash
# Creates .venv (if missing) with the pinned stack and installs this project into it.
# Idempotent: a second run only checks a stamp of constraints.txt + pyproject.toml.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON="${PYTHON:-$(command -v python3.11 || command -v python3)}"
stamp=.venv/.rl-tuner-stamp
want="$(cat constraints.txt pyproject.toml | sha256sum | cut -d' ' -f1)"
if [ -x .venv/bin/python ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
if [ ! -x .venv/bin/python ]; then
  echo "setup_venv: creating .venv with $("$PYTHON" --version) ..."
  "$PYTHON" -m venv .venv
fi
export PIP_DISABLE_PIP_VERSION_CHECK=1
echo "setup_venv: installing the pinned stack (TensorFlow, tf-agents, Apache Beam, note-seq," \
     "music21; constraints.txt) and this project into .venv: about 3 GB, ~2 min on a fast" \
     "connection (a rerun with nothing changed is instant) ..."
start=$SECONDS
.venv/bin/python -m pip install --quiet -c constraints.txt -e ".[test]"
echo "$want" > "$stamp"
echo "setup_venv: .venv ready ($(.venv/bin/python --version), $((SECONDS - start)) s," \
     "$(du -sh .venv 2>/dev/null | cut -f1)); the tools are in bin/ and .venv/bin/"
