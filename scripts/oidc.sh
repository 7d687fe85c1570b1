#!/usr/bin/env bash
# Installs the OpenID Connect provider of the single sign-on tests, idempotently: npm's
# oidc-provider, pinned by tools/oidc/package-lock.json, reinstalled only when the lock
# changed (same pattern as axe-core in scripts/browser.sh). Needs Node.js >= 20.
set -euo pipefail
. "$(dirname "$0")/env.sh"

OIDC_DIR=tools/oidc
if ! cmp -s "$OIDC_DIR/package-lock.json" "$OIDC_DIR/node_modules/.package-lock.json.installed"; then
  if ! command -v npm >/dev/null; then
    sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo"
    echo "oidc: installing Debian's npm"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq npm >/dev/null
  fi
  echo "oidc: installing oidc-provider into $OIDC_DIR/node_modules"
  npm ci --prefix "$OIDC_DIR" --no-audit --no-fund --loglevel=error
  cp "$OIDC_DIR/package-lock.json" "$OIDC_DIR/node_modules/.package-lock.json.installed"
fi
if ! node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)'; then
  echo "oidc: oidc-provider needs Node.js >= 20, found $(node --version)" >&2
  exit 1
fi
