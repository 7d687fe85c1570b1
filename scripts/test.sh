#!/usr/bin/env bash
# The test suite: scripts/test.sh [pytest options] [paths]
#   1. the import boundaries (.importlinter, run by lint-imports in .venv-gateway);
#   2. tests/rasa/ (they import rasa, rasa_sdk, actions or rasa_ext) in Rasa's .venv;
#   3. every other test in .venv-gateway, on TEST_WORKERS processes (default 2, one per
#      core; pytest-xdist hands each a whole module, so a module's servers start once;
#      TEST_WORKERS=0 runs them in this process, for -s or --pdb).
# 2 and 3 run at the same time (2's output is shown when it ends): the gateway's tests
# wait for their servers a good part of the time, and 2 fills it, under `nice -n 15` so
# that it takes only what they leave (the console's retraining, niced 10 as in
# production, is their critical path). With TEST_WORKERS=0, one after the other, in the
# terminal.
# Options (-q, -x, -k EXPR...) go to both pytest runs; a path (or path::test) goes to the
# run of its environment, and with paths only the runs that got one start. Every part
# runs; the exit status is non-zero when any part failed. The model is trained once,
# before both runs, which find it up to date (scripts/train.sh).
set -euo pipefail
. "$(dirname "$0")/env.sh"
scripts/setup.sh
scripts/browser.sh
scripts/oidc.sh
scripts/redis.sh
scripts/nginx.sh
# Installed before the workers start, so that two of them never install at once.
scripts/postgres.sh
scripts/synapse.sh
scripts/faketime.sh
# The model, trained here on the whole machine (a few minutes; nothing when up to date),
# not by the first test that needs it: that test's time limit would then count a
# training slowed down by everything running beside it.
scripts/train.sh --out "${MODEL_DIR:-models}"

options=() rasa_paths=() gateway_paths=()
for arg in "$@"; do
  path="${arg%%::*}"
  if [[ "$arg" != -* ]] && [ -e "$path" ]; then
    case "$(realpath -m --relative-to="$ROOT" "$path")/" in
      tests/rasa/*) rasa_paths+=("$arg") ;;
      ./|tests/) rasa_paths+=(tests/rasa) gateway_paths+=(tests --ignore=tests/rasa) ;;
      *) gateway_paths+=("$arg") ;;
    esac
  else
    options+=("$arg")
  fi
done
if [ ${#rasa_paths[@]} -eq 0 ] && [ ${#gateway_paths[@]} -eq 0 ]; then
  rasa_paths=(tests/rasa)
  gateway_paths=(tests --ignore=tests/rasa)
fi

workers="${TEST_WORKERS:-2}"
gateway_workers=()
if [ "$workers" != 0 ]; then
  # In collection order (tests/conftest.py puts the modules marked `long` first), not
  # xdist's default of the modules with most tests first.
  gateway_workers=(-n "$workers" --dist loadfile --no-loadscope-reorder)
fi

failed=0
# pytest: 0 passed, 5 no test selected (e.g. -k matching the other environment's tests).
run_pytest() {
  local label="$1" venv="$2"
  shift 2
  local start=$SECONDS status=0
  echo "test: $label — pytest in $(basename "$venv")"
  "$venv/bin/python" -m pytest ${options[@]+"${options[@]}"} "$@" || status=$?
  echo "test: $label finished in $((SECONDS - start)) s (exit $status)"
  case "$status" in 0|5) ;; *) failed=1 ;; esac
}

echo "test: import boundaries (.importlinter)"
if report="$("$GATEWAY_VENV/bin/lint-imports" --no-cache 2>&1)"; then
  echo "$report" | grep -E " (KEPT|BROKEN)$" || true
else
  echo "$report" | sed -n '/^Contracts$/,$p'
  echo "test: import boundaries broken"
  failed=1
fi
rasa_pid="" rasa_log=""
if [ ${#rasa_paths[@]} -gt 0 ]; then
  if [ "$workers" != 0 ] && [ ${#gateway_paths[@]} -gt 0 ]; then
    rasa_log="$(mktemp)"
    trap 'rm -f "$rasa_log"' EXIT
    ( renice -n 15 -p "$BASHPID" >/dev/null
      run_pytest "Rasa's environment" "$VENV" "${rasa_paths[@]}"; exit "$failed" ) \
      >"$rasa_log" 2>&1 &
    rasa_pid=$!
    echo "test: Rasa's environment started beside the gateway's (its output when it ends)"
  else
    run_pytest "Rasa's environment" "$VENV" "${rasa_paths[@]}"
  fi
fi
if [ ${#gateway_paths[@]} -gt 0 ]; then
  run_pytest "the gateway's environment" "$GATEWAY_VENV" \
    ${gateway_workers[@]+"${gateway_workers[@]}"} "${gateway_paths[@]}"
fi
if [ -n "$rasa_pid" ]; then
  wait "$rasa_pid" || failed=1
  cat "$rasa_log"
fi
exit "$failed"
