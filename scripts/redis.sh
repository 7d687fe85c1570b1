#!/usr/bin/env bash
# Installs the Redis server from Debian's packages when it is missing, so that the tests and
# benches can run the gateway's replicas against a real Redis as in production (tools/redis.py
# starts a throw-away server; the package's own service is not needed). Idempotent.
set -euo pipefail

if command -v redis-server >/dev/null 2>&1; then
  echo "redis: $(redis-server --version | cut -d' ' -f1-3)"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "redis: redis-server missing; run as root or: apt-get install redis-server" >&2
  exit 1
fi
echo "redis: installing Debian's redis-server package"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# policy-rc.d 101: the package's own service is not started (tools/redis.py starts its own).
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy"
  trap 'rm -f "$policy"' EXIT
fi
apt-get install -y -qq --no-install-recommends redis-server >/dev/null
echo "redis: $(redis-server --version | cut -d' ' -f1-3)"
