#!/usr/bin/env bash
# Installs Debian's nginx when it is missing, so that the suite can test the site of
# deploy/nginx/ on loopback (tools/nginx.py runs a throw-away nginx; the package's own
# service is not started). Idempotent.
set -euo pipefail
. "$(dirname "$0")/debian.sh"

if command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; then
  echo "nginx: $(/usr/sbin/nginx -v 2>&1)"
  exit 0
fi
debian_install nginx nginx openssl
echo "nginx: $(/usr/sbin/nginx -v 2>&1)"
