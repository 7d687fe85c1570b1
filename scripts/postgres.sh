#!/usr/bin/env bash
# Installs the PostgreSQL server from Debian's packages when it is missing, so that the
# tests can run against a real PostgreSQL as in production. Idempotent.
set -euo pipefail
. "$(dirname "$0")/debian.sh"

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

if [ -n "$(pg_bin)" ] && [ -x "$(pg_bin)/initdb" ]; then
  echo "postgres: server binaries in $(pg_bin)"
  exit 0
fi
debian_install postgres postgresql
echo "postgres: server binaries in $(pg_bin)"
