#!/usr/bin/env bash
# Install (first time) and start CovidCXR on the bundled sample X-rays.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec .venv/bin/covidcxr "${@:-assets/samples}"
