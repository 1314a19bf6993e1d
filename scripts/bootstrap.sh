#!/usr/bin/env bash
# Create .venv (Python 3.11) and install the project with the given extras, once per
# change of pyproject.toml. Safe to run any number of times.
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-}"
py="${PYTHON:-}"
if [ -z "$py" ]; then
  for cand in python3.11 python3 python; do
    if command -v "$cand" >/dev/null 2>&1 && "$cand" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
      py="$cand"; break
    fi
  done
fi
[ -n "$py" ] || { echo "CovidCXR needs Python 3.11 (python3.11 not found)" >&2; exit 1; }
[ -x .venv/bin/python ] || "$py" -m venv .venv
stamp=".venv/.install-stamp"
want="$(sha256sum pyproject.toml | cut -c1-16)-${extras}"
if [ ! -f "$stamp" ] || ! grep -qx -- "$want" "$stamp"; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e ".${extras:+[$extras]}"
  echo "$want" > "$stamp"
fi
