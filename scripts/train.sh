#!/usr/bin/env bash
# Trains a model into models/ (or --out DIR) unless the newest one there already matches
# config and data. Rasa 3 always writes a new model file, restoring unchanged components
# from its cache; a dry run first tells whether any component changed. Its check leaves
# out the responses and components that need no training, so a domain file or a
# config.yml newer than the model means packaging anew. That dry run costs ~20 s (Rasa
# imported, the data read); once it or a training has vouched for the newest model, a
# checksum of every input file (Rasa's pinned requirements and our code too) is kept beside it
# (.inputs.sha256): the same checksum next time is the same answer, without Rasa.
set -euo pipefail
. "$(dirname "$0")/env.sh"

out=models
force=0
prev=""
for arg in "$@"; do
  [ "$prev" = "--out" ] && out="$arg"
  [ "$arg" = "--force" ] && force=1
  prev="$arg"
done
# TZ=UTC: Rasa names a model after the local time; every model name is a UTC time
# ("20261201-143000-…", like the admin's retrained "…-admin-N"), so names sort by age.
train=(env TZ=UTC rasa train --config config.yml --domain bot/domain
       --data bot/rules bot/stories nlu_data/train nlu_data/lookups)

# One training at a time per folder (the test runs' workers, `make train` meanwhile): the
# next one waits, then finds the model up to date.
mkdir -p "$out"
exec 9>"$out/.train.lock"
flock 9

inputs() {  # the checksum of everything the training reads, our components' code included
  find config.yml bot/domain bot/rules bot/stories nlu_data/train nlu_data/lookups \
       requirements/rasa.txt rasa_ext common data -type f ! -path '*/__pycache__/*' -print0 \
    | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum
}
stamp="$out/.inputs.sha256"
newest="$(ls -t "$out"/*.tar.gz 2>/dev/null | head -n 1 || true)"
sum="$(inputs)"
if [ "$force" = 0 ] && [ -n "$newest" ]; then
  if [ "$(cat "$stamp" 2>/dev/null)" = "$(basename "$newest") $sum" ]; then
    echo "train: Nothing changed; $newest is up to date (same inputs as when checked)"
    exit 0
  fi
  if [ -z "$(find bot/domain config.yml -newer "$newest" -print -quit)" ] \
     && "${train[@]}" --out "$out" --dry-run >/dev/null 2>&1; then
    echo "$(basename "$newest") $sum" > "$stamp"
    echo "train: Nothing changed; $newest is up to date"
    exit 0
  fi
fi
case " $* " in *" --out "*) ;; *) set -- --out "$out" "$@" ;; esac
echo "train: training a model into $out (data or configuration changed; several minutes)"
rm -f "$stamp"
"${train[@]}" "$@"
newest="$(ls -t "$out"/*.tar.gz | head -n 1)"
# Vouched for only if the inputs did not change during the training.
[ "$(inputs)" = "$sum" ] && echo "$(basename "$newest") $sum" > "$stamp"
exit 0
