#!/usr/bin/env bash
# Checks the Debian package end to end on this machine, by hand (not in CI): install,
# files, user, units, a start as the unit would do it, remove, purge; then puts the
# machine back as it was. Exits non-zero at the first failure.
#
#   sudo scripts/verify-deb.sh                       # builds with scripts/package-deb.sh
#   sudo scripts/verify-deb.sh path/to/entourage-sport_X_amd64.deb
#
# Needs root, dpkg, and no entourage-sport package, user or /var/lib/entourage-sport
# already there (it deletes what it creates, so it refuses to touch an existing one).
# systemd need not be running: the service is started the way the unit starts it
# (user, settings file, working directory, no new privileges, no capabilities).
set -euo pipefail

cd "$(dirname "$0")/.."

PKG=entourage-sport
SVC_USER=entourage-sport
ENV_FILE=/etc/entourage-sport/entourage-sport.env
STATE=/var/lib/entourage-sport
BACKUPS=/var/backups/entourage-sport
UNITS=(entourage-sport.service entourage-sport-backup.service entourage-sport-backup.timer)
UNIT_DIR=/usr/lib/systemd/system

step() { printf '\n== %s\n' "$*"; }
ok() { printf '   ok: %s\n' "$*"; }
note() { printf '   note: %s\n' "$*"; }
fail() {
    printf '   FAIL: %s\n' "$*" >&2
    exit 1
}

[[ $(id -u) -eq 0 ]] || fail "run as root (dpkg -i, a system user)"
command -v dpkg >/dev/null || fail "dpkg is missing"
command -v curl >/dev/null || fail "curl is missing"

step "the machine is clean before"
dpkg-query -W -f='${Status}' "$PKG" 2>/dev/null | grep -q "installed" &&
    fail "$PKG is already installed: this script would purge it"
getent passwd "$SVC_USER" >/dev/null && fail "user $SVC_USER already exists: this script would delete it"
[[ -e $STATE ]] && fail "$STATE already exists: this script would delete it"
[[ -e $BACKUPS ]] && fail "$BACKUPS already exists: this script would delete it"
ok "no package, no user, no $STATE"

server_pid=""
scratch=$(mktemp -d)
# Whatever happens, leave the machine as it was: stop the server, purge the package,
# remove the user and folders the package created (we checked none were there).
cleanup() {
    local status=$?
    set +e
    [[ -n $server_pid ]] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
    if dpkg-query -W -f='${Status}' "$PKG" 2>/dev/null | grep -q "ok"; then
        dpkg -P "$PKG" >/dev/null 2>&1
    fi
    getent passwd "$SVC_USER" >/dev/null && userdel "$SVC_USER"
    getent group "$SVC_USER" >/dev/null && groupdel "$SVC_USER"
    rm -rf "$STATE" "$BACKUPS" "$scratch"
    if [[ $status -eq 0 ]]; then
        printf '\n== cleaned up: package purged, user and folders removed\n'
    else
        printf '\n== FAILED (exit %s); cleaned up anyway\n' "$status" >&2
    fi
}
trap cleanup EXIT

# A port nobody listens on, so the check never talks to another service.
free_port() {
    local port
    for port in $(seq 18180 18280); do
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return
        fi
    done
    fail "no free port between 18180 and 18280"
}

# Waits until GET $1 answers (any status), at most 30 s; prints the status code.
wait_http() {
    local url=$1 code
    for _ in $(seq 1 60); do
        code=$(curl -s -o /dev/null -w '%{http_code}' "$url" || true)
        if [[ $code != 000 ]]; then
            echo "$code"
            return 0
        fi
        [[ -n $server_pid ]] && ! kill -0 "$server_pid" 2>/dev/null && break
        sleep 0.5
    done
    echo 000
}

stop_server() {
    kill -TERM "$server_pid"
    local status=0
    wait "$server_pid" || status=$?
    server_pid=""
    [[ $status -eq 0 ]] || fail "the service exited with $status on SIGTERM (log: $1)"
    grep -q "stopped" "$1" || fail "no 'stopped' line in the log ($1)"
    ok "stopped cleanly on SIGTERM (exit 0)"
}

