#!/usr/bin/env bash
# Builds the Debian package (release build) and prints the path of the .deb.
#
#   scripts/package-deb.sh                 # target/debian/entourage-sport_<version>-1_<arch>.deb
#   CARGO_TARGET_DIR=/some/target scripts/package-deb.sh
#
# What goes in it: [package.metadata.deb] in Cargo.toml and packaging/debian/.
# Installing and running it: docs/runbook.md; checking it end to end: scripts/verify-deb.sh.
set -euo pipefail

# Pinned so every machine builds the same package layout; raise it on purpose.
CARGO_DEB_VERSION=3.8.0

cd "$(dirname "$0")/.."

installed=$(cargo deb --version 2>/dev/null || true)
if [[ "$installed" != *"$CARGO_DEB_VERSION"* ]]; then
    echo "installing cargo-deb $CARGO_DEB_VERSION (found: ${installed:-none})" >&2
    cargo install cargo-deb --locked --version "$CARGO_DEB_VERSION"
fi

# dpkg-shlibdeps (package dpkg-dev) computes Depends ($auto); strip shrinks the binary.
for tool in dpkg-shlibdeps strip; do
    if ! command -v "$tool" >/dev/null; then
        echo "missing $tool: apt-get install dpkg-dev binutils" >&2
        exit 1
    fi
done

# --locked: the package holds exactly the dependency versions of Cargo.lock.
# cargo-deb prints the path of the .deb it wrote as its last line of stdout.
deb=$(cargo deb --locked "$@" | tail -n 1)
if [[ ! -f "$deb" ]]; then
    echo "cargo deb did not report a package file (got: $deb)" >&2
    exit 1
fi
echo "$deb"
