#!/usr/bin/env bash
# Submit one render to Slurm: the plan job (waited for, to learn chunkCount), an array of
# chunkCount chunk tasks, and the assemble job after all of them (afterok). Prints the three job
# ids as `plan=… chunks=… assemble=…`. The jobs inherit this shell's environment (--export=ALL):
# storage credentials (AWS_*, GOOGLE_*, AZURE_*), FRAMEFAN_CACHE_DIR, FRAMEFAN (the binary).
#
# Usage: deploy/slurm/submit.sh PROJECT JOB [OUTPUT]
#   PROJECT  the composition folder or URL prefix (s3://bucket/renders/x/project/)
#   JOB      where the plan, chunks and output go (s3://bucket/renders/x, or a shared folder)
#   OUTPUT   the deliverable (default JOB/output.mp4)
# SBATCH_FLAGS adds flags to every sbatch (partition, account, --output=…).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
PROJECT=$1 JOB=${2%/} OUTPUT=${3:-${2%/}/output.mp4}
export PROJECT JOB OUTPUT
read -r -a extra <<< "${SBATCH_FLAGS:-}"
log="${FRAMEFAN_SLURM_LOGS:-.}"
plan_id=$(sbatch --parsable --wait "${extra[@]}" --output="$log/framefan-plan-%j.out" "$here/framefan-plan.sbatch")
plan_id=${plan_id%%;*}
count=$(grep -o '"chunkCount":[0-9]*' "$log/framefan-plan-$plan_id.out" | tail -n 1 | cut -d: -f2)
[ -n "$count" ] || { echo "submit: no chunkCount in $log/framefan-plan-$plan_id.out" >&2; exit 3; }
chunks_id=$(sbatch --parsable "${extra[@]}" --array="0-$((count - 1))" \
  --output="$log/framefan-chunk-%A_%a.out" "$here/framefan-chunk.sbatch")
chunks_id=${chunks_id%%;*}
assemble_id=$(sbatch --parsable "${extra[@]}" --dependency="afterok:$chunks_id" \
  --output="$log/framefan-assemble-%j.out" "$here/framefan-assemble.sbatch")
echo "plan=$plan_id chunks=$chunks_id assemble=${assemble_id%%;*}"
