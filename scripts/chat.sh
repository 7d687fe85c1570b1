#!/usr/bin/env bash
# A terminal chat with the assistant (starts the action server in the background).
set -euo pipefail
. "$(dirname "$0")/env.sh"
scripts/setup.sh
scripts/train.sh
rasa run actions --actions actions --port "$ACTIONS_PORT" >var/actions-chat.log 2>&1 &
trap 'kill $! 2>/dev/null' EXIT
rasa shell --endpoints bot/endpoints.yml -m models
