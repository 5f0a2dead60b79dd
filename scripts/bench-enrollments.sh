#!/usr/bin/env bash
# Enrollment throughput: 64 concurrent clients enrolling distinct participants into
# 200 sessions of 5 to 20 places, on SQLite and on PostgreSQL, with GET /healthz
# throughput of the same run beside it, then a recount of every occurrence's places.
#
#   scripts/bench-enrollments.sh [ENROLLMENTS]      (default 20000)
#   PG_URL=postgres://postgres@127.0.0.1:5432/test scripts/bench-enrollments.sh
set -euo pipefail
cd "$(dirname "$0")/.."

ENROLLMENTS="${1:-20000}"
PG_URL="${PG_URL:-postgres://postgres@127.0.0.1:5432/test}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}"

cargo build --release --example enrollment_bench
BIN="$CARGO_TARGET_DIR/release/examples/enrollment_bench"

echo "== SQLite"
"$BIN" --enrollments "$ENROLLMENTS" --sessions 200 --clients 64

if pg_isready -h 127.0.0.1 -p 5432 -q; then
  DB="es_bench_$(date +%s)"
  psql "$PG_URL" -qc "CREATE DATABASE $DB" >/dev/null
  trap 'psql "$PG_URL" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null' EXIT
  echo "== PostgreSQL"
  DATABASE_URL="${PG_URL%/*}/$DB" "$BIN" --enrollments "$ENROLLMENTS" --sessions 200 --clients 64
else
  echo "PostgreSQL is not running on 127.0.0.1:5432: skipped"
fi
