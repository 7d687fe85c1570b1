#!/usr/bin/env bash
# The whole test suite: set-up, test dependencies, then pytest (which trains once).
set -euo pipefail
. "$(dirname "$0")/env.sh"
scripts/setup.sh
scripts/browser.sh
scripts/oidc.sh
exec python -m pytest "$@"
