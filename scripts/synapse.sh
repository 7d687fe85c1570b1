#!/usr/bin/env bash
# Installs a real Matrix homeserver (matrix-synapse, SQLite) into its own virtual
# environment, var/synapse-venv, for the Matrix tests. Does nothing when it is there.
set -euo pipefail
. "$(dirname "$0")/env.sh"

SYNAPSE_VERSION="${SYNAPSE_VERSION:-1.163.2}"
SVENV="${SYNAPSE_VENV:-$ROOT/var/synapse-venv}"
STAMP="$SVENV/.synapse-version"

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$SYNAPSE_VERSION" ] \
   && [ -x "$SVENV/bin/register_new_matrix_user" ]; then
  echo "synapse: matrix-synapse $SYNAPSE_VERSION already installed in $SVENV"
  exit 0
fi

echo "synapse: installing matrix-synapse $SYNAPSE_VERSION into $SVENV"
PY="$(command -v python3.11 || command -v python3)"
"$PY" -m venv "$SVENV"
"$SVENV/bin/python" -m pip install --quiet --disable-pip-version-check \
  "matrix-synapse==$SYNAPSE_VERSION" 2>&1 | grep -v "^WARNING: Location" || true
"$SVENV/bin/python" -c "import synapse" || { echo "synapse: installation failed" >&2; exit 1; }
echo "$SYNAPSE_VERSION" > "$STAMP"
echo "synapse: done"
