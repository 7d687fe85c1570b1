#!/usr/bin/env bash
# Installs what the browser tests need, idempotently: Debian's chromium (driven by the
# playwright package of the lock file, which never downloads a browser of its own) and
# axe-core for the accessibility audits.
set -euo pipefail
. "$(dirname "$0")/env.sh"

apt_install() {
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  echo "browser: installing Debian's $* (1/2: package lists)"
  $sudo apt-get update -qq
  echo "browser: installing Debian's $* (2/2: download and set-up, a few minutes)"
  # apt's own progress lines, one per package set up ("Setting up chromium …").
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "$@" \
    | sed -n 's/^Setting up \([^ ]*\).*/browser: set up \1/p'
}

[ -x /usr/bin/chromium ] || apt_install chromium

# axe-core, pinned by tools/axe/package-lock.json; reinstalled only when the lock changed.
AXE_DIR=tools/axe
if ! cmp -s "$AXE_DIR/package-lock.json" "$AXE_DIR/node_modules/.package-lock.json.installed"; then
  command -v npm >/dev/null || apt_install npm
  echo "browser: installing axe-core into $AXE_DIR/node_modules"
  npm ci --prefix "$AXE_DIR" --no-audit --no-fund --loglevel=error
  cp "$AXE_DIR/package-lock.json" "$AXE_DIR/node_modules/.package-lock.json.installed"
fi
