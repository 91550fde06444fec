#!/bin/bash
# A single-node SLURM on this machine, for `make test-slurm` (Debian's slurm-wlm and munge; run as root).
#   scripts/slurm_local.sh start [DIR]   start munged, slurmctld and slurmd; config and logs in DIR
#   scripts/slurm_local.sh stop  [DIR]   stop the daemons it started
# Then: export SLURM_CONF=DIR/slurm.conf  (the partition is "debug", this machine's cores and memory).
set -euo pipefail
cmd=${1:-start}
DIR=$(realpath -m "${2:-${FVC_SLURM_DIR:-/tmp/fvc-slurm}}")
export SLURM_CONF="$DIR/slurm.conf"

die() { echo "slurm_local: $*" >&2; exit 2; }

stop() {
  local pids=()
  for pid in "$DIR/slurmd.pid" "$DIR/slurmctld.pid" "$DIR/munged.pid"; do
    if [ -f "$pid" ]; then
      pids+=("$(cat "$pid")")
      kill "${pids[-1]}" 2>/dev/null || true
    fi
    rm -f "$pid"
  done
  # wait until they are gone: a cluster started next reuses their ports
  for _ in $(seq 1 60); do
    local alive=0
    for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && return 0
    sleep 0.5
  done
  echo "slurm_local: daemons still running after 30 s: ${pids[*]}" >&2
}

start() {
  command -v slurmctld >/dev/null && command -v munged >/dev/null \
    || die "needs slurm-wlm and munge: apt-get install -y slurm-wlm munge"
  [ "$(id -u)" = 0 ] || die "run as root (slurmd starts jobs as their users)"
  mkdir -p "$DIR"/{state,spool,munge} /run/munge
  t0=$(date +%s)
  # munge: its own key and socket under DIR, so a system munged is left alone
  [ -f "$DIR/munge/munge.key" ] || { dd if=/dev/urandom of="$DIR/munge/munge.key" bs=1024 count=1 status=none; }
  chmod 600 "$DIR/munge/munge.key"
  SOCK="$DIR/munge/munge.socket"
  munged --force --key-file="$DIR/munge/munge.key" --socket="$SOCK" --pid-file="$DIR/munged.pid" \
    --log-file="$DIR/munged.log" --seed-file="$DIR/munge/seed" \
    || die "munged did not start: $(tail -1 "$DIR/munged.log" 2>/dev/null)"
  node=$(slurmd -C | head -1)  # the hardware slurmd detects, so the node is not drained for a mismatch
  host=$(hostname -s)
  cat > "$SLURM_CONF" <<CONF
ClusterName=fvclocal
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$SOCK
CredType=cred/munge
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/slurmctld.log
SlurmdLogFile=$DIR/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
ReturnToService=2
MpiDefault=none
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
SlurmctldTimeout=30
SlurmdTimeout=30
MinJobAge=600
${node}
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
  slurmctld -f "$SLURM_CONF" || die "slurmctld did not start: $(tail -2 "$DIR/slurmctld.log" 2>/dev/null)"
  slurmd -f "$SLURM_CONF" || die "slurmd did not start: $(tail -2 "$DIR/slurmd.log" 2>/dev/null)"
  for _ in $(seq 1 120); do
    state=$(sinfo -h -o %T 2>/dev/null | head -1 || true)
    if [ "$state" = idle ]; then
      echo "slurm_local: up in $(( $(date +%s) - t0 )) s; export SLURM_CONF=$SLURM_CONF"
      return 0
    fi
    sleep 1
  done
  die "the node did not become idle in 120 s (state '${state:-none}'): $(tail -2 "$DIR/slurmctld.log")"
}

case "$cmd" in
  start) stop; start ;;
  stop) stop ;;
  *) die "usage: $0 start|stop [DIR]" ;;
esac
