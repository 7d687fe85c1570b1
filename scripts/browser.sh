#!/usr/bin/env bash
# Installs what the browser tests need, idempotently: Debian's chromium (driven by the
# playwright package of the lock file, which never downloads a browser of its own).
set -euo pipefail
. "$(dirname "$0")/env.sh"

if [ ! -x /usr/bin/chromium ]; then
  echo "browser: installing Debian's chromium"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi

# axe-core for the accessibility audits, pinned by tools/axe/package-lock.json; reinstalled
# only when the lock file changed since the last install.
AXE_DIR=tools/axe
if ! cmp -s "$AXE_DIR/package-lock.json" "$AXE_DIR/node_modules/.package-lock.json.installed"; then
  if ! command -v npm >/dev/null; then
    echo "browser: installing Debian's npm"
    if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq npm >/dev/null
  fi
  echo "browser: installing axe-core into $AXE_DIR/node_modules"
  npm ci --prefix "$AXE_DIR" --no-audit --no-fund --loglevel=error
  cp "$AXE_DIR/package-lock.json" "$AXE_DIR/node_modules/.package-lock.json.installed"
fi
