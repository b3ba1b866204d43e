#!/usr/bin/env bash
# Render a report HTML file in headless Chromium and save a screenshot of it.
#   scripts/render_report.sh report.html docs/report.png [WIDTH HEIGHT]
# Installs Debian's chromium package when no chromium is on the PATH (needs root, as in CI containers).
set -euo pipefail
html="${1:?usage: render_report.sh REPORT.html OUT.png [WIDTH HEIGHT]}"
png="${2:?usage: render_report.sh REPORT.html OUT.png [WIDTH HEIGHT]}"
width="${3:-1200}"
height="${4:-3000}"
if ! command -v chromium >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
# --no-sandbox: CI runs as root in a container, where Chromium's sandbox cannot start. The report loads nothing
# from outside the file, so nothing untrusted runs in it.
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --screenshot="$png" \
    --window-size="$width,$height" "file://$(realpath "$html")" 2>/dev/null
test -s "$png"
echo "Rendered $html to $png (${width}x$height)."
