#!/usr/bin/env bash
# framefan against the reference: renders the same compositions with `framefan render` and with
# the HyperFrames CLI that .ci/install-deps installs for the parity suite (target/hf-reference),
# both at their default quality and worker count, interleaved A B A B, and reports per
# composition wall seconds, CPU seconds of the whole process tree, peak memory of the whole tree
# (min / median / max and framefan ÷ HyperFrames pair by pair), output sizes, and checks every
# output. Method and figures: benches/README.md, "framefan against HyperFrames".
#
#   bash scripts/bench-vs-hf.sh [--pairs N] [--warmup N] [--project DIR]... [--out DIR]
#                                [--sample-ms N] [--smoke]
#
#   --pairs N      measured pairs per composition (default 3)
#   --warmup N     unmeasured pairs first, per composition (default 1): the page cache and
#                  HyperFrames' state in its HOME are warm, as for a user's
#                  second render
#   --project DIR  bench this project instead of benches/compositions/{velocity-lanes,relay}
#                  (repeatable; any HyperFrames project whose CDN scripts the reference holds)
#   --out DIR      where runs, logs, outputs and report.md go (default: a new mktemp -d)
#   --sample-ms N  memory sampling interval (default 1000; each sample costs ~30 ms of CPU)
#   --smoke        one pair, no warm-up, benches/compositions/smoke only: checks that the
#                  bench still runs (about a minute), not a measurement
#
# Needs: .ci/install-deps (ffprobe, chromium-headless-shell, the reference in target/hf-reference)
# and a framefan binary: $FRAMEFAN_BIN, default target/release/framefan (cargo build --release).
# A measurement, not a test: not run by CI or scripts/checks.sh. Exit status 1 when a render
# failed or an output did not verify.
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
HELPER="$REPO/scripts/bench-vs-hf.py"
FRAMEFAN_BIN="${FRAMEFAN_BIN:-$REPO/target/release/framefan}"
HF_REF="${FRAMEFAN_HF_REFERENCE:-$REPO/target/hf-reference}"

pairs=3 warmup=1 out="" sample_ms=1000 smoke=0
projects=()
while [ $# -gt 0 ]; do
  case "$1" in
    --pairs) pairs=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --project) projects+=("$(cd "$2" && pwd)"); shift 2 ;;
    --out) out=$2; shift 2 ;;
    --sample-ms) sample_ms=$2; shift 2 ;;
    --smoke) smoke=1; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench-vs-hf: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
