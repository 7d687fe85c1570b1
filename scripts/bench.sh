#!/usr/bin/env bash
# Benchmarks quoted in the README: held-out NLU quality, latency, training time.
set -euo pipefail
. "$(dirname "$0")/env.sh"
# Quiet by default: the figures only. Training (when data changed) logs to a file.
mkdir -p var/log
echo "bench: checking the model, trained again only if data changed (log: var/log/bench-train.log)"
scripts/train.sh >var/log/bench-train.log 2>&1 || { tail -n 20 var/log/bench-train.log >&2; exit 1; }
echo "== NLU quality on the held-out split (nlu_data/test) =="
python -m bench.nlu --errors "${BENCH_ERRORS:-0}"
echo
echo "== Latency (loopback, real Rasa + action server) =="
python -m bench.latency
echo
echo "== Training time =="
python -m bench.training
