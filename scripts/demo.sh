#!/usr/bin/env bash
# A demo programme in a minute: seeds a realistic season through the HTTP API
# (examples/demo.rs) and prints its impact table.
#
#   scripts/demo.sh                      # into ./data (refused if it already holds a programme)
#   scripts/demo.sh --fresh              # moves an existing ./data aside to ./data.old-<timestamp>
#   DATA_DIR=/tmp/demo scripts/demo.sh   # somewhere else
#
# 7 clubs in 6 French cities (football, boxe, pétanque, yoga, natation), 3 partner
# structures and their social workers, 39 participants in every situation, 10 weeks
# of weekly sessions with enrollments, attendance, walk-ins and "I can't come" answers,
# then GET /api/v1/stats/encounters by club, sport, month, situation and structure.
# Emails are written as .eml files under DATA_DIR/outbox (never sent, even with
# SMTP_URL set); the accounts' tokens go to DATA_DIR/demo-tokens.env.
set -euo pipefail

cd "$(dirname "$0")/.."

usage() {
    sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'
}

fresh=0
while [[ $# -gt 0 ]]; do
    case "$1" in
        --fresh) fresh=1 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "unknown option $1" >&2; usage >&2; exit 2 ;;
    esac
    shift
done

data_dir="${DATA_DIR:-./data}"
data_dir="${data_dir%/}"
[[ -n "$data_dir" ]] || data_dir=/

# Anything of a previous run: the database or emails.
holds_something() {
    [[ -e "$data_dir/entourage-sport.sqlite" ]] && return 0
    compgen -G "$data_dir/outbox/*.eml" >/dev/null && return 0
    return 1
}

if [[ $fresh -eq 1 ]] && holds_something; then
    aside="$data_dir.old-$(date +%Y%m%d-%H%M%S)"
    mv "$data_dir" "$aside"
    echo "== moved the previous $data_dir aside to $aside" >&2
fi

echo "== building (debug; the first build takes a few minutes)" >&2
cargo build --example demo

echo "== running the demo" >&2
status=0
DATA_DIR="$data_dir" cargo run -q --example demo || status=$?
if [[ $status -eq 3 ]]; then
    # The example refused: the folder holds accounts or emails. Nothing was seeded.
    cat >&2 <<EOF
demo: $data_dir already holds a programme; the demo only seeds an empty one.
  scripts/demo.sh --fresh                  moves it aside to $data_dir.old-<timestamp>, then seeds
  DATA_DIR=/tmp/demo scripts/demo.sh       seeds another folder
EOF
    exit 1
elif [[ $status -ne 0 ]]; then
    exit "$status"
fi

# How to explore what was seeded.
serve="cargo run -- serve"
if [[ "$data_dir" != "./data" && "$data_dir" != "data" ]]; then
    serve="DATA_DIR=$data_dir DATABASE_URL=sqlite://$data_dir/entourage-sport.sqlite cargo run -- serve"
fi
admin_token=""
season_from=""
if [[ -f "$data_dir/demo-tokens.env" ]]; then
    admin_token="$(sed -n 's/^ADMIN_TOKEN=//p' "$data_dir/demo-tokens.env")"
    season_from="$(sed -n 's/^SEASON_FROM=//p' "$data_dir/demo-tokens.env")"
fi
stats="http://localhost:8080/api/v1/stats/encounters?from=$season_from"
cat <<EOF

== Explore it
Emails:  $(find "$data_dir/outbox" -name '*.eml' 2>/dev/null | wc -l | tr -d ' ') .eml files in $data_dir/outbox (open one in a mail client or a text editor)
Service: $serve
         then http://localhost:8080/docs ("Authorize" with the admin token)
Admin:   $admin_token
Tokens:  source $data_dir/demo-tokens.env   # ADMIN_TOKEN, MANAGER_TOKEN (AS Bondy), WORKER_TOKEN (CHRS Les Tilleuls)
Try:     curl -s -H "Authorization: Bearer \$ADMIN_TOKEN" "$stats&group_by=club"
         curl -s -H "Authorization: Bearer \$ADMIN_TOKEN" -H 'Accept: text/csv' "$stats&group_by=month"
EOF
