#!/usr/bin/env bash
# Benchmarks quoted in the README: held-out NLU quality, latency, training time.
set -euo pipefail
. "$(dirname "$0")/env.sh"
scripts/train.sh >/dev/null
echo "== NLU quality on the held-out split (nlu_data/test) =="
python -m bench.nlu --errors "${BENCH_ERRORS:-0}"
echo
echo "== Latency (loopback, real Rasa + action server) =="
python -m bench.latency
echo
echo "== Training time =="
python -m bench.training
