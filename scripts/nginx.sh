#!/usr/bin/env bash
# Installs Debian's nginx when it is missing, so that the suite can test the site of
# deploy/nginx/ on loopback (tools/nginx.py runs a throw-away nginx; the package's own
# service is not started). Idempotent.
set -euo pipefail

if command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; then
  echo "nginx: $(/usr/sbin/nginx -v 2>&1)"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "nginx: nginx missing; run as root or: apt-get install nginx" >&2
  exit 1
fi
echo "nginx: installing Debian's nginx package"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# policy-rc.d 101: the package's own service is not started (tools/nginx.py starts its own).
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy"
  trap 'rm -f "$policy"' EXIT
fi
apt-get install -y -qq --no-install-recommends nginx openssl >/dev/null
echo "nginx: $(/usr/sbin/nginx -v 2>&1)"
