#!/usr/bin/env bash
# Trains a model into models/ unless the newest one already matches config and data
# (Rasa compares fingerprints and keeps the old model when nothing changed).
set -euo pipefail
. "$(dirname "$0")/env.sh"
exec rasa train \
  --config config.yml \
  --domain bot/domain \
  --data bot/rules bot/stories nlu_data/train nlu_data/lookups \
  --out models \
  "$@"
