#!/usr/bin/env bash
# Kill soak: SOAK_KILLS (default 30) SIGKILLs of `framefan render-chunk`, `assemble` and `render`,
# the command and the moment (0–120 % of an uninterrupted run of it) drawn from SOAK_SEED
# (default 14) and logged. After each kill:
#   1. at the output path there is nothing, the earlier file that was there, or the complete
#      new output — never a partial file;
#   2. no browser process outlives its killed worker (polled, at most 30 s);
#   3. the same command run again uninterrupted succeeds, its output equals the reference run
#      byte for byte, and no scratch directory or staging file survives beside it.
# Uses the debug binary that `cargo test` built (target/debug/framefan; FRAMEFAN_BIN to override).
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
cd "$REPO"
BIN="${FRAMEFAN_BIN:-$REPO/target/debug/framefan}"
[ -x "$BIN" ] || cargo build --quiet --bin framefan
KILLS="${SOAK_KILLS:-30}"
RANDOM="${SOAK_SEED:-14}"
export FRAMEFAN_PACKAGE_CACHE="${FRAMEFAN_PACKAGE_CACHE:-$REPO/target/package-cache}"
work="$(mktemp -d /tmp/framefan-soak.XXXXXX)"
trap 'rm -rf "$work"' EXIT
started=$(date +%s)

# Two seconds of a tiny CSS-animated page at 30 fps: 60 frames, 6 chunks by default.
mkdir -p "$work/project" "$work/ref" "$work/out/render-chunk" "$work/out/assemble" "$work/out/render"
cat >"$work/project/index.html" <<'HTML'
<!doctype html><html><head><meta charset="utf-8"><style>
#root { background: #203040; overflow: hidden; }
#box { position: absolute; left: 0; top: 8px; width: 24px; height: 24px; background: #e9c46a; animation: slide 2s linear both; }
@keyframes slide { from { transform: translateX(0); } to { transform: translateX(60px) rotate(180deg); } }
</style></head><body><div id="root" data-composition-id="main" data-width="96" data-height="64" data-duration="2" data-fps="30" data-no-timeline><div id="box"></div></div></body></html>
HTML
"$BIN" plan "$work/project" "$work/plan" --quality draft >/dev/null
chunks=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["chunkCount"])' "$work/plan/plan.json")
ms() { date +%s%3N; }

# The command line of each kind, writing to $1.
cmd_render_chunk() { "$BIN" render-chunk "$work/plan" "$1" --index 0; }
cmd_assemble() { "$BIN" assemble "$work/plan" "$1" --chunks "$work"/ref/chunk-*.mp4; }
cmd_render() { "$BIN" render "$work/project" -o "$1" --quality draft --workers 2 --progress none; }
argv_of() {
  case $1 in
    render-chunk) ARGV=("$BIN" render-chunk "$work/plan" "$2" --index 0) ;;
    assemble) ARGV=("$BIN" assemble "$work/plan" "$2" --chunks "$work"/ref/chunk-*.mp4) ;;
    render) ARGV=("$BIN" render "$work/project" -o "$2" --quality draft --workers 2 --progress none) ;;
  esac
}
out_of() {
  case $1 in render-chunk) echo "$work/out/render-chunk/chunk-000.mp4" ;; *) echo "$work/out/$1/out.mp4" ;; esac
}

# References: every chunk, then one uninterrupted run of each command (timed).
for ((i = 0; i < chunks; i++)); do
  "$BIN" render-chunk "$work/plan" "$(printf '%s/ref/chunk-%03d.mp4' "$work" "$i")" --index "$i" >/dev/null
done
declare -A REF DURATION
for kind in render-chunk assemble render; do
  t0=$(ms)
  "cmd_${kind//-/_}" "$work/ref/$kind.mp4" >/dev/null
  DURATION[$kind]=$(( $(ms) - t0 ))
  REF[$kind]=$(sha256sum <"$work/ref/$kind.mp4")
  rm -f "$work/ref/$kind.mp4.perf.json"
  echo "soak: reference $kind ${DURATION[$kind]} ms"
done

browsers_gone() {
  local deadline=$(( $(date +%s) + 30 ))
  while [ "$(date +%s)" -lt "$deadline" ]; do
    if ! grep -lsa -- "$work/out" /proc/[0-9]*/cmdline >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  return 1
}

declare -A KILLED
failures=0 finished_first=0 earlier_kept=0 new_complete=0 nothing=0
fail() { echo "soak: FAIL round $round ($kind at $at ms): $*" >&2; failures=$((failures + 1)); }
kinds=(render-chunk assemble render)
for ((round = 1; round <= KILLS; round++)); do
  kind=${kinds[RANDOM % 3]}
  out=$(out_of "$kind")
  at=$(( RANDOM * 32768 + RANDOM ))
  at=$(( at % (DURATION[$kind] * 12 / 10 + 1) ))
  earlier=$(( RANDOM % 2 ))
  if [ "$earlier" = 1 ]; then printf 'an earlier complete output %s\n' "$round" >"$out"; fi
  before=$( [ -f "$out" ] && sha256sum <"$out" || echo none)
  # A function run in the background is a bash subshell that forks framefan: SIGKILL must reach
  # framefan itself, so the command line is run as a plain command (bash execs it in the child).
  argv_of "$kind" "$out"
  "${ARGV[@]}" >/dev/null 2>&1 &
  pid=$!
  sleep "$(printf '%d.%03d' $((at / 1000)) $((at % 1000)))"
  kill -KILL "$pid" 2>/dev/null || true
  status=0; wait "$pid" 2>/dev/null || status=$?
  KILLED[$kind]=$(( ${KILLED[$kind]:-0} + 1 ))
  echo "soak: round $round: SIGKILL $kind at $at ms (exit $status), earlier file: $earlier"
  [ "$status" = 0 ] && finished_first=$((finished_first + 1))
  after=$( [ -f "$out" ] && sha256sum <"$out" || echo none)
  if [ "$after" = "${REF[$kind]}" ]; then new_complete=$((new_complete + 1))
  elif [ "$after" = "$before" ] && [ "$before" != none ]; then earlier_kept=$((earlier_kept + 1))
  elif [ "$after" = none ] && [ "$before" = none ]; then nothing=$((nothing + 1))
  else fail "the output path holds neither the earlier file, nor the complete output, nor nothing"; fi
  [ -e "$out" ] && [ ! -f "$out" ] && fail "the output path is not a file"
  browsers_gone || fail "a browser outlived its killed worker"
  if ! "cmd_${kind//-/_}" "$out" >/dev/null 2>"$work/rerun.log"; then
    fail "the re-run failed: $(tail -c 400 "$work/rerun.log")"
  elif [ "$(sha256sum <"$out")" != "${REF[$kind]}" ]; then
    fail "the re-run's output differs from the uninterrupted run"
  fi
  left=$(cd "$(dirname "$out")" && ls -A | grep -v -x -e "$(basename "$out")" -e "$(basename "$out").perf.json" || true)
  [ -z "$left" ] || fail "left beside the output after the re-run: $(echo $left)"
  rm -f "$out" "$out.perf.json"
done
echo "soak: $KILLS kills (render-chunk ${KILLED[render-chunk]:-0}, assemble ${KILLED[assemble]:-0}, render ${KILLED[render]:-0}); \
finished before the kill $finished_first; after the kill: complete new output $new_complete, earlier file kept $earlier_kept, \
nothing $nothing; failures $failures; $(( $(date +%s) - started )) s"
[ "$failures" = 0 ]
