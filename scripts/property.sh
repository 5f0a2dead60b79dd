#!/usr/bin/env bash
# The place-invariant property test (tests/places_property.rs) with many more cases,
# on SQLite and, when it answers, on PostgreSQL; prints how many cases ran and failed on
# each, with a replayable (shrunk) example of every kind of violation.
#
#   scripts/property.sh [CASES] [--release]         (default 200 cases, debug build)
#   PROPERTY_SEED=42 scripts/property.sh 50          first seed (default: random)
#   PG_URL=postgres://postgres@127.0.0.1:5432/test scripts/property.sh
#   PROPERTY_SHRINK_SECS=300                         time for shrinking (default 120)
#
# Exit status: 0 when every case held on every database run.
set -uo pipefail
cd "$(dirname "$0")/.."

CASES=200
PROFILE=()
for arg in "$@"; do
  case "$arg" in
    --release) PROFILE=(--release) ;;
    ''|*[!0-9]*) echo "usage: $0 [CASES] [--release]" >&2; exit 2 ;;
    *) CASES="$arg" ;;
  esac
done

PG_URL="${PG_URL:-postgres://postgres@127.0.0.1:5432/test}"
SEED="${PROPERTY_SEED:-$(( (RANDOM << 15 | RANDOM) ))}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}"
export PROPERTY_SHRINK_SECS="${PROPERTY_SHRINK_SECS:-120}"

cargo test "${PROFILE[@]}" --test places_property --no-run -q || exit 2

status=0
summary=()
run() {
  local name="$1"; shift
  local log
  log="$(mktemp)"
  echo "== $name: $CASES cases from seed $SEED"
  local start=$SECONDS
  env "$@" PROPERTY_CASES="$CASES" PROPERTY_SEED="$SEED" \
    cargo test "${PROFILE[@]}" -q --test places_property -- --nocapture 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  local line
  line="$(grep -E '^places_property: (sqlite|postgres): ' "$log" | tail -1)"
  if [ -z "$line" ]; then
    line="places_property: $name: no summary (the run broke, exit $rc)"
  fi
  summary+=("$line (wall $((SECONDS - start)) s)")
  [ "$rc" -eq 0 ] || status=1
  rm -f "$log"
}

run sqlite TEST_DATABASE_URL=

if command -v pg_isready >/dev/null && pg_isready -h 127.0.0.1 -p 5432 -q; then
  run postgres TEST_DATABASE_URL="$PG_URL"
elif command -v psql >/dev/null && psql "$PG_URL" -qc 'SELECT 1' >/dev/null 2>&1; then
  run postgres TEST_DATABASE_URL="$PG_URL"
else
  summary+=("places_property: postgres: skipped (nothing answers at $PG_URL)")
fi

echo
echo "== summary"
printf '%s\n' "${summary[@]}"
exit "$status"
