#!/usr/bin/env bash
# One command: set up, train if needed, start every process of the assistant.
set -euo pipefail
. "$(dirname "$0")/env.sh"
scripts/setup.sh
scripts/train.sh
"$VENV/bin/python" -m common.migrate upgrade
# The model an admin activated or rolled back to (models/active, written by
# integrations/admin), unless train.sh has since trained a newer one from changed data;
# else the newest model in models/.
RASA_MODEL=models
newest="$(ls -t models/*.tar.gz 2>/dev/null | head -n 1 || true)"
if [ -s models/active ]; then
  active="$(head -n 1 models/active)"
  case "$active" in /*) ;; *) active="models/$active" ;; esac
  if [ -f "$active" ] && [ ! "$newest" -nt models/active ]; then
    RASA_MODEL="$active"
  elif [ -f "$active" ]; then
    echo "run: $newest is newer than the activated model; it is used (see ./assistant admin models)"
  fi
fi
export RASA_MODEL
echo "run: starting Rasa (:$RASA_PORT), actions (:$ACTIONS_PORT), gateway (:${GATEWAY_PORT:-8080}) — Ctrl-C stops everything"
echo "run: consoles at http://${GATEWAY_HOST:-127.0.0.1}:${GATEWAY_PORT:-8080}/console/"
# The first-login line, only while no active admin exists (the gateway then creates "admin").
"$GATEWAY_VENV/bin/assistant" staff hint | sed 's/^/run: /'
# Each process checks its own port and database and fails in one line naming the setting.
exec honcho start --no-prefix -f Procfile
