#!/usr/bin/env bash
# Configure and start a one-node Slurm cluster on this machine (munge + slurmctld + slurmd), as
# root, with every state, spool, log and pid file under one scratch folder. Prints the
# `export SLURM_CONF=…` line that sbatch/squeue/scontrol need. Idempotent: a cluster already
# running from the same folder is left as it is. Stop it with scripts/slurm-down.sh.
#
# Usage: scripts/slurm-up.sh [SCRATCH]   (default: /tmp/framefan-slurm)
set -euo pipefail
S="${1:-${FRAMEFAN_SLURM_DIR:-/tmp/framefan-slurm}}"
mkdir -p "$S"/{state,spool,log,run,munge}
conf="$S/slurm.conf"
host="$(hostname -s)"
export SLURM_CONF="$conf"

# munge: a random 1024-byte key, mode 400, its own socket and pid file under the scratch folder.
key="$S/munge/munge.key"
[ -s "$key" ] || { head -c 1024 /dev/urandom > "$key"; chmod 400 "$key"; }
sock="$S/munge/munge.socket.2"
if ! { [ -f "$S/munge/munged.pid" ] && kill -0 "$(cat "$S/munge/munged.pid")" 2>/dev/null; }; then
  munged --force --key-file="$key" --socket="$sock" --pid-file="$S/munge/munged.pid" \
    --log-file="$S/log/munged.log" --seed-file="$S/munge/munge.seed"
fi

mem_mb=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 1024 ))
cat > "$conf" <<CONF
ClusterName=framefan
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$sock
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
StateSaveLocation=$S/state
SlurmdSpoolDir=$S/spool
SlurmctldPidFile=$S/run/slurmctld.pid
SlurmdPidFile=$S/run/slurmd.pid
SlurmctldLogFile=$S/log/slurmctld.log
SlurmdLogFile=$S/log/slurmd.log
SlurmctldPort=${FRAMEFAN_SLURMCTLD_PORT:-6817}
SlurmdPort=${FRAMEFAN_SLURMD_PORT:-6818}
ReturnToService=2
MinJobAge=600
KillWait=10
NodeName=$host CPUs=$(nproc) RealMemory=$mem_mb State=UNKNOWN
PartitionName=main Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF

running() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
running "$S/run/slurmctld.pid" || slurmctld -f "$conf"
running "$S/run/slurmd.pid" || slurmd -f "$conf"

# Ready when the node is idle (bounded wait: 30 s).
for _ in $(seq 60); do
  if sinfo -h -N -o '%T' 2>/dev/null | grep -qE '^(idle|mixed|allocated)'; then
    echo "export SLURM_CONF=$conf"
    exit 0
  fi
  sleep 0.5
done
echo "slurm-up: the node did not become idle; logs in $S/log" >&2
tail -n 20 "$S"/log/*.log >&2 || true
exit 1
