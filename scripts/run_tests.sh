#!/usr/bin/env bash
# Install (first time) and run the whole test suite headless, with lint, the import
# contracts and the type check first.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh test
export QT_QPA_PLATFORM=offscreen TF_CPP_MIN_LOG_LEVEL=2
.venv/bin/ruff check core gui tests bench packaging
# The layers of core/ and the Qt ban (pyproject.toml [tool.importlinter]), then types.
.venv/bin/lint-imports --no-cache
.venv/bin/mypy
exec .venv/bin/python -m pytest "$@"
