#!/usr/bin/env bash
# scripts/slurm-local.sh - a throwaway single-node Slurm cluster on this
# machine, for trying cluster/slurm/almasweep.sbatch without a real cluster
# (and for the `slurm` tests). Needs root and Debian's munge, slurmctld,
# slurmd and slurm-client (scripts/bootstrap.sh installs them).
#
#   scripts/slurm-local.sh start DIR   start munged, slurmctld and slurmd with
#                                      everything (config, key, sockets,
#                                      spool, state, logs) under DIR; wait
#                                      until the node is idle
#   scripts/slurm-local.sh stop DIR    cancel every job, stop the daemons
#                                      started from DIR (by their pid files)
#   scripts/slurm-local.sh status DIR  exit 0 if the cluster in DIR answers
#
# Then, in the same shell:   . DIR/env   (sets SLURM_CONF)
#                            sbatch ... ; squeue ; sacct is not available
#
# Nothing outside DIR is used or changed: the cluster has its own munge key
# and socket and its own ports, so it never talks to a system munged or
# Slurm. The node gets max(nproc, ASW_SLURM_CPUS or 4) CPUs, so a small CI
# machine can still run a few MPI ranks (oversubscribed).
set -euo pipefail

usage() { awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "${BASH_SOURCE[0]}"; }
log() { printf 'slurm-local: %s\n' "$*" >&2; }
die() { printf 'slurm-local: error: %s\n' "$*" >&2; exit 2; }

