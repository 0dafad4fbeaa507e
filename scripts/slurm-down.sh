#!/usr/bin/env bash
# Stop the one-node cluster that scripts/slurm-up.sh started from SCRATCH (default
# /tmp/framefan-slurm): slurmd, slurmctld, munged, each by its own pid file.
set -uo pipefail
S="${1:-${FRAMEFAN_SLURM_DIR:-/tmp/framefan-slurm}}"
for pidfile in "$S/run/slurmd.pid" "$S/run/slurmctld.pid" "$S/munge/munged.pid"; do
  [ -f "$pidfile" ] || continue
  pid="$(cat "$pidfile")"
  kill "$pid" 2>/dev/null || continue
  for _ in $(seq 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$pidfile"
done
