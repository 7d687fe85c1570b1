#!/usr/bin/env bash
# A terminal chat with the assistant: starts the action server and Rasa as make run does
# (on free loopback ports, secrets by environment) and talks to Rasa's gateway channel.
set -euo pipefail
. "$(dirname "$0")/env.sh"
scripts/setup.sh
scripts/train.sh
exec python -m tools.chat "$@"
