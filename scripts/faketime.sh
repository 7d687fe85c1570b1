#!/usr/bin/env bash
# Installs Debian's faketime (libfaketime) when it is missing, so that the time-dependent
# tests can be run with the clock moved ahead (README, "Tests"). Idempotent.
#
#   scripts/faketime.sh                      install only
#   scripts/faketime.sh +2y scripts/test.sh tests/test_knowledge.py -q
#                                            run a command with the clock two years ahead
set -euo pipefail
. "$(dirname "$0")/debian.sh"

if ! command -v faketime >/dev/null; then
  debian_install faketime faketime
fi
[ "$#" -eq 0 ] && exit 0
offset="$1"
shift
# -f: the clock keeps running from the shifted start ("+2y" moves it 730 days ahead).
case "$offset" in
  +*y) offset="+$(( ${offset:1:-1} * 365 ))d" ;;
esac
exec faketime -f "$offset" "$@"