step "the package"
deb=${1:-}
if [[ -z $deb ]]; then
    deb=$(scripts/package-deb.sh | tail -n 1)
fi
[[ -f $deb ]] || fail "no package file: $deb"
ok "$deb ($(du -h "$deb" | cut -f1))"
dpkg-deb --field "$deb" Package Version Architecture Depends | sed 's/^/   /'

step "dpkg -i"
dpkg -i "$deb"
ok "installed"

step "files"
for path in /usr/bin/entourage-sport "${UNITS[@]/#/$UNIT_DIR/}" "$ENV_FILE"; do
    [[ -f $path ]] || fail "missing $path"
done
[[ -x /usr/bin/entourage-sport ]] || fail "/usr/bin/entourage-sport is not executable"
ok "binary, 3 units, settings file"
/usr/bin/entourage-sport --version | sed 's/^/   /'
dpkg-query -W -f='${Conffiles}\n' "$PKG" | grep -q "$ENV_FILE" || fail "$ENV_FILE is not a conffile"
ok "$ENV_FILE is a conffile"
perms=$(stat -c '%a %U:%G' "$ENV_FILE")
[[ $perms == "640 root:$SVC_USER" ]] || fail "$ENV_FILE is $perms, expected 640 root:$SVC_USER"
ok "$ENV_FILE is $perms"
ls /usr/share/doc/$PKG/runbook.md >/dev/null || fail "no runbook in /usr/share/doc/$PKG"
ok "docs in /usr/share/doc/$PKG: $(ls /usr/share/doc/$PKG | tr '\n' ' ')"

step "user and folders"
entry=$(getent passwd "$SVC_USER") || fail "no user $SVC_USER"
uid=$(cut -d: -f3 <<<"$entry")
shell=$(cut -d: -f7 <<<"$entry")
((uid < 1000)) || fail "$SVC_USER has uid $uid, not a system uid"
[[ $shell == */nologin || $shell == /bin/false ]] || fail "$SVC_USER has a login shell: $shell"
ok "$entry"
for dir in "$STATE" "$BACKUPS"; do
    perms=$(stat -c '%a %U:%G' "$dir")
    [[ $perms == "750 $SVC_USER:$SVC_USER" ]] || fail "$dir is $perms"
    ok "$dir $perms"
done

step "units"
grep -q '^ExecStart=/usr/bin/entourage-sport serve$' "$UNIT_DIR/entourage-sport.service" ||
    fail "unexpected ExecStart"
if command -v systemd-analyze >/dev/null; then
    # Offline: checks syntax, directives and that the commands exist.
    if ! out=$(systemd-analyze verify "${UNITS[@]/#/$UNIT_DIR/}" 2>&1); then
        printf '%s\n' "$out" >&2
        fail "systemd-analyze verify"
    fi
    [[ -z $out ]] || printf '%s\n' "$out" | sed 's/^/   /'
    ok "systemd-analyze verify: no error"
else
    note "systemd-analyze not installed: unit syntax not checked"
fi
if [[ -d /run/systemd/system ]]; then
    note "systemd is running here: 'systemctl start entourage-sport' would work too"
else
    note "systemd is not PID 1 here: the service is started by hand, as the unit would"
fi
systemctl is-enabled entourage-sport.service >/dev/null 2>&1 &&
    fail "the service is enabled on install (it must wait for its settings)"
ok "nothing enabled or started by the install"

step "the binary alone in an empty folder (templates, assets, migrations built in)"
mkdir "$scratch/alone"
cp /usr/bin/entourage-sport "$scratch/alone/"
port=$(free_port) && [[ -n $port ]] || fail "no free port"
(cd "$scratch/alone" && exec env -i PATH=/usr/bin:/bin NO_COLOR=1 ./entourage-sport serve --bind "127.0.0.1:$port") \
    >"$scratch/alone.log" 2>&1 &
