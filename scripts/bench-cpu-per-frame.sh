#!/usr/bin/env bash
# CPU per frame: where it goes in framefan's render-chunk, and what the whole render costs
# against the HyperFrames CLI on the same project. CPU-seconds, not wall: the machines are
# shared, and CPU time moves far less with the load than wall time does.
#
#   bash scripts/bench-cpu-per-frame.sh [PROJECT] [RUNS]      (default examples/title-card, 3)
#
# PROJECT must be one both renderers take (HyperFrames refuses examples/nested-scenes' bare
# sub-composition files).
#
# For each run, interleaved:
#   1. `framefan render-chunk` of a one-chunk plan (all frames, 2 browsers): CPU of the whole
#      process tree (getrusage RUSAGE_CHILDREN: framefan reaps its browsers, so their CPU is in
#      it), per frame, with `reusedFrames`;
#   2. `framefan render PROJECT` at its defaults, and 3. `hyperframes render PROJECT` (the
#      reference CLI, `target/hf-reference`, see .ci/deps) at its defaults: CPU per frame of
#      the whole tree (node, Chromium, ffmpeg for HyperFrames).
# Then once, `perf record` (cpu-clock, 999 Hz, inheriting into the browsers) of step 1, reported
# by command and shared object: the split between Chromium's processes and framefan's threads,
# and inside framefan between x264, libav's decoders and framefan's own code.
#
# Not part of CI (no timed assertions).
set -euo pipefail
cd "$(dirname "$0")/.."
project=${1:-examples/title-card}
runs=${2:-3}
cargo build --release --quiet --bin framefan
bin=$PWD/target/release/framefan
# The reference CLI's own node_modules: the page gets the npm bytes HyperFrames inlines.
cache=${FRAMEFAN_PACKAGE_CACHE:-$PWD/target/hf-reference}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# A copy: the HyperFrames CLI writes its state (`.hyperframes/`) into the project it renders.
cp -r "$project" "$work/project"
project=$work/project

# cpu LABEL FRAMES CMD...: run CMD, print wall, tree CPU and CPU per frame (FRAMES 0: read
# `frames` from CMD's JSON line).
cpu() {
  python3 - "$@" <<'EOF'
import json, resource, subprocess, sys, time
label, frames, cmd = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
t = time.monotonic()
out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=True).stdout
wall = time.monotonic() - t
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
cpu = ru.ru_utime + ru.ru_stime
extra = ""
line = out.decode().strip().splitlines()[-1] if out.strip() else "{}"
try:
    r = json.loads(line)
    frames = frames or r.get("frames", 0)
    if "reusedFrames" in r:
        extra = f" reused={r['reusedFrames']}"
except ValueError:
    pass
print(f"{label:<22} wall={wall:6.2f}s cpu={cpu:6.2f}s frames={frames} cpu/frame={1000 * cpu / frames:6.1f}ms{extra}")
EOF
}

"$bin" plan "$project" "$work/plan" --package-cache "$cache" --chunk-size 3600 --json >"$work/plan.json"
frames=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(r.get("result", r)["totalFrames"])' "$work/plan.json")
source target/hf-reference/env.sh
for run in $(seq "$runs"); do
  echo "run $run"
  rm -rf "$work/chunk.mp4" "$work/ff.mp4" "$work/hf.mp4"
  cpu render-chunk 0 "$bin" render-chunk "$work/plan" "$work/chunk.mp4" --index 0 --browsers 2 --json
  cpu framefan-render "$frames" "$bin" render "$project" -o "$work/ff.mp4" --package-cache "$cache" --json
  (cd "$project" && cpu hyperframes-render "$frames" $HF render . -o "$work/hf.mp4" --quiet)
done
rm -f "$work/chunk.mp4"
perf record -e cpu-clock -F 999 -g -o "$work/perf.data" -- \
  "$bin" render-chunk "$work/plan" "$work/chunk.mp4" --index 0 --browsers 2 --json >/dev/null 2>&1
perf report -i "$work/perf.data" --no-children --sort comm,dso -g none --stdio 2>/dev/null | grep -v '^$' | grep '%' | head -25
echo "framefan's process, by symbol:"
perf report -i "$work/perf.data" --no-children --comm framefan --sort dso,sym -g none --stdio 2>/dev/null \
  | grep '%' | grep -v '^#' | head -25
