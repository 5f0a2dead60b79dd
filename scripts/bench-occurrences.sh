#!/usr/bin/env bash
# Benchmarks the cross-club occurrence search (GET /api/v1/occurrences) with the load
# generator examples/occurrence_search_bench.rs: 200 clubs with 2,000 then 20,000
# published weekly sessions, seeded through the API, on SQLite; and on PostgreSQL too
# when asked (--postgres, or BENCH_DATABASE_URL set to a server URL such as
# postgres://postgres@127.0.0.1:5432/), in a fresh database created for each run.
#
#   scripts/bench-occurrences.sh                      # SQLite, 2000 and 20000 sessions
#   scripts/bench-occurrences.sh --postgres           # and PostgreSQL on 127.0.0.1:5432
#   scripts/bench-occurrences.sh --sizes 2000 --keep  # keep the seeded databases
#   scripts/bench-occurrences.sh --criterion          # also `cargo bench --bench expansion`
#   scripts/bench-occurrences.sh -- --walks 5         # extra options for the example
#
# Results are printed and written under $CARGO_TARGET_DIR/bench-occurrences/ (target/
# when unset). With --keep, SQLite files stay there and PostgreSQL databases are not
# dropped, to inspect query plans afterwards.
set -euo pipefail

cd "$(dirname "$0")/.."

sizes=(2000 20000)
clubs=200
postgres=0
sqlite=1
keep=0
criterion=0
extra=()
server="${BENCH_DATABASE_URL:-}"
[[ -n "$server" ]] && postgres=1

usage() {
    sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'
    echo "options: --sizes N [N...] | --clubs N | --postgres | --postgres-only | --keep | --criterion | -- EXAMPLE_OPTIONS"
}

while [[ $# -gt 0 ]]; do
    case "$1" in
        --sizes)
            shift
            sizes=()
            while [[ $# -gt 0 && "$1" =~ ^[0-9]+$ ]]; do sizes+=("$1"); shift; done
            [[ ${#sizes[@]} -gt 0 ]] || { echo "--sizes needs at least one number" >&2; exit 2; }
            continue
            ;;
        --clubs) clubs="$2"; shift ;;
        --postgres) postgres=1 ;;
        --postgres-only) postgres=1; sqlite=0 ;;
        --keep) keep=1 ;;
        --criterion) criterion=1 ;;
        -h|--help) usage; exit 0 ;;
        --) shift; extra=("$@"); break ;;
        *) echo "unknown option $1" >&2; usage >&2; exit 2 ;;
    esac
    shift
done

target_dir="${CARGO_TARGET_DIR:-target}"
out_dir="$target_dir/bench-occurrences"
mkdir -p "$out_dir"

echo "== building (release)" >&2
cargo build --release --example occurrence_search_bench
bin="$target_dir/release/examples/occurrence_search_bench"

stamp="$(date -u +%Y%m%dT%H%M%SZ)"

run_sqlite() {
    local n="$1" report="$out_dir/sqlite-$n-$stamp.txt" args=()
    if [[ $keep -eq 1 ]]; then
        local file="$out_dir/sqlite-$n-$stamp.sqlite"
        args=(--sqlite-file "$file")
    fi
    echo "== SQLite, $clubs clubs, $n sessions" >&2
    # An empty BENCH_DATABASE_URL makes the example use its own SQLite file.
    BENCH_DATABASE_URL="" "$bin" --clubs "$clubs" --sessions "$n" "${args[@]}" "${extra[@]}" | tee "$report"
}

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

run_postgres() {
    local n="$1" report="$out_dir/postgres-$n-$stamp.txt"
    local name="es_bench_${n}_$(date +%s)_$$"
    local admin_url url
    admin_url="$(with_database "$server" postgres)"
    url="$(with_database "$server" "$name")"
    echo "== PostgreSQL ($name), $clubs clubs, $n sessions" >&2
    psql "$admin_url" -v ON_ERROR_STOP=1 -q -c "CREATE DATABASE $name"
    local status=0
    BENCH_DATABASE_URL="$url" "$bin" --clubs "$clubs" --sessions "$n" "${extra[@]}" | tee "$report" || status=$?
    if [[ $keep -eq 1 ]]; then
        echo "kept database $url" >&2
    else
        psql "$admin_url" -v ON_ERROR_STOP=1 -q -c "DROP DATABASE IF EXISTS $name" || true
    fi
    return "$status"
}

if [[ $sqlite -eq 1 ]]; then
    for n in "${sizes[@]}"; do run_sqlite "$n"; done
fi
if [[ $postgres -eq 1 ]]; then
    server="${server:-postgres://postgres@127.0.0.1:5432/}"
    for n in "${sizes[@]}"; do run_postgres "$n"; done
fi
if [[ $criterion -eq 1 ]]; then
    echo "== criterion: pure expansion" >&2
    cargo bench --bench expansion
fi
echo "reports in $out_dir" >&2
