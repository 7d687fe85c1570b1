# Sourced by the scripts that install a Debian package the suite needs (postgres.sh,
# redis.sh, nginx.sh, faketime.sh): one way to install it.
# shellcheck shell=bash

# debian_install LABEL PACKAGE...: installs the packages as root, quietly, without starting
# their services (policy-rc.d 101: the tools start throw-away servers of their own).
debian_install() {
  local label="$1"
  shift
  if [ "$(id -u)" != 0 ]; then
    echo "$label: missing; run as root or: apt-get install $*" >&2
    exit 1
  fi
  echo "$label: installing Debian's $* package(s)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  local policy=/usr/sbin/policy-rc.d created=""
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy"
    created=1
  fi
  local status=0
  apt-get install -y -qq --no-install-recommends "$@" >/dev/null || status=$?
  [ -n "$created" ] && rm -f "$policy"
  return "$status"
}
