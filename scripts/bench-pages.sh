#!/usr/bin/env bash
# Benchmarks the busiest web pages (GET /app, the search page with and without filters,
# beside GET /healthz) signed in as a social worker, with the load generator
# examples/page_bench.rs: 200 clubs and 20,000 published weekly sessions seeded through
# the API, on SQLite (a temporary file) unless BENCH_DATABASE_URL or --database-url
# names another database. Goal: every page's median under 20 ms.
#
#   scripts/bench-pages.sh                          # 20000 sessions, 300 requests a page
#   scripts/bench-pages.sh --sessions 2000          # smaller
#   scripts/bench-pages.sh --requests 100 --followed 60
#
# Every argument goes to the example (--sessions N, --clubs N, --requests N,
# --followed N, --clients N, --database-url URL). The report is printed and written
# under $CARGO_TARGET_DIR/bench-pages/ (target/ when unset).
set -euo pipefail

cd "$(dirname "$0")/.."

case "${1:-}" in
    -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
esac

target_dir="${CARGO_TARGET_DIR:-target}"
out_dir="$target_dir/bench-pages"
mkdir -p "$out_dir"
report="$out_dir/pages-$(date -u +%Y%m%dT%H%M%SZ).txt"

echo "== page benchmark (release build); report in $report" >&2
cargo run --release --example page_bench -- "$@" | tee "$report"
