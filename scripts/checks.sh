#!/usr/bin/env bash
# The checks beyond `cargo test` that CI runs: every `scripts/check-*.sh`, in name order, each
# bounded by its own time limit and timed here. The first failure stops the run.
set -euo pipefail
cd "$(dirname "$0")/.."
shopt -s nullglob
for check in scripts/check-*.sh; do
  start=$(date +%s)
  echo "== $check"
  bash "$check"
  echo "== $check passed in $(( $(date +%s) - start )) s"
done
