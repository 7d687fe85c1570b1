# Sourced by the other scripts: loads .env, applies defaults, creates local secrets once.
# shellcheck shell=bash
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT" || exit 1
mkdir -p var

set -a
# shellcheck disable=SC1091
[ -f .env ] && . ./.env
# Secrets generated on first run for a local installation, never committed.
for secret in RASA_TOKEN_GENERATED ACTIONS_SECRET_GENERATED GATEWAY_CHANNEL_SECRET_GENERATED \
  CONSOLE_ADMIN_PASSWORD_GENERATED; do
  if ! grep -qs "^$secret=" var/secrets.env; then
    (umask 077; printf '%s=%s\n' "$secret" "$(od -An -N18 -tx1 /dev/urandom | tr -d ' \n')" \
      >> var/secrets.env)
  fi
done
# shellcheck disable=SC1091
. var/secrets.env
: "${RASA_TOKEN:=$RASA_TOKEN_GENERATED}"
# Rasa sends ACTIONS_SECRET to the action server (bot/endpoints.yml); the gateway sends
# GATEWAY_CHANNEL_SECRET to Rasa's gateway channel (bot/credentials.yml).
: "${ACTIONS_SECRET:=$ACTIONS_SECRET_GENERATED}"
: "${GATEWAY_CHANNEL_SECRET:=$GATEWAY_CHANNEL_SECRET_GENERATED}"
# First console account "admin" (created only while no staff account exists).
: "${CONSOLE_ADMIN_PASSWORD:=$CONSOLE_ADMIN_PASSWORD_GENERATED}"
: "${DATABASE_URL:=sqlite:///$ROOT/var/assistant.db}"
: "${RASA_PORT:=5005}"
: "${ACTIONS_PORT:=5055}"
: "${RASA_URL:=http://127.0.0.1:$RASA_PORT}"
: "${ACTION_SERVER_URL:=http://127.0.0.1:$ACTIONS_PORT/webhook}"
: "${DATA_DIR:=$ROOT/data}"
: "${TZ:=Europe/Paris}"
: "${PYTHONPATH:=$ROOT}"
: "${LOG_LEVEL:=INFO}"
: "${SQLALCHEMY_SILENCE_UBER_WARNING:=1}"
: "${RASA_TELEMETRY_ENABLED:=false}"
set +a

# Two environments (scripts/setup.sh): Rasa's (.venv: Rasa, the action server, `rasa`,
# `honcho`, first on PATH) and the gateway's (.venv-gateway: integrations/, the test tools).
VENV="$ROOT/.venv"
GATEWAY_VENV="$ROOT/.venv-gateway"
: "${RASA_VENV:=$VENV}"
export RASA_VENV GATEWAY_VENV
export PATH="$VENV/bin:$PATH"
