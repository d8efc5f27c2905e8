#!/usr/bin/env bash
# Create (or refresh) .venv with Python 3.12 and install vs-fmanet with its extras.
# Usage: scripts/setup_env.sh [extras]   (default extras: dev,farm,data)
# Idempotent: a stamp file records the hash of pyproject.toml; reinstall only when it changes.
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-dev,farm,data}"

find_python312() {
  if [ -n "${PYTHON312:-}" ] && "$PYTHON312" -c 'import sys; assert sys.version_info[:2]==(3,12)' 2>/dev/null; then
    echo "$PYTHON312"; return 0; fi
  if command -v python3.12 >/dev/null 2>&1 && python3.12 -c 'import sys' >/dev/null 2>&1; then
    command -v python3.12; return 0; fi
  local root
  for root in "${PYENV_ROOT:-}" "$HOME/.pyenv" /root/.pyenv /opt/pyenv; do
    [ -n "$root" ] || continue
    for cand in "$root"/versions/3.12*/bin/python3.12; do
      [ -x "$cand" ] && { echo "$cand"; return 0; }
    done
  done
  return 1
}

if [ ! -x .venv/bin/python ]; then
  if ! py=$(find_python312); then
    echo "setup: Python 3.12 not found. Install it (e.g. 'pyenv install 3.12' or your distribution's python3.12)" >&2
    echo "       or point PYTHON312=/path/to/python3.12 at it, then run this again." >&2
    exit 1
  fi
  echo "setup: creating .venv with $py" >&2
  "$py" -m venv .venv
fi

stamp=".venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)-${extras//,/_}"
if [ ! -f "$stamp" ]; then
  .venv/bin/python -m pip install -q --upgrade pip >&2
  .venv/bin/python -m pip install -q -e ".[${extras}]" >&2
  rm -f .venv/.installed-*
  touch "$stamp"
fi
# vspipe needs VapourSynth to know this Python (writes the user's vapoursynth.toml).
if [ -x .venv/bin/vapoursynth ] && ! .venv/bin/vspipe --version >/dev/null 2>&1; then
  .venv/bin/vapoursynth config >&2 || true
fi
