#!/usr/bin/env bash
# Proves the README's two commands work on a fresh, busy machine every time.
# Clones HEAD into a fresh directory, keeps one core busy with a CPU hog
# throughout, then:
#   1. times `go run ./examples/repl` to its first answer with an empty Go
#      build cache and an empty module cache (a new user's first run);
#   2. runs the whole `make test` (gofmt, vet, unit and race, integration,
#      fuzz) RUNS times in a row (default 5). Every run must pass. The first
#      has an empty build cache and module cache (set KEEP_CACHE=1 to skip
#      that): its time is the cold figure README quotes; the others are warm.
# MinIO and node-postgres stay where `make test` installs them (the user
# cache); delete ~/.cache/conncat first to time their installation too.
#   scripts/test-repeat.sh            # about 40 minutes on 2 cores
#   RUNS=2 scripts/test-repeat.sh
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
runs=${RUNS:-5}
work=$(mktemp -d)
hog_pid=
cleanup() {
  [[ -n $hog_pid ]] && kill "$hog_pid" 2>/dev/null || true
  chmod -R u+w "$work" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

git clone --quiet "$repo" "$work/conncat"
# One busy loop: on 2 cores, the other core is fully loaded throughout.
( while :; do :; done ) &
hog_pid=$!

start=$(date +%s)
if ! (cd "$work/conncat" && GOCACHE="$work/gocache-repl" GOMODCACHE="$work/modcache-repl" \
  go run ./examples/repl -db "$work/first.db" -c "SHOW CONNECTIONS" >"$work/repl.log" 2>&1); then
  cat "$work/repl.log"
  echo "go run ./examples/repl FAILED after $(( $(date +%s) - start )) s" >&2
  exit 1
fi
echo "go run ./examples/repl answered in $(( $(date +%s) - start )) s (empty build and module caches)"

for run in $(seq 1 "$runs"); do
  cache_env=()
  if [[ $run == 1 && -z ${KEEP_CACHE:-} ]]; then
    cache_env=(GOCACHE="$work/gocache" GOMODCACHE="$work/modcache")
  fi
  start=$(date +%s)
  if ! (cd "$work/conncat" && env "${cache_env[@]}" make test >"$work/run$run.log" 2>&1); then
    tail -n 60 "$work/run$run.log"
    echo "run $run FAILED after $(( $(date +%s) - start )) s (log above)" >&2
    exit 1
  fi
  echo "run $run passed in $(( $(date +%s) - start )) s$([[ ${#cache_env[@]} -gt 0 ]] && echo ' (empty build and module caches)')"
done
