#!/usr/bin/env bash
# Runs every native fuzz test in the module for a short time each
# (FUZZTIME, default 5s). The seed corpora already run in "go test".
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${FUZZTIME:-5s}
for pkg in $(go list ./...); do
  for target in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
    echo "fuzz $pkg $target ($fuzztime)"
    go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg" > /tmp/genscope-fuzz.log 2>&1 || {
      cat /tmp/genscope-fuzz.log; exit 1; }
  done
done
