#!/usr/bin/env bash
# Warm browsers, measured (benches/README.md, "Warm browsers"): where a chunk's start-up goes when
# every chunk launches its own browser and loads the page (cold) and when one process renders
# the chunks with the same browser (warm), and what that does to `framefan render`.
#
#   scripts/bench-warm.sh AFTER_BIN [BEFORE_BIN] [EXAMPLE…]
#
# 1. The example is planned once (default chunking, default quality).
# 2. Cold: `render-chunk --index i --browsers 1`, one process per chunk (the per-chunk flow every
#    chunk had before: launch, load, first frame). Warm: one `render-chunk --indexes 0-(N-1)
#    --browsers 1`. Each chunk's `start` (launchMs, loadMs, firstFrameMs) and durationMs are
#    printed as medians over the chunks; the first warm chunk (which launches) is reported apart.
# 3. With BEFORE_BIN: `framefan render EXAMPLE` by BEFORE_BIN and AFTER_BIN alternately, PAIRS
#    pairs (default 3), wall seconds each, then the median ratio after / before.
set -euo pipefail
AFTER="$(realpath "$1")"
BEFORE="${2:+$(realpath "$2")}"
shift $(( $# >= 2 ? 2 : 1 ))
EXAMPLES=("${@:-examples/nested-scenes}")
PAIRS="${PAIRS:-3}"
REPO="$(cd "$(dirname "$0")/.." && pwd)"
CACHE="${FRAMEFAN_PACKAGE_CACHE:-$REPO/target/package-cache}"
WORK="$(mktemp -d)"
trap '[ -n "${KEEP:-}" ] || rm -rf "$WORK"' EXIT

digest() { # a chunk file, or a frame directory's files
  if [ -d "$1" ]; then (cd "$1" && sha256sum -- * | sha256sum | cut -d' ' -f1); else sha256sum "$1" | cut -d' ' -f1; fi
}

summary() { # $1: label, $2: one result JSON line per chunk
  python3 - "$1" "$2" <<'PY'
import json, statistics, sys
label, path = sys.argv[1], sys.argv[2]
rows = [json.loads(l) for l in open(path) if l.strip()]
def med(rows, key):
    if key == "durationMs":
        return statistics.median(r["timings"]["durationMs"] for r in rows)
    return statistics.median(r["start"][key] for r in rows)
def line(name, rows):
    if not rows:
        return
    total = sum(r["timings"]["durationMs"] for r in rows) / 1000
    print(f"{label:>5} {name:<16} n={len(rows):<3} launch {med(rows, 'launchMs'):>5.0f} ms"
          f"  load/reload {med(rows, 'loadMs'):>5.0f} ms  first frame {med(rows, 'firstFrameMs'):>4.0f} ms"
          f"  chunk {med(rows, 'durationMs'):>6.0f} ms  (sum {total:.1f} s)")
line("all chunks", rows)
if label == "warm":
    line("launching chunk", [r for r in rows if not r["start"]["warm"]])
    line("warm chunks", [r for r in rows if r["start"]["warm"]])
PY
}

for ex in "${EXAMPLES[@]}"; do
  name="$(basename "$ex")"
  plan="$WORK/$name-plan"
  "$AFTER" plan "$REPO/$ex" "$plan" --package-cache "$CACHE" >/dev/null
  n="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["chunkCount"])' "$plan/plan.json")"
  echo "== $name: $n chunks"
  t0=$(date +%s.%N)
  for i in $(seq 0 $((n - 1))); do
    "$AFTER" render-chunk "$plan" "$WORK/$name-cold/" --index "$i" --browsers 1 --json
  done >"$WORK/$name-cold.jsonl"
  t1=$(date +%s.%N)
  "$AFTER" render-chunk "$plan" "$WORK/$name-warm/" --indexes "0-$((n - 1))" --browsers 1 --json >"$WORK/$name-warm.jsonl"
  t2=$(date +%s.%N)
  summary cold "$WORK/$name-cold.jsonl"
  summary warm "$WORK/$name-warm.jsonl"
  python3 -c 'import sys; c, w = float(sys.argv[2]) - float(sys.argv[1]), float(sys.argv[3]) - float(sys.argv[2]); print(f"  all {sys.argv[4]} chunks, one browser: cold {c:.1f} s, warm {w:.1f} s, ratio {w / c:.2f}")' "$t0" "$t1" "$t2" "$n"
  differ=0
  for f in "$WORK/$name-cold"/chunk-*[0-9]*; do
    c="$(basename "$f")"
    case "$c" in *.json) continue ;; esac
    if [ "$(digest "$f")" != "$(digest "$WORK/$name-warm/$c")" ]; then
      differ=1
      i="$(echo "$c" | sed -E 's/^chunk-0*([0-9]+).*/\1/')"
      "$AFTER" render-chunk "$plan" "$WORK/$name-again/" --index "$i" --browsers 1 >/dev/null
      again="same as warm"; [ "$(digest "$WORK/$name-again/$c")" = "$(digest "$f")" ] && again="same as cold"
      [ "$(digest "$WORK/$name-again/$c")" != "$(digest "$WORK/$name-warm/$c")" ] && [ "$again" = "same as warm" ] && again="a third result"
      echo "  chunk $i: warm differs from cold; a second cold render is $again"
    fi
  done
  [ "$differ" = 0 ] && echo "  warm chunks byte-identical to cold ones"
  [ -n "$BEFORE" ] || continue
  for p in $(seq 1 "$PAIRS"); do
    for which in before after; do
      bin="$BEFORE"; [ "$which" = after ] && bin="$AFTER"
      s=$(date +%s.%N)
      "$bin" render "$REPO/$ex" -o "$WORK/$name-$which.mp4" --package-cache "$CACHE" --progress none >/dev/null
      e=$(date +%s.%N)
      python3 -c 'import sys; print(f"  render pair {sys.argv[1]} {sys.argv[2]:<6} {float(sys.argv[4]) - float(sys.argv[3]):6.1f} s")' "$p" "$which" "$s" "$e"
    done
    cmp -s "$WORK/$name-before.mp4" "$WORK/$name-after.mp4" && echo "  pair $p: same bytes" || echo "  pair $p: outputs differ"
  done
done