case "${1:-}" in -h|--help|help) usage; exit 0 ;; esac
[ $# -eq 2 ] || { usage >&2; exit 2; }
cmd=$1
dir=$2
case "$dir" in /*) ;; *) dir="$PWD/$dir" ;; esac

need() {
    local p
    for p in "$@"; do
        command -v "$p" >/dev/null 2>&1 ||
            die "$p not found (Debian: apt-get install munge slurmctld slurmd slurm-client, or scripts/bootstrap.sh)"
    done
}

free_port() {
    /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# alive PID: the process runs. The daemons are orphans once `start` has
# returned, and an exited one stays a zombie until init reaps it, which
# some container inits do only every few seconds: a zombie counts as gone.
alive() {
    local st
    st=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 1
    [ -n "$st" ] && [ "$st" != Z ]
}
pid_alive() { [ -s "$1" ] && alive "$(cat "$1")"; }

# stop_pid PIDFILE: SIGTERM the process, wait up to 10 s, then SIGKILL it.
stop_pid() {
    local pf=$1 pid i
    [ -s "$pf" ] || return 0
    pid=$(cat "$pf")
    if alive "$pid"; then
        kill -TERM "$pid" 2>/dev/null || true
        for i in $(seq 1 100); do
            alive "$pid" || break
            sleep 0.1
        done
        if alive "$pid"; then
            log "pid $pid ($pf) ignored SIGTERM, killing it"
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    rm -f "$pf"
}

node_state() {
    SLURM_CONF=$dir/etc/slurm.conf sinfo -h -N -o '%t' 2>/dev/null | head -n 1
}

start() {
    need munged slurmctld slurmd sbatch sinfo scontrol
    [ "$(id -u)" = 0 ] || die "needs root (slurmd and munged run as root here)"
    if pid_alive "$dir/run/slurmctld.pid" || pid_alive "$dir/run/munged.pid"; then
        die "a cluster from $dir is already running (stop it first)"
    fi
    mkdir -p "$dir"/{etc,munge,run,log,spool,state}
    chmod 0700 "$dir/munge"
    local node cpus mem_mb port_ctl port_d
    node=$(hostname -s)
    cpus=$(nproc)
    [ "$cpus" -ge "${ASW_SLURM_CPUS:-4}" ] || cpus=${ASW_SLURM_CPUS:-4}
    mem_mb=$(awk '/^MemTotal:/ { printf "%d", $2 / 1024 * 0.9 }' /proc/meminfo)
    port_ctl=$(free_port)
    port_d=$(free_port)
    while [ "$port_d" = "$port_ctl" ]; do port_d=$(free_port); done

    # munge: a private key and socket.
    if [ ! -s "$dir/munge/munge.key" ]; then
        dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 \
            status=none
        chmod 0400 "$dir/munge/munge.key"
    fi
    # --force: the temporary directory's parents (e.g. /tmp) are world
    # writable, which munged otherwise refuses.
    munged --force --key-file="$dir/munge/munge.key" \
        --socket="$dir/munge/munge.socket" --pid-file="$dir/run/munged.pid" \
        --log-file="$dir/log/munged.log" --seed-file="$dir/munge/munged.seed" \
        >"$dir/log/munged.out" 2>&1 ||
        { cat "$dir/log/munged.out" "$dir/log/munged.log" >&2 2>/dev/null; die "munged failed to start"; }

    cat >"$dir/etc/slurm.conf" <<EOF
# Written by scripts/slurm-local.sh: a single-node test cluster.
ClusterName=aswlocal
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=$port_ctl
SlurmdPort=$port_d
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
# cred_expire: also how long a requeued job waits before it may start
# again (default 120 s).
AuthInfo=socket=$dir/munge/munge.socket,cred_expire=${ASW_SLURM_CRED_EXPIRE:-10}
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool/slurmd-%n
SlurmctldPidFile=$dir/run/slurmctld.pid
SlurmdPidFile=$dir/run/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
# Look at pending jobs (e.g. a requeued one) every 2 s, not every 60 s.
SchedulerParameters=sched_interval=2,bf_interval=2
MpiDefault=none
ReturnToService=2
# The configured CPUs may exceed the real ones (oversubscription on small
# CI machines); trust this file, not the hardware probe.
SlurmdParameters=config_overrides
SlurmdTimeout=60
InactiveLimit=0
KillWait=10
MinJobAge=300
NodeName=$node NodeAddr=127.0.0.1 NodeHostname=$node CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=debug Nodes=$node Default=YES MaxTime=INFINITE State=UP
EOF
    : >"$dir/etc/cgroup.conf"
    printf 'export SLURM_CONF=%q\n' "$dir/etc/slurm.conf" >"$dir/env"

    export SLURM_CONF=$dir/etc/slurm.conf
    # -D: stay in the foreground, so the pid files name exactly our
    # processes; -c: forget jobs left from an earlier run in DIR.
    slurmctld -D -c -f "$SLURM_CONF" >"$dir/log/slurmctld.out" 2>&1 &
    echo $! >"$dir/run/slurmctld.pid"
    slurmd -D -f "$SLURM_CONF" -N "$node" >"$dir/log/slurmd.out" 2>&1 &
    echo $! >"$dir/run/slurmd.pid"

    local i st=
    for i in $(seq 1 300); do
        st=$(node_state || true)
        case "$st" in idle) break ;; esac
        if ! pid_alive "$dir/run/slurmctld.pid" || ! pid_alive "$dir/run/slurmd.pid"; then
            break
        fi
        # A node that came up 'down' (e.g. an unexpected reboot record)
        # is brought back once the controller answers.
        case "$st" in down*|drain*|unk*)
            scontrol update NodeName="$node" State=RESUME >/dev/null 2>&1 || true ;;
        esac
        sleep 0.2
    done
    if [ "$st" != idle ]; then
        log "node did not become idle (state '${st:-none}'); logs:"
        tail -n 30 "$dir"/log/*.log "$dir"/log/*.out >&2 2>/dev/null || true
        stop
        exit 1
    fi
    log "cluster up: node $node, $cpus CPUs, ${mem_mb} MB, ports $port_ctl/$port_d; . $dir/env"
}

stop() {
    export SLURM_CONF=$dir/etc/slurm.conf
    if pid_alive "$dir/run/slurmctld.pid"; then
        scancel --full --quiet --cluster=aswlocal --user=root >/dev/null 2>&1 ||
            scancel --full --quiet --user=root >/dev/null 2>&1 || true
        # Wait for the jobs' slurmstepd processes to end (each holds a
        # socket in the spool directory while it runs).
        local i
        for i in $(seq 1 150); do
            [ -z "$(squeue -h -o %i 2>/dev/null)" ] &&
                [ -z "$(find "$dir/spool" -type s 2>/dev/null)" ] && break
            sleep 0.2
        done
    fi
    stop_pid "$dir/run/slurmd.pid"
    stop_pid "$dir/run/slurmctld.pid"
    stop_pid "$dir/run/munged.pid"
    if [ -n "$(find "$dir/spool" -type s 2>/dev/null)" ]; then
        log "warning: job step sockets left in $dir/spool:"
        find "$dir/spool" -type s >&2
    fi
    log "stopped ($dir)"
}

status() {
    pid_alive "$dir/run/slurmctld.pid" && [ "$(node_state)" != "" ]
}

case "$cmd" in
start) start ;;
stop) stop ;;
status) status ;;
*) usage >&2; exit 2 ;;
esac
