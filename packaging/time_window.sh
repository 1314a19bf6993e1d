#!/usr/bin/env bash
# Seconds from launch until the CovidCXR main window is on screen, on a private Xvfb
# display (needs Xvfb and xdotool: apt-get install xvfb xdotool). Settings go to a
# throw-away HOME, so each run is a first start.
#
#   bash packaging/time_window.sh dist/covidcxr/covidcxr          the frozen build
#   bash packaging/time_window.sh .venv/bin/python -m gui.shell.launcher   from source
#   RUNS=5 bash packaging/time_window.sh ...
#
# "On screen" is the moment the window is mapped (xdotool --onlyvisible), polled every
# 20 ms; the first paint follows within a frame. TensorFlow and the model load after it.
set -euo pipefail
[ $# -gt 0 ] || set -- dist/covidcxr/covidcxr
runs="${RUNS:-3}"
for tool in Xvfb xdotool; do
  command -v "$tool" >/dev/null || { echo "time_window.sh needs $tool" >&2; exit 2; }
done
tmp="$(mktemp -d)"
# Xvfb picks a free display and writes its number once it accepts connections.
# -noreset: by default the server resets whenever its last client leaves, and every
# xdotool poll below is a client that comes and goes; an app connecting during such a
# reset fails with "could not connect to display" (seen in CI, about one start in five).
Xvfb -displayfd 3 -screen 0 1600x1000x24 -nolisten tcp -noreset 3>"$tmp/display" >/dev/null 2>&1 &
xvfb=$!
app=""
cleanup() {
  [ -n "$app" ] && kill "$app" 2>/dev/null || true
  kill "$xvfb" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
for _ in $(seq 300); do [ -s "$tmp/display" ] && break; sleep 0.1; done
[ -s "$tmp/display" ] || { echo "Xvfb did not start" >&2; exit 2; }
export DISPLAY=":$(head -1 "$tmp/display")"

for run in $(seq "$runs"); do
  rm -rf "$tmp/home"; mkdir -p "$tmp/home"
  t0=$(date +%s%N)
  HOME="$tmp/home" XDG_CONFIG_HOME="$tmp/home/.config" "$@" >"$tmp/log" 2>&1 &
  app=$!
  shown=""
  while kill -0 "$app" 2>/dev/null; do
    if xdotool search --onlyvisible --name CovidCXR >/dev/null 2>&1; then
      shown=$(date +%s%N); break
    fi
    [ $(( ($(date +%s%N) - t0) / 1000000000 )) -lt 60 ] || break
    sleep 0.02
  done
  kill "$app" 2>/dev/null || true
  wait "$app" 2>/dev/null || true
  app=""
  if [ -z "$shown" ]; then
    echo "run $run: no window within 60 s; the app said:" >&2
    tail -20 "$tmp/log" >&2
    exit 1
  fi
  ms=$(( (shown - t0) / 1000000 ))
  printf 'run %d: window shown after %d.%03d s\n' "$run" $((ms / 1000)) $((ms % 1000))
done
