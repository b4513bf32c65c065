#!/usr/bin/env bash
# Runs every Fuzz* target in the module for a short time ($1, default 5s).
# A longer hunt is the same with a bigger time: scripts/fuzz-all.sh 10m
#
# With SAVE_CORPUS=1, every input the fuzzer found interesting (kept in
# Go's cache, $(go env GOCACHE)/fuzz) is copied into the package's
# testdata/fuzz/<Target>, the committed corpus that plain `go test` replays
# and the next fuzz run starts from:
#   SAVE_CORPUS=1 scripts/fuzz-all.sh 10m
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${1:-5s}
cache=$(go env GOCACHE)/fuzz
for pkg in $(go list ./...); do
  dir=$(go list -f '{{.Dir}}' "$pkg")
  for target in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //' | sort -u); do
    echo "fuzz $pkg $target ($fuzztime)"
    go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg"
    found="$cache/$pkg/$target"
    if [[ "${SAVE_CORPUS:-}" == 1 && -d "$found" ]]; then
      mkdir -p "$dir/testdata/fuzz/$target"
      cp -n "$found"/* "$dir/testdata/fuzz/$target/"
      echo "  corpus: $(ls "$dir/testdata/fuzz/$target" | wc -l) inputs in ${dir#$PWD/}/testdata/fuzz/$target"
      # The cache can hold inputs from an older signature of the target,
      # which go test refuses: replay the corpus before it is committed.
      go test -count=1 -run "^${target}\$" "$pkg" >/dev/null
    fi
  done
done