server_pid=$!
code=$(wait_http "http://127.0.0.1:$port/healthz")
[[ $code == 200 ]] || { cat "$scratch/alone.log" >&2; fail "/healthz answered $code"; }
ok "/healthz 200 from $scratch/alone ($(ls "$scratch/alone/data" | tr '\n' ' '))"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/login")
[[ $code == 200 ]] || fail "/login answered $code"
ok "/login 200 (page templates)"
stop_server "$scratch/alone.log"

# The unit's environment: systemd starts from an empty one, adds the settings file
# and Environment= lines. Parsed the way systemd reads it (VAR=value, # comments,
# optional double or single quotes), not sourced by a shell.
unit_env=(PATH=/usr/local/bin:/usr/bin:/bin HOME="$STATE" USER="$SVC_USER" LOGNAME="$SVC_USER"
    SHELL=/usr/sbin/nologin NO_COLOR=1)
while IFS= read -r line; do
    [[ $line =~ ^[[:space:]]*(#|$) ]] && continue
    [[ $line =~ ^([A-Za-z_][A-Za-z0-9_]*)=(.*)$ ]] || fail "unreadable line in $ENV_FILE: $line"
    name=${BASH_REMATCH[1]} value=${BASH_REMATCH[2]}
    [[ $value =~ ^\"(.*)\"$ || $value =~ ^\'(.*)\'$ ]] && value=${BASH_REMATCH[1]}
    unit_env+=("$name=$value")
done <"$ENV_FILE"
port=$(free_port) && [[ -n $port ]] || fail "no free port"
# The file's BIND (127.0.0.1:8080) may be taken on a shared machine: same host, free port.
unit_env+=(BIND="127.0.0.1:$port")

# As the unit: its user and group, no new privileges, no capabilities, UMask=0027,
# WorkingDirectory=, the settings file.
unit_cmd=(setpriv --reuid="$SVC_USER" --regid="$SVC_USER" --init-groups
    --no-new-privs --bounding-set=-all --inh-caps=-all
    env -i -C "$STATE" "${unit_env[@]}")
as_unit() {
    (umask 0027 && exec "${unit_cmd[@]}" "$@")
}

# MemoryDenyWriteExecute=yes: no page may be writable and executable. Kernels from
# 6.3 enforce the same with prctl(PR_SET_MDWE), kept across exec: when this one can,
# the service runs under it, so a W+X mapping would make it fail here first.
mdwe=()
mdwe_py='import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl(65, 1, 0, 0, 0) != 0:  # PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN
    sys.exit(1)
if len(sys.argv) > 1:
    os.execv(sys.argv[1], sys.argv[1:])'
if [[ -x /usr/bin/python3 ]] && /usr/bin/python3 -c "$mdwe_py" 2>/dev/null; then
    mdwe=(/usr/bin/python3 -c "$mdwe_py")
fi

step "start as the unit would: $SVC_USER, $ENV_FILE, in $STATE, BIND=127.0.0.1:$port"
if [[ ${#mdwe[@]} -gt 0 ]]; then
    note "under PR_SET_MDWE (no writable+executable memory, as MemoryDenyWriteExecute=yes)"
else
    note "this kernel or machine cannot enforce MemoryDenyWriteExecute here: not checked"
fi
# Not through as_unit: $! must be the service itself (each exec keeps the pid).
(umask 0027 && exec "${unit_cmd[@]}" "${mdwe[@]}" /usr/bin/entourage-sport serve) >"$scratch/serve.log" 2>&1 &
server_pid=$!
code=$(wait_http "http://127.0.0.1:$port/healthz")
[[ $code == 200 ]] || { cat "$scratch/serve.log" >&2; fail "/healthz answered $code"; }
printf '   %s\n' "$(curl -s "http://127.0.0.1:$port/healthz")"
ok "/healthz 200"
status=/proc/$server_pid/status
[[ $(stat -c %U "/proc/$server_pid") == "$SVC_USER" ]] || fail "the service does not run as $SVC_USER"
grep -q '^NoNewPrivs:[[:space:]]*1$' "$status" || fail "the service may gain privileges"
grep -q '^CapBnd:[[:space:]]*0*$' "$status" || fail "the service has capabilities"
[[ $(readlink "/proc/$server_pid/cwd") == "$STATE" ]] || fail "the service does not run in $STATE"
ok "runs as $SVC_USER in $STATE, no new privileges, no capabilities ($(grep -E '^(NoNewPrivs|CapBnd)' "$status" | tr -s '\t\n' '  '))"
code=$(curl -s -o "$scratch/readyz" -w '%{http_code}' "http://127.0.0.1:$port/readyz")
case $code in
200) ok "/readyz 200: $(cat "$scratch/readyz")" ;;
*) fail "/readyz answered $code: $(cat "$scratch/readyz")" ;;
esac
db=$STATE/entourage-sport.sqlite
for path in "$db" "$STATE/secret_key"; do
    [[ -f $path ]] || fail "missing $path"
    ok "$path $(stat -c '%a %U:%G' "$path")"
done
[[ $(stat -c '%a' "$STATE/secret_key") == 600 ]] || fail "secret_key is not 0600"
if grep -q $'\e\[' "$scratch/serve.log"; then fail "colour codes in the log despite NO_COLOR"; fi
ok "log lines without colour codes (as journald gets them):"
sed 's/^/     /' "$scratch/serve.log"

step "an account, so the database holds something to keep"
as_unit /usr/bin/entourage-sport users create --role admin --name "Verify Admin" \
    --email verify-admin@example.org >"$scratch/user.out" 2>"$scratch/user.err" ||
    { cat "$scratch/user.err" >&2; fail "users create"; }
ok "$(head -n 1 "$scratch/user.out")"

step "entourage-sport check, as the unit's user"
as_unit /usr/bin/entourage-sport check | sed 's/^/   /' || fail "entourage-sport check"
ok "check passed"

step "the backup service's command, as the unit's user"
out="$BACKUPS/entourage-$(date +%F).sqlite"
as_unit /usr/bin/entourage-sport backup --out "$out" | sed 's/^/   /' || fail "entourage-sport backup"
[[ -s $out ]] || fail "no backup at $out"
ok "$out $(stat -c '%s bytes, %a %U:%G' "$out")"

step "stop"
stop_server "$scratch/serve.log"
sum_before=$(sha256sum "$db" | cut -d' ' -f1)

step "dpkg -r (remove): program gone, data and settings kept"
dpkg -r "$PKG"
[[ ! -e /usr/bin/entourage-sport ]] || fail "the binary is still there"
[[ ! -e $UNIT_DIR/entourage-sport.service ]] || fail "the unit is still there"
ok "binary and units removed"
[[ -f $ENV_FILE ]] || fail "$ENV_FILE was removed (a conffile stays until purge)"
ok "$ENV_FILE kept ($(stat -c '%a %U:%G' "$ENV_FILE"))"
[[ -f $db ]] || fail "$db was removed"
[[ $(sha256sum "$db" | cut -d' ' -f1) == "$sum_before" ]] || fail "$db changed"
[[ -f $STATE/secret_key ]] || fail "$STATE/secret_key was removed"
ok "$STATE kept, database unchanged: $(ls "$STATE" | tr '\n' ' ')"
getent passwd "$SVC_USER" >/dev/null || fail "user $SVC_USER was removed"
ok "user $SVC_USER kept"

step "dpkg -P (purge): settings gone; data, backups and user kept by design"
dpkg -P "$PKG" 2>&1 | sed 's/^/   /'
[[ ! -e $ENV_FILE && ! -e /etc/entourage-sport ]] || fail "/etc/entourage-sport is still there"
ok "/etc/entourage-sport removed"
if dpkg-statoverride --list "$ENV_FILE" >/dev/null 2>&1; then fail "statoverride left behind"; fi
ok "statoverride removed"
[[ -f $db && $(sha256sum "$db" | cut -d' ' -f1) == "$sum_before" ]] || fail "$db lost or changed by purge"
[[ -d $BACKUPS ]] || fail "$BACKUPS removed by purge"
getent passwd "$SVC_USER" >/dev/null || fail "user $SVC_USER removed by purge"
ok "database, backups folder and user kept"

printf '\n== all checks passed\n'
