#!/usr/bin/env bash
# A terminal chat with the assistant: starts the action server and Rasa as make run does
# (on ACTIONS_PORT and RASA_PORT, secrets by environment) and talks to Rasa's gateway
# channel (`assistant chat`, tools/chat.py).
set -euo pipefail
. "$(dirname "$0")/env.sh"
scripts/setup.sh
scripts/train.sh
exec "$GATEWAY_VENV/bin/assistant" chat "$@"
