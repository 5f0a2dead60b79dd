#!/usr/bin/env bash
# Reminder delivery: 10,000 reminders through the outbox to a local SMTP sink, with
# lettre's raw send rate to the same sink (same pool, same concurrency) in the same run
# as the floor, on SQLite and on PostgreSQL. Each backend runs RUNS times (default 3);
# compare the medians.
#
#   scripts/bench-reminders.sh [REMINDERS]           (default 10000)
#   RUNS=5 PG_URL=postgres://postgres@127.0.0.1:5432/test scripts/bench-reminders.sh
set -euo pipefail
cd "$(dirname "$0")/.."

REMINDERS="${1:-10000}"
RUNS="${RUNS:-3}"
PG_URL="${PG_URL:-postgres://postgres@127.0.0.1:5432/test}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}"

cargo build --release --example reminder_bench
BIN="$CARGO_TARGET_DIR/release/examples/reminder_bench"

for run in $(seq "$RUNS"); do
  echo "== SQLite, run $run"
  "$BIN" --reminders "$REMINDERS"
done

if pg_isready -h 127.0.0.1 -p 5432 -q; then
  for run in $(seq "$RUNS"); do
    DB="es_bench_$(date +%s%N)"
    psql "$PG_URL" -qc "CREATE DATABASE $DB" >/dev/null
    echo "== PostgreSQL, run $run"
    DATABASE_URL="${PG_URL%/*}/$DB" "$BIN" --reminders "$REMINDERS"
    psql "$PG_URL" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null
  done
else
  echo "PostgreSQL is not running on 127.0.0.1:5432: skipped"
fi