if [ "$smoke" = 1 ]; then
  pairs=1 warmup=0
  [ ${#projects[@]} -gt 0 ] || projects=("$REPO/benches/compositions/smoke")
fi
[ ${#projects[@]} -gt 0 ] || projects=("$REPO/benches/compositions/velocity-lanes" "$REPO/benches/compositions/relay")

[ -x "$FRAMEFAN_BIN" ] || { echo "bench-vs-hf: no framefan binary at $FRAMEFAN_BIN (cargo build --release, or set FRAMEFAN_BIN)" >&2; exit 2; }
[ -f "$HF_REF/env.sh" ] || { echo "bench-vs-hf: the HyperFrames reference is not installed at $HF_REF (run .ci/install-deps)" >&2; exit 2; }
command -v ffprobe >/dev/null || { echo "bench-vs-hf: ffprobe is missing (run .ci/install-deps)" >&2; exit 2; }
FRAMEFAN_BIN="$(cd "$(dirname "$FRAMEFAN_BIN")" && pwd)/$(basename "$FRAMEFAN_BIN")"

out=${out:-$(mktemp -d "${TMPDIR:-/tmp}/framefan-bench.XXXXXX")}
mkdir -p "$out"
out="$(cd "$out" && pwd)"
results="$out/results.jsonl"
: >"$results"
# HyperFrames keeps state under $HOME (as the parity suite does, a HOME of its own): one for the
# whole bench, so that after the warm-up it renders as it would for a user's second render.
mkdir -p "$out/hf-home"

# One render, measured. $1 tool, $2 composition name, $3 project copy, $4 run label, $5 warm-up?
run_one() {
  local tool=$1 name=$2 project=$3 run=$4 warm=$5
  local base="$out/$name/$tool"
  local output="$base.mp4" json="$base.run-$run.json" log="$base.run-$run.log"
  rm -rf "$output"
  if [ "$tool" = framefan ]; then
    # GSAP from the reference's node_modules: the same npm bytes the HyperFrames CLI inlines.
    python3 "$HELPER" measure --out "$json" --log "$log" --sample-ms "$sample_ms" -- \
      "$FRAMEFAN_BIN" render "$project" -o "$output" --package-cache "$HF_REF" --progress none --json
  else
    python3 "$HELPER" measure --out "$json" --log "$log" --sample-ms "$sample_ms" -- \
      env HOME="$out/hf-home" bash -c 'source "$1/env.sh" && cd "$2" && exec $HF render . -o "$3" --quiet' \
      hf "$HF_REF" "$project" "$output"
  fi
  python3 "$HELPER" probe --out "$base.probe.json" --framefan "$FRAMEFAN_BIN" "$output"
  python3 - "$json" "$base.probe.json" "$name" "$tool" "$run" "$warm" "$log" >>"$results" <<'EOF'
import json, sys
run, probe, name, tool, label, warm, log = sys.argv[1:]
r = json.load(open(run))
r.update({"composition": name, "tool": tool, "run": label, "warmup": warm == "1", "log": log,
          "probe": json.load(open(probe))})
if tool == "framefan":  # `render --json`: the result is the log's last line; its frame count is the plan's
    try:
        r["plannedFrames"] = json.loads(open(log).read().strip().splitlines()[-1])["totalFrames"]
    except (ValueError, IndexError, KeyError):
        r["plannedFrames"] = None
print(json.dumps(r))
EOF
  python3 - "$json" "$base.probe.json" "$tool" "$run" <<'EOF'
import json, sys
r, p = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
v = (p.get("verify") or {}).get("consistent")
print(f"    {sys.argv[3]:<12} {sys.argv[4]:>3}: wall {r['wallS']:6.2f} s  cpu {r['cpuS']:6.1f} s  "
      f"peak {r['peakPssMiB']:6.0f} MiB PSS  exit {r['exitCode']}  frames {p.get('frames', '?')}  "
      f"{'verified' if v else 'NOT VERIFIED'}  load {r['loadBefore'][0]:.2f}")
EOF
}

{
  echo "framefan: $FRAMEFAN_BIN ($("$FRAMEFAN_BIN" version 2>/dev/null | head -1); checkout $(git -C "$REPO" describe --always --dirty 2>/dev/null || echo '?'))"
  echo "HyperFrames: $(grep -m1 '"version"' "$HF_REF/node_modules/hyperframes/package.json" | tr -d ' ,')"
  echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo); $(uptime)"
  echo "pairs: $pairs (+ $warmup warm-up) per composition; memory sampled every $sample_ms ms; work: $out"
} | tee "$out/header.txt"

for project in "${projects[@]}"; do
  name=$(basename "$project")
  [ -f "$project/index.html" ] || { echo "bench-vs-hf: $project has no index.html" >&2; exit 2; }
  # Each tool renders its own copy, so that nothing either writes lands in the checkout.
  mkdir -p "$out/$name"
  for tool in framefan hyperframes; do
    rm -rf "$out/$name/src-$tool"
    cp -a "$project" "$out/$name/src-$tool"
  done
  echo "== $name"
  for i in $(seq 1 $((warmup + pairs))); do
    if [ "$i" -le "$warmup" ]; then label="w$i" warm=1; else label=$((i - warmup)) warm=0; fi
    run_one framefan "$name" "$out/$name/src-framefan" "$label" "$warm"
    run_one hyperframes "$name" "$out/$name/src-hyperframes" "$label" "$warm"
  done
done

echo "after: $(uptime)" | tee -a "$out/header.txt"
status=0
python3 "$HELPER" report "$results" >"$out/tables.md" || status=$?
cat "$out/header.txt" "$out/tables.md" >"$out/report.md"
cat "$out/tables.md"
echo
echo "report: $out/report.md; every run: $results"
exit "$status"
