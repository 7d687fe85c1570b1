#!/usr/bin/env bash
# One command: set up, train if needed, start every process of the assistant.
set -euo pipefail
. "$(dirname "$0")/env.sh"
scripts/setup.sh
scripts/train.sh
echo "run: starting Rasa (:$RASA_PORT), actions (:$ACTIONS_PORT), gateway (:${GATEWAY_PORT:-8080}) — Ctrl-C stops everything"
exec honcho start --no-prefix -f Procfile
