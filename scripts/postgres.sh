#!/usr/bin/env bash
# Installs the PostgreSQL server from Debian's packages when it is missing, so that the
# tests can run against a real PostgreSQL as in production. Idempotent.
set -euo pipefail

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

if [ -n "$(pg_bin)" ] && [ -x "$(pg_bin)/initdb" ]; then
  echo "postgres: server binaries in $(pg_bin)"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "postgres: PostgreSQL server missing; run as root or: apt-get install postgresql" >&2
  exit 1
fi
echo "postgres: installing Debian's postgresql package"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends postgresql >/dev/null
echo "postgres: server binaries in $(pg_bin)"
