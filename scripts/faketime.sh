#!/usr/bin/env bash
# Installs Debian's faketime (libfaketime) when it is missing, so that the time-dependent
# tests can be run with the clock moved ahead (README, "Tests"). Idempotent.
#
#   scripts/faketime.sh                      install only
#   scripts/faketime.sh +2y scripts/test.sh tests/test_knowledge.py -q
#                                            run a command with the clock two years ahead
set -euo pipefail

if ! command -v faketime >/dev/null; then
  if [ "$(id -u)" != 0 ]; then
    echo "faketime: missing; run as root or: apt-get install faketime" >&2
    exit 1
  fi
  echo "faketime: installing Debian's faketime package"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends faketime >/dev/null
fi
[ "$#" -eq 0 ] && exit 0
offset="$1"
shift
# -f: the clock keeps running from the shifted start ("+2y" moves it 730 days ahead).
case "$offset" in
  +*y) offset="+$(( ${offset:1:-1} * 365 ))d" ;;
esac
exec faketime -f "$offset" "$@"
