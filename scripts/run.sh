#!/usr/bin/env bash
# One command: set up, train if needed, start every process of the assistant.
set -euo pipefail
. "$(dirname "$0")/env.sh"
scripts/setup.sh
scripts/train.sh
echo "run: starting Rasa (:$RASA_PORT), actions (:$ACTIONS_PORT), gateway (:${GATEWAY_PORT:-8080}) — Ctrl-C stops everything"
echo "run: consoles at http://${GATEWAY_HOST:-127.0.0.1}:${GATEWAY_PORT:-8080}/console/ — first login: admin, password CONSOLE_ADMIN_PASSWORD_GENERATED in var/secrets.env"
exec honcho start --no-prefix -f Procfile
