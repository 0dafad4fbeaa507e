#!/usr/bin/env bash
# deploy/slurm end to end on a real one-node Slurm cluster with every artifact in a real S3
# server (moto on loopback): the plan job, an array of chunk tasks (SLURM_ARRAY_TASK_ID), the
# assemble job after them (afterok). Array task 1 fails once with the retryable exit 75 through a
# test-only wrapper around the binary (FRAMEFAN below; the product has no fault switch), and the
# recipe requeues it. Then the output is verified against the plan and compared with a local
# `framefan render` of the same project. Bounded (5 min of waiting); daemons stopped on exit.
#
# EXAMPLE=examples/title-card scripts/check-slurm.sh uses an example instead of the tiny project.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
cargo build --quiet --bin framefan
BIN="$REPO/target/debug/framefan"
W=$(mktemp -d /tmp/framefan-check-slurm.XXXXXX)
export FRAMEFAN_SLURM_DIR="$W/slurm" FRAMEFAN_CACHE_DIR="$W/cache"
export FRAMEFAN_PACKAGE_CACHE="${FRAMEFAN_PACKAGE_CACHE:-$REPO/target/package-cache}"
cleanup() {
  bash scripts/slurm-down.sh "$FRAMEFAN_SLURM_DIR" || true
  [ -n "${MOTO_PID:-}" ] && kill "$MOTO_PID" 2>/dev/null || true
  [ -n "${KEEP:-}" ] || rm -rf "$W"
}
trap cleanup EXIT

eval "$(bash scripts/moto-up.sh "$W/moto.log" renders)"
eval "$(bash scripts/slurm-up.sh "$FRAMEFAN_SLURM_DIR")"

if [ -n "${EXAMPLE:-}" ]; then
  project="$REPO/$EXAMPLE"
else
  project="$W/tiny"
  mkdir -p "$project"
  cat > "$project/index.html" <<'HTML'
<!doctype html><html><head><style>
body { margin: 0; background: #102030; }
.box { position: absolute; top: 90px; left: 0; width: 60px; height: 60px; background: #f0c020;
       animation: slide 1s linear forwards; }
@keyframes slide { from { left: 0; } to { left: 260px; } }
</style></head><body>
<div id="root" data-composition-id="main" data-width="320" data-height="240" data-duration="1" data-fps="30" data-no-timeline>
  <div class="box"></div>
</div></body></html>
HTML
fi
plan_flags=(--chunk-size "${CHUNK_SIZE:-10}" --gop-size "${GOP_SIZE:-10}")

# Test-only fault: array task 1 exits 75 on its first run (a marker file records that it did).
cat > "$W/framefan-faulty" <<SH
#!/usr/bin/env bash
if [ "\${SLURM_ARRAY_TASK_ID:-}" = 1 ] && [ ! -e "$W/fault-fired" ]; then
  touch "$W/fault-fired"
  echo '{"error":{"code":"STORAGE_UNAVAILABLE","retryable":true,"message":"injected by check-slurm.sh"}}' >&2
  exit 75
fi
if [ "\$1" = plan ]; then exec "$BIN" "\$@" ${plan_flags[*]}; fi
exec "$BIN" "\$@"
SH
chmod +x "$W/framefan-faulty"
export FRAMEFAN="$W/framefan-faulty" SBATCH_FLAGS="--cpus-per-task=1" FRAMEFAN_SLURM_LOGS="$W/logs"
mkdir -p "$W/logs"
job=s3://renders/check

start=$(date +%s.%N)
ids=$(bash deploy/slurm/submit.sh "$project" "$job")
echo "submitted: $ids"
chunks_id=$(sed -E 's/.*chunks=([0-9]+).*/\1/' <<< "$ids")
assemble_id=$(sed -E 's/.*assemble=([0-9]+).*/\1/' <<< "$ids")

state() { scontrol show job "$1" 2>/dev/null | grep -o 'JobState=[A-Z_]*' | head -n 1 | cut -d= -f2; }
deadline=$(( $(date +%s) + 300 ))
while :; do
  s=$(state "$assemble_id")
  case "$s" in
    COMPLETED) break ;;
    FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY) echo "assemble job $assemble_id: $s" >&2; exit 1 ;;
  esac
  # Slurm holds a requeued job for a fixed ~120 s before it is eligible; release it at once.
  for t in $(squeue -h -t PD -o '%i %r' | awk '$2 == "BeginTime" {print $1}'); do
    scontrol update JobId="$t" StartTime=now || true
  done
  if [ "$(date +%s)" -gt "$deadline" ]; then
    echo "check-slurm: timed out; queue:" >&2; squeue >&2; tail -n 5 "$W"/logs/* >&2; exit 1
  fi
  sleep 0.5
done
wall=$(python3 -c "import time; print(f'{time.time() - $start:.1f}')")

[ -e "$W/fault-fired" ] || { echo "the injected failure did not fire" >&2; exit 1; }
restarts=$(scontrol show job "${chunks_id}_1" | grep -o 'Restarts=[0-9]*' | cut -d= -f2)
[ "${restarts:-0}" -ge 1 ] || { echo "array task 1 was not requeued (Restarts=${restarts:-?})" >&2; exit 1; }
for i in $(squeue -h -o %i) ; do echo "left in queue: $i" >&2; done
"$BIN" verify "$job/output.mp4" --plan "$job/plan"

# The same project rendered on this machine (its own chunking, the same GOPs): byte-identical.
local_start=$(date +%s.%N)
"$BIN" render "$project" -o "$W/local.mp4" "${plan_flags[@]}" > /dev/null
local_wall=$(python3 -c "import time; print(f'{time.time() - $local_start:.1f}')")
"$BIN" verify "$job/output.mp4" > /dev/null
python3 - "$W/local.mp4" <<'PY'
import hashlib, os, sys, boto3  # boto3 comes with moto
s3 = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
remote = s3.get_object(Bucket="renders", Key="check/output.mp4")["Body"].read()
local = open(sys.argv[1], 'rb').read()
assert remote == local, f"slurm output ({len(remote)} B) differs from the local render ({len(local)} B)"
print(f"output byte-identical to the local render: {len(local)} bytes, sha256 {hashlib.sha256(local).hexdigest()[:16]}")
PY
echo "slurm end to end: ${wall} s (array task 1 requeued ${restarts}x); framefan render on this machine: ${local_wall} s"
