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

echo "synapse: installing matrix-synapse $SYNAPSE_VERSION into $SVENV (1/2: virtual environment)"
PY="$(command -v python3.11 || command -v python3)"
"$PY" -m venv "$SVENV"
echo "synapse: 2/2: matrix-synapse and its dependencies, one line per package (a few minutes)"
# pip names each package as it collects it: that is the progress line (its whole output
# is kept in $SVENV/.pip-install.log).
n=0
"$SVENV/bin/python" -m pip install --disable-pip-version-check --progress-bar off \
  "matrix-synapse==$SYNAPSE_VERSION" 2>&1 | tee "$SVENV/.pip-install.log" \
  | while IFS= read -r line; do
      case "$line" in
        Collecting\ *) n=$((n + 1)); line="${line#Collecting }"; echo "synapse: package $n: ${line%% (*}" ;;
        ERROR:*) echo "$line" >&2 ;;
      esac
    done
"$SVENV/bin/python" -c "import synapse" || { echo "synapse: installation failed" >&2; exit 1; }
echo "$SYNAPSE_VERSION" > "$STAMP"
echo "synapse: done"
