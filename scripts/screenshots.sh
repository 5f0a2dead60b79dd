#!/usr/bin/env bash
# Takes the README's screenshots of the pages, at a phone's width (360 px) and a desk's
# (1280 px), with the browser test that plays a social worker's day
# (tests/web/day.rs), and keeps the main ones under docs/screenshots/.
# Needs Debian's chromium and chromium-driver and `npm ci` (see .ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."

shots="$(mktemp -d)"
trap 'rm -rf "$shots"' EXIT
SCREENSHOTS_DIR="$shots" cargo test --test web -- day:: --nocapture >/dev/null
for page in login home search session participant-new-error participant-attendance; do
    for device in phone desktop; do
        cp "$shots/$page-$device.png" "docs/screenshots/$page-$device.png"
    done
done
ls -l docs/screenshots
