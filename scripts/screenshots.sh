#!/usr/bin/env bash
# Takes the README's screenshots of the pages, at a phone's width (360 px) and a desk's
# (1280 px), with the browser tests that play a social worker's day, a club manager's
# week and programme staff's day (tests/web/day.rs, tests/web/club.rs,
# tests/web/admin.rs), and keeps the main ones under docs/screenshots/.
# Needs Debian's chromium and chromium-driver and `npm ci` (see .ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."

shots="$(mktemp -d)"
trap 'rm -rf "$shots"' EXIT
SCREENSHOTS_DIR="$shots" cargo test --test web -- day:: club::a_club admin::programme_staffs_day \
    admin::the_dashboard --nocapture >/dev/null
for page in login home search session participant-new-error participant-attendance \
    club-home club-profile club-sessions session-new club-calendar session-preview \
    occurrence check-in admin-clubs admin-users admin-outbox stats-admin; do
    for device in phone desktop; do
        cp "$shots/$page-$device.png" "docs/screenshots/$page-$device.png"
    done
done
cp "$shots/check-in-offline-phone.png" docs/screenshots/
ls -l docs/screenshots
