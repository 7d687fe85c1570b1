#!/usr/bin/env bash
# rasa data validate; every warning fails except responses sent by custom actions.
set -euo pipefail
. "$(dirname "$0")/env.sh"
exec python -m tools.validate
