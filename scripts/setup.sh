#!/usr/bin/env bash
# Creates .venv from the pinned lock file. Does nothing when the lock has not changed.
set -euo pipefail
. "$(dirname "$0")/env.sh"

LOCK=requirements/lock.txt
STAMP="$VENV/.lock.sha256"
want="$(sha256sum "$LOCK" | cut -d' ' -f1)"

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
  echo "setup: environment up to date"
  exit 0
fi

echo "setup: installing pinned dependencies into .venv (a few minutes the first time)"
[ -x "$VENV/bin/python" ] || python3.11 -m venv "$VENV" 2>/dev/null || python3 -m venv "$VENV"
"$VENV/bin/python" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' \
  || { echo "setup: Python 3.11 is required" >&2; exit 1; }
"$VENV/bin/pip" install --quiet --upgrade "pip==24.0"
# rasa 3.6 and rasa-sdk declare Requires-Python <3.11 but run on 3.11 (see README);
# every package is pinned, so no resolution happens.
"$VENV/bin/pip" install --quiet --no-deps --ignore-requires-python -r "$LOCK" 2>&1 \
  | grep -v "^WARNING: Location" || true
"$VENV/bin/python" -c "import rasa, rasa_sdk, aiohttp, sqlalchemy" \
  || { echo "setup: installation incomplete" >&2; exit 1; }
echo "$want" > "$STAMP"
echo "setup: done"
