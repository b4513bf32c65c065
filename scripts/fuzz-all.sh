#!/usr/bin/env bash
# Runs every Fuzz* target in the module for a budget ($1, default 50000x).
#
# The budget is Go's -fuzztime: "50000x" counts executions, "10m" counts
# wall-clock time. The test command uses a count: Go 1.26's fuzzing
# coordinator can end a time-boxed run with "context deadline exceeded" and
# no failing input when the machine is busy (go.dev/issue/75804), and a
# count has no deadline to race. A longer hunt: scripts/fuzz-all.sh 10m
#
# A run fails only on a real finding: a failing input written to
# testdata/fuzz, or any failure other than the engine's own time-out. That
# time-out (the output ends in "context deadline exceeded" and no input was
# written) is retried, up to twice, and reported.
#
# With SAVE_CORPUS=1, every input the fuzzer found interesting (kept in
# Go's cache, $(go env GOCACHE)/fuzz) is copied into the package's
# testdata/fuzz/<Target>, the committed corpus that plain `go test` replays
# and the next fuzz run starts from:
#   SAVE_CORPUS=1 scripts/fuzz-all.sh 10m
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${1:-50000x}
cache=$(go env GOCACHE)/fuzz
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# fuzz_one runs one target; returns 0 on success, 1 on a finding, 2 on the
# engine's own time-out.
fuzz_one() {
  local pkg=$1 target=$2
  if go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg" >"$log" 2>&1; then
    cat "$log"
    return 0
  fi
  cat "$log"
  if grep -q 'Failing input written to' "$log"; then
    return 1
  fi
  if tail -n 5 "$log" | grep -q '^    context deadline exceeded$'; then
    return 2
  fi
  return 1
}

for pkg in $(go list ./...); do
  dir=$(go list -f '{{.Dir}}' "$pkg")
  for target in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //' | sort -u); do
    for attempt in 1 2 3; do
      echo "fuzz $pkg $target ($fuzztime, attempt $attempt)"
      status=0
      fuzz_one "$pkg" "$target" || status=$?
      if [[ $status == 0 ]]; then
        break
      fi
      if [[ $status == 1 ]]; then
        echo "FAIL: $target found a failing input (see above)" >&2
        exit 1
      fi
      echo "  the fuzzing engine timed out with no failing input (go.dev/issue/75804); running $target again" >&2
      if [[ $attempt == 3 ]]; then
        echo "FAIL: $target: the fuzzing engine timed out three times" >&2
        exit 1
      fi
    done
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
