#!/usr/bin/env bash
# Soak test (examples/soak.rs): three instances of the release binary (two on one
# fresh PostgreSQL database, one on SQLite) under mixed traffic for DURATION seconds
# (600 by default), one PostgreSQL instance SIGKILLed and restarted at 40 %, the SMTP
# server refusing (4xx) for min(60 s, DURATION/10) at 60 %; then the outboxes are
# drained and the invariants checked (places, accepted enrollments stored, every sent
# message received exactly once, no 5xx outside the kill window, peak RSS < 256 MiB).
#
#   scripts/soak.sh                     # 10 minutes
#   DURATION=120 scripts/soak.sh        # a short run
#   CLIENTS=4 PG_URL=postgres://postgres@127.0.0.1:5432/postgres scripts/soak.sh
#
# The database es_soak_… is created on PG_URL's server and dropped at the end. The
# report is printed and written under $CARGO_TARGET_DIR/soak/ (target/ when unset).
# Exit status: 0 all checks pass, 1 a check failed (the report says which), 2 the run
# could not be made.
set -euo pipefail
cd "$(dirname "$0")/.."

export DURATION="${DURATION:-600}"
export PG_URL="${PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}"

if [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then
    sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
fi

# The machine's load before the build and the run, for the report.
SOAK_LOAD="$(cut -d' ' -f1-3 /proc/loadavg)"
export SOAK_LOAD

echo "== building (release)" >&2
cargo build --release --bin entourage-sport --example soak
export SOAK_BIN="$CARGO_TARGET_DIR/release/entourage-sport"

out_dir="$CARGO_TARGET_DIR/soak"
mkdir -p "$out_dir"
export SOAK_REPORT="$out_dir/soak-$(date -u +%Y%m%dT%H%M%SZ)-${DURATION}s.md"
exec "$CARGO_TARGET_DIR/release/examples/soak"
