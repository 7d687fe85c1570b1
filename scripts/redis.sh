#!/usr/bin/env bash
# Installs the Redis server from Debian's packages when it is missing, so that the tests and
# benches can run the gateway's replicas against a real Redis as in production (tools/redis.py
# starts a throw-away server; the package's own service is not needed). Idempotent.
set -euo pipefail
. "$(dirname "$0")/debian.sh"

# The version from dpkg, not `redis-server --version`: that hangs under faketime
# (tests/test_clock_ahead.py runs scripts/test.sh with the clock moved ahead).
version() { dpkg-query -W -f='${Version}' redis-server 2>/dev/null || echo "(not from Debian)"; }

if command -v redis-server >/dev/null 2>&1; then
  echo "redis: redis-server $(version)"
  exit 0
fi
debian_install redis redis-server
echo "redis: redis-server $(version)"
