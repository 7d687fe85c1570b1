# Sourced by the other scripts: loads .env, creates local secrets once, applies defaults.
# shellcheck shell=bash
# The settings are those of common/config.py's load_environment (the assistant tool
# applies the same): a variable already in the environment wins over .env; then the
# secrets generated once into var/secrets.env (mode 600); then the local defaults.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT" || exit 1
mkdir -p var

_settings="$(PYTHONPATH="$ROOT" "$(command -v python3.11 || command -v python3)" -m common.config --shell)" \
  || exit 1
eval "$_settings"
unset _settings

# Two environments (scripts/setup.sh): Rasa's (.venv: Rasa, the action server, `rasa`,
# `honcho`, first on PATH) and the gateway's (.venv-gateway: integrations/, the test tools,
# the `assistant` command).
VENV="$ROOT/.venv"
GATEWAY_VENV="$ROOT/.venv-gateway"
export RASA_VENV GATEWAY_VENV
export PATH="$VENV/bin:$PATH"
