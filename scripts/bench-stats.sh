#!/usr/bin/env bash
# Impact figures (GET /api/v1/stats/encounters) with the benchmark
# examples/stats_bench.rs: 1,000,000 attendance records over a year and 300 clubs
# (participants, enrollments and records inserted with SQL; clubs, staff and sessions
# through the API), then the year's figures by month and by club (and by sport,
# situation, structure; as a club manager and a social worker), median over 15 requests.
# Target: median under 300 ms. Runs on SQLite, then on PostgreSQL in a throwaway
# database (created and dropped for each run) when a server answers on PG_URL; each
# backend RUNS times (default 1).
#
#   scripts/bench-stats.sh                          # SQLite and PostgreSQL
#   RUNS=3 scripts/bench-stats.sh --sqlite-only
#   PG_URL=postgres://postgres@127.0.0.1:5432/postgres scripts/bench-stats.sh --postgres-only
#   KEEP=1 scripts/bench-stats.sh                   # keep the seeded databases (query plans)
#   scripts/bench-stats.sh -- --records 200000      # extra options for the example
#
# Reports are printed and written under $CARGO_TARGET_DIR/bench-stats/ (target/ when
# unset). Build with CARGO_TARGET_DIR=/some/other/dir to leave the debug target alone.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS="${RUNS:-1}"
KEEP="${KEEP:-0}"
PG_URL="${PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}"
sqlite=1
postgres=1
extra=()

usage() {
    sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'
    echo "options: --sqlite-only | --postgres-only | -- EXAMPLE_OPTIONS"
}

while [[ $# -gt 0 ]]; do
    case "$1" in
        --sqlite-only) postgres=0 ;;
        --postgres-only) sqlite=0 ;;
        -h|--help) usage; exit 0 ;;
        --) shift; extra=("$@"); break ;;
        *) echo "unknown option $1" >&2; usage >&2; exit 2 ;;
    esac
    shift
done

out_dir="$CARGO_TARGET_DIR/bench-stats"
mkdir -p "$out_dir"
stamp="$(date -u +%Y%m%dT%H%M%SZ)"

echo "== building (release)" >&2
cargo build --release --example stats_bench
BIN="$CARGO_TARGET_DIR/release/examples/stats_bench"

# postgres://user@host:port[/db][?query] -> the same server with database $2.
with_database() {
    local url="$1" name="$2" base query="" rest
    base="${url%%\?*}"
    [[ "$url" == *\?* ]] && query="?${url#*\?}"
    rest="${base#*://}"
    if [[ "$rest" == */* ]]; then
        base="${base%/*}"
    fi
    echo "$base/$name$query"
}

status=0

if [[ $sqlite -eq 1 ]]; then
    for run in $(seq "$RUNS"); do
        report="$out_dir/sqlite-$stamp-$run.txt"
        args=()
        if [[ $KEEP -eq 1 ]]; then
            args=(--sqlite-file "$out_dir/sqlite-$stamp-$run.sqlite")
        fi
        echo "== SQLite, run $run" >&2
        # An empty BENCH_DATABASE_URL makes the example use its own SQLite file.
        BENCH_DATABASE_URL="" "$BIN" "${args[@]}" "${extra[@]}" | tee "$report" || status=1
    done
fi

if [[ $postgres -eq 1 ]]; then
    host_port="${PG_URL#*://}"; host_port="${host_port#*@}"; host_port="${host_port%%/*}"; host_port="${host_port%%\?*}"
    host="${host_port%%:*}"; port=5432
    [[ "$host_port" == *:* ]] && port="${host_port##*:}"
    if pg_isready -h "$host" -p "$port" -q; then
        for run in $(seq "$RUNS"); do
            db="es_stats_bench_$(date +%s)_$$_$run"
            url="$(with_database "$PG_URL" "$db")"
            report="$out_dir/postgres-$stamp-$run.txt"
            psql "$PG_URL" -v ON_ERROR_STOP=1 -qc "CREATE DATABASE $db" >/dev/null
            echo "== PostgreSQL ($db), run $run" >&2
            BENCH_DATABASE_URL="$url" "$BIN" "${extra[@]}" | tee "$report" || status=1
            if [[ $KEEP -eq 1 ]]; then
                echo "kept database $url" >&2
            else
                psql "$PG_URL" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null || true
            fi
        done
    else
        echo "PostgreSQL is not answering on $host:$port: skipped" >&2
    fi
fi

echo "reports in $out_dir" >&2
exit "$status"
