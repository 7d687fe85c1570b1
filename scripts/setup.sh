#!/usr/bin/env bash
# Creates the two environments from their lock files, each only when its lock changed:
#   .venv          Rasa, the action server (requirements/rasa.txt)
#   .venv-gateway  the gateway, on current releases (requirements/gateway.txt)
# Every package is pinned with its hash (pip --require-hashes); see requirements/*.in and
# tools/lock.py for how the locks are made.
set -euo pipefail
. "$(dirname "$0")/env.sh"

PYTHON="$(command -v python3.11 || command -v python3)"

# remove_unlocked VENV LOCK: uninstalls what an older lock installed and this one dropped.
remove_unlocked() {
  "$1/bin/python" - "$2" <<'PY'
import re
import subprocess
import sys
from importlib.metadata import distributions

def norm(name):
    return re.sub(r"[-_.]+", "-", name).lower()

with open(sys.argv[1], encoding="utf-8") as lock:
    locked = {norm(line.split("==")[0]) for line in lock if re.match(r"[A-Za-z]", line)}
installed = {norm(d.metadata["Name"]) for d in distributions()}
# assistant-departement: this project, the `assistant` command (installed below).
extra = sorted(installed - locked - {"pip", "setuptools", "wheel", "assistant-departement"})
if extra:
    print("setup: removing " + " ".join(extra) + " (no longer in the lock)")
    subprocess.run([sys.executable, "-m", "pip", "uninstall", "--yes", "--quiet", *extra], check=True)
PY
}

# install_env VENV LOCK STEP IMPORTS [pip options]: (re)installs VENV from LOCK unless the
# hash of LOCK is the one stamped in VENV; prints one line per package; checks that IMPORTS
# work and, for a resolved lock (not --no-deps), that `pip check` is clean.
install_env() {
  local venv="$1" lock="$2" step="$3" imports="$4"
  shift 4
  local stamp="$venv/.lock.sha256" want name total n=0
  want="$(sha256sum "$lock" | cut -d' ' -f1)"
  name="$(basename "$venv")"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    echo "setup: $name: environment up to date ($step)"
    return 0
  fi
  total="$(grep -c '^[A-Za-z]' "$lock")"
  echo "setup: installing $name from $lock, $total packages ($step; a few minutes the first time)"
  [ -x "$venv/bin/python" ] || "$PYTHON" -m venv "$venv"
  "$venv/bin/python" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' \
    || { echo "setup: Python 3.11 is required" >&2; exit 1; }
  rm -f "$stamp"
  # pip names each package as it collects it: that is the progress line (pip's whole
  # output is kept in the environment's .pip-install.log).
  "$venv/bin/python" -m pip install --disable-pip-version-check --progress-bar off \
    --require-hashes "$@" -r "$lock" 2>&1 | tee "$venv/.pip-install.log" \
    | while IFS= read -r line; do
        case "$line" in
          Collecting\ *|Processing\ *|Requirement\ already\ satisfied:\ *)
            n=$((n + 1))
            line="${line#*: }"; line="${line#Collecting }"; line="${line#Processing }"
            line="${line%% (from *}"; line="${line%% in *}"
            echo "setup: installing ${line##*/} into $name ($n/$total)" ;;
          ERROR:*|*[Ee]rror*) echo "$line" >&2 ;;
        esac
      done
  remove_unlocked "$venv" "$lock"
  "$venv/bin/python" -c "$imports" \
    || { echo "setup: $name incomplete" >&2; exit 1; }
  case " $* " in
    *" --no-deps "*) ;;
    *) "$venv/bin/python" -m pip check --disable-pip-version-check \
         || { echo "setup: $name is not consistent (pip check)" >&2; exit 1; } ;;
  esac
  echo "$want" > "$stamp"
  echo "setup: $name done"
}

# rasa 3.6 and rasa-sdk declare Requires-Python <3.11 but run on 3.11 (see README): the
# Rasa lock is installed without resolution, with the pip it was made for (the gateway's
# lock pins its own pip).
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip --version | grep -q "^pip 24.0 " \
  || "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "pip==24.0"
install_env "$VENV" requirements/rasa.txt "1/2" \
  "import rasa, rasa_sdk, aiohttp, sqlalchemy, alembic, text_to_num" \
  --no-deps --ignore-requires-python
install_env "$GATEWAY_VENV" requirements/gateway.txt "2/2" \
  "import aiohttp, sqlalchemy, nio, telegram, alembic, pytest, importlinter"

# The `assistant` command (pyproject.toml's console script) into .venv-gateway: this
# project in editable mode, nothing resolved or downloaded (--no-deps --no-index), so the
# hash-locked environment stays as it is. Redone when pyproject.toml changes.
tool_stamp="$GATEWAY_VENV/.assistant.sha256"
want_tool="$(sha256sum pyproject.toml | cut -d' ' -f1)"
if [ ! -x "$GATEWAY_VENV/bin/assistant" ] || [ "$(cat "$tool_stamp" 2>/dev/null)" != "$want_tool" ]; then
  echo "setup: installing the assistant command into $(basename "$GATEWAY_VENV")"
  "$GATEWAY_VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps \
    --no-build-isolation --no-index -e "$ROOT" >"$GATEWAY_VENV/.assistant-install.log" 2>&1 \
    || { cat "$GATEWAY_VENV/.assistant-install.log" >&2; echo "setup: assistant command not installed" >&2; exit 1; }
  echo "$want_tool" > "$tool_stamp"
fi
