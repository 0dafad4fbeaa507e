#!/usr/bin/env bash
# Bounded fuzzing of framefan's parsers (fuzz/, cargo-fuzz + libFuzzer): each target runs for
# FUZZ_SECONDS (default 25) from the committed seeds in fuzz/seeds/<target>, in a scratch copy
# so the seeds never grow. Prints the executions of each target and in all; exits non-zero if
# any target found a crash, leak or hang (the input is kept in fuzz/artifacts/<target>/; commit
# it as a regression test). Stable toolchain: no sanitizer (`--sanitizer none`), so the targets
# find panics, aborts, hangs and runaway memory, not silent memory errors.
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
cd "$REPO/fuzz"
PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
SECONDS_PER_TARGET="${FUZZ_SECONDS:-25}"
command -v cargo-fuzz >/dev/null || { echo "check-fuzz: cargo-fuzz missing (bash .ci/install-deps)" >&2; exit 1; }
# The same dependency versions as the product: start from its lock file.
[ -f Cargo.lock ] || cp ../Cargo.lock Cargo.lock

started=$(date +%s)
cargo fuzz build --sanitizer none
built=$(date +%s)
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
total=0
failed=()
for target in $(cargo fuzz list); do
  mkdir -p "$scratch/corpus/$target" "artifacts/$target"
  cp -r "seeds/$target/." "$scratch/corpus/$target/" 2>/dev/null || true
  log="$scratch/$target.log"
  # -timeout: one input running this long is a hang; -rss_limit_mb: runaway memory.
  if TMPDIR="$scratch" cargo fuzz run --sanitizer none "$target" "$scratch/corpus/$target" -- \
      -max_total_time="$SECONDS_PER_TARGET" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="artifacts/$target/" >"$log" 2>&1; then
    status=ok
  else
    status=FAILED
    failed+=("$target")
    grep -E "panicked|ERROR|SUMMARY|Test unit written" "$log" | head -20 || true
  fi
  runs=$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -Eo '[0-9]+$' | tail -1 || echo 0)
  total=$((total + ${runs:-0}))
  printf 'fuzz %-24s %s, %s executions\n' "$target" "$status" "${runs:-0}"
done
echo "fuzz: $total executions in all; build $((built - started)) s, total $(( $(date +%s) - started )) s"
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: crashes in ${failed[*]} (inputs in fuzz/artifacts/)" >&2
  exit 1
fi
