#!/usr/bin/env bash
# Installs the Redis server from Debian's packages when it is missing, so that the tests and
# benches can run the gateway's replicas against a real Redis as in production (tools/redis.py
# starts a throw-away server; the package's own service is not needed). Idempotent.
set -euo pipefail
. "$(dirname "$0")/debian.sh"

if command -v redis-server >/dev/null 2>&1; then
  echo "redis: $(redis-server --version | cut -d' ' -f1-3)"
  exit 0
fi
debian_install redis redis-server
echo "redis: $(redis-server --version | cut -d' ' -f1-3)"
