#!/usr/bin/env bash
# What the plan-time probe costs: plans each example N times (default 15) with the release binary
# and prints, per example, the median of the whole plan's wall time and of the probe's own
# (`timings.probeMs` of `framefan plan --json`: browser launch, page load, readiness, the watched
# first seek, kill). With a declared duration the probe runs beside the media step, so what it
# adds to a plan with media is less than probeMs; for a page without media it is all of it.
#
#   bash scripts/bench-plan-probe.sh [RUNS]
#
# Medians, not means: the machines are shared and noisy. Not part of CI (no timed assertions).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-15}
cargo build --release --quiet --bin framefan
[ -f examples/media/assets/clip.mp4 ] || cargo run --release --quiet --example gen-media
bin=target/release/framefan
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
printf '%-14s %6s %12s %12s %12s\n' example runs total_ms probe_ms media_ms
for example in title-card nested-scenes media; do
  : >"$work/runs.ndjson"
  for _ in $(seq "$runs"); do
    "$bin" plan "examples/$example" "$work/plan" --package-cache target/package-cache --json 2>/dev/null \
      >>"$work/runs.ndjson"
  done
  python3 - "$example" "$runs" "$work/runs.ndjson" <<'EOF'
import json, statistics, sys
example, runs, path = sys.argv[1], sys.argv[2], sys.argv[3]
rows = [json.loads(line) for line in open(path) if line.strip()]
timings = [r.get("result", r)["timings"] for r in rows]
med = lambda key: statistics.median(t[key] for t in timings)
print(f"{example:<14} {runs:>6} {med('totalMs'):>12} {med('probeMs'):>12} {med('mediaMs'):>12}")
EOF
done
