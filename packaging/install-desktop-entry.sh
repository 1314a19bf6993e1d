#!/usr/bin/env bash
# Add CovidCXR to the desktop's application menu for the current user (no root needed):
# the .desktop file to ~/.local/share/applications, the icons to the hicolor theme.
# Run it from the unpacked build folder (it is copied there next to the executable);
# move the folder first if you want it elsewhere, the entry points at where it is now.
# Undo: remove ~/.local/share/applications/covidcxr.desktop and the covidcxr.png icons.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
exe="$here/covidcxr"
[ -x "$exe" ] || { echo "covidcxr executable not found next to $0" >&2; exit 1; }
data="${XDG_DATA_HOME:-$HOME/.local/share}"
mkdir -p "$data/applications"
for png in "$here"/_internal/assets/icons/covidcxr-*.png; do
  size="${png##*-}"; size="${size%.png}"
  mkdir -p "$data/icons/hicolor/${size}x${size}/apps"
  cp "$png" "$data/icons/hicolor/${size}x${size}/apps/covidcxr.png"
done
sed -e "s|^Exec=covidcxr|Exec=\"$exe\"|" -e "s|^TryExec=covidcxr|TryExec=$exe|" \
  -e "/^# install-desktop-entry.sh/d" "$here/covidcxr.desktop" > "$data/applications/covidcxr.desktop"
command -v update-desktop-database >/dev/null && update-desktop-database "$data/applications" || true
command -v gtk-update-icon-cache >/dev/null && gtk-update-icon-cache -q -t "$data/icons/hicolor" 2>/dev/null || true
echo "CovidCXR added to the application menu ($data/applications/covidcxr.desktop)"
