#!/usr/bin/env bash
# Build the double-click application into dist/covidcxr/ (macOS: also dist/CovidCXR.app).
#
#   bash packaging/build.sh                        build environment in .venv-build
#   COVIDCXR_BUILD_VENV=.venv bash packaging/build.sh   reuse the development .venv
#   COVIDCXR_MODEL_DIR=/path/to/model bash packaging/build.sh   bundle another model
#
# The build environment holds the runtime dependencies pinned in pyproject.toml plus the
# `package` extra (PyInstaller). On Linux it takes `tensorflow-cpu` instead of `tensorflow`:
# the same release without the CUDA kernels (about 470 MB), which a frozen build could not
# use anyway (it does not bundle the CUDA libraries). Meant to work in Git Bash on Windows
# too (untested; packaging/README.md has the PowerShell commands).
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${COVIDCXR_BUILD_VENV:-.venv-build}"

py="${PYTHON:-}"
if [ -z "$py" ]; then
  for cand in python3.11 python3 python py; do
    if command -v "$cand" >/dev/null 2>&1 \
      && "$cand" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
      py="$cand"; break
    fi
  done
fi
vpy="$venv/bin/python"
[ -x "$vpy" ] || vpy="$venv/Scripts/python.exe"
if [ ! -x "$vpy" ]; then
  [ -n "$py" ] || { echo "building CovidCXR needs Python 3.11 (python3.11 not found)" >&2; exit 1; }
  "$py" -m venv "$venv"
  touch "$venv/covidcxr-build-venv"
  vpy="$venv/bin/python"
  [ -x "$vpy" ] || vpy="$venv/Scripts/python.exe"
fi

# Requirements, once per change of pyproject.toml: a build environment made here gets the
# runtime pins and the `package` extra; a reused one (.venv) only gets the `package` extra,
# so its TensorFlow is left as it is.
reqs="$venv/covidcxr-build-requirements.txt"
own=0
[ -f "$venv/covidcxr-build-venv" ] && own=1
"$vpy" - "$own" > "$reqs.new" <<'PY'
import sys
import tomllib

project = tomllib.load(open("pyproject.toml", "rb"))["project"]
deps = list(project["dependencies"]) if sys.argv[1] == "1" else []
deps += project["optional-dependencies"]["package"]
if sys.platform.startswith("linux"):
    deps = [d.replace("tensorflow==", "tensorflow-cpu==", 1) for d in deps]
print("\n".join(deps))
PY
if ! cmp -s "$reqs.new" "$reqs"; then
  [ "$own" = 1 ] && "$vpy" -m pip install --quiet --upgrade pip
  "$vpy" -m pip install --quiet -r "$reqs.new"
  mv "$reqs.new" "$reqs"
else
  rm -f "$reqs.new"
fi

start=$SECONDS
"$vpy" -m PyInstaller packaging/covidcxr.spec --noconfirm --clean --log-level WARN \
  --distpath dist --workpath build/pyinstaller
echo "built dist/covidcxr in $((SECONDS - start)) s ($(du -sh dist/covidcxr | cut -f1))"
