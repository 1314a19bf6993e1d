#!/usr/bin/env bash
# Install (first time) and run the whole test suite headless, with lint first.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh test
export QT_QPA_PLATFORM=offscreen TF_CPP_MIN_LOG_LEVEL=2
.venv/bin/ruff check core gui tests bench packaging
exec .venv/bin/python -m pytest "$@"
