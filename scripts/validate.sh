#!/usr/bin/env bash
# Checks domain, rules, stories and NLU data for inconsistencies.
set -euo pipefail
. "$(dirname "$0")/env.sh"
exec rasa data validate \
  --config config.yml \
  --domain bot/domain \
  --data bot/rules bot/stories nlu_data/train nlu_data/lookups \
  --fail-on-warnings "$@"
