#!/usr/bin/env bash
# A real single-node Slurm (label slurm): start munged, slurmctld and slurmd
# from Debian on this machine (scripts/slurm-local.sh), submit with the
# shipped cluster/slurm/almasweep.sbatch, check, and stop everything again,
# also on failure.
#
#   test_slurm.sh demo     the demo sweep (cluster/examples/demo.ini against
#                          the archive simulator) submitted with sbatch; the
#                          job must end COMPLETED with exit 0 and its
#                          catalogue match the generator's truth
#   test_slurm.sh requeue [mpirun|srun]
#                          graceful stop and requeue: a stand-in binary
#                          (fake-almasweep.sh) under that launcher gets the
#                          wall-time warning (scancel --signal=USR1 --batch,
#                          what --signal=B:USR1@300 sends), exits 4, the
#                          script requeues the job (ASW_REQUEUE=1) and the
#                          rerun completes
#
# Exit 77 (skipped) when the Slurm/munge packages are missing or we are not
# root, unless ASW_REQUIRE_SLURM=1 (then that is a failure).
set -euo pipefail
what=${1:?usage: test_slurm.sh demo|requeue [mpirun|srun]}
: "${ASW_BUILD_DIR:?}" "${ASW_SOURCE_DIR:?}"
src=$ASW_SOURCE_DIR
. "$src/scripts/lib.sh"

skip() {
    if [ "${ASW_REQUIRE_SLURM:-0}" = 1 ]; then
        echo "FAIL: $* (ASW_REQUIRE_SLURM=1)" >&2
        exit 1
    fi
    echo "SKIP: $*" >&2
    exit 77
}
for p in munged slurmctld slurmd sbatch squeue scontrol scancel sinfo; do
    command -v "$p" >/dev/null 2>&1 ||
        skip "$p not found (scripts/bootstrap.sh installs munge slurmctld slurmd slurm-client)"
done
[ "$(id -u)" = 0 ] || skip "not root (slurmd and munged run as root in this test)"

work=$ASW_BUILD_DIR/test-work/slurm-$what${2:+-$2}
rm -rf "$work"
mkdir -p "$work/logs"
# The cluster lives in a short path: munge's socket path must stay short.
cluster=$(mktemp -d /tmp/asw-slurm.XXXXXX)
job=
ok=0
cleanup() {
    set +e
    if [ "$ok" != 1 ]; then
        echo "---- job output" >&2
        cat "$work"/logs/* >&2 2>/dev/null
        [ -z "$job" ] || SLURM_CONF=$cluster/etc/slurm.conf scontrol show job "$job" >&2
        for f in "$cluster"/log/*; do
            echo "---- $f (tail)" >&2
            tail -n 20 "$f" >&2
        done
    fi
    [ -z "$job" ] || SLURM_CONF=$cluster/etc/slurm.conf scancel "$job" 2>/dev/null
    "$src/scripts/slurm-local.sh" stop "$cluster"
    asw_sim_stop
    rm -rf "$cluster"
}
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

t0=$(date +%s.%N)
"$src/scripts/slurm-local.sh" start "$cluster"
. "$cluster/env"
t1=$(date +%s.%N)
echo "cluster up in $(/usr/bin/python3 -c "print(round($t1 - $t0, 1))") s"

# job_field JOB NAME: one field of `scontrol show job` (MinJobAge keeps
# finished jobs for 300 s; there is no accounting database here).
job_field() {
    { scontrol show job "$1" | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n 1; } || true
}

# wait_job JOB: poll until the job has ended (sbatch --wait polls only
# every few seconds), or is pending for a reason that will not go away;
# prints its state.
wait_job() {
    local st=
    for _ in $(seq 1 1500); do
        st=$(job_field "$1" JobState)
        case "$st" in
        PENDING)
            case "$(job_field "$1" Reason)" in
            PartitionConfig|BadConstraints|Partition*Limit|JobHeld*|InvalidQOS)
                st="PENDING ($(job_field "$1" Reason))"; break ;;
            esac ;;
        CONFIGURING|RUNNING|COMPLETING|REQUEUED|"") ;;
        *) break ;;
        esac
        sleep 0.2
    done
    echo "$st"
}

cd "$work"
sbatch_script=$src/cluster/slurm/almasweep.sbatch

case "$what" in
demo)
    arch=$work/archive
    "$ASW_BUILD_DIR/tests/gen/asw-gen" --out "$arch" --preset demo --seed 1 \
        --min-snr 100 >"$work/gen.out" 2>&1 || { cat "$work/gen.out"; exit 1; }
    asw_sim_start "$ASW_BUILD_DIR" "$arch" "$work"
    # The demo configuration reads these; sbatch passes the environment on.
    export ASW_DEMO_MIRROR=$ASW_SIM_URL ASW_DEMO_DIR=$work
    export ASW_BIN=$ASW_BUILD_DIR/almasweep
    job=$(sbatch --parsable --job-name=asw-demo --ntasks-per-node=3 \
        --time=00:10:00 "$sbatch_script" "$src/cluster/examples/demo.ini")
    job=${job%%;*}
    state=$(wait_job "$job")
    code=$(job_field "$job" ExitCode)
    log=$work/logs/asw-demo-$job.out
    echo "job $job: $state, exit $code"
    cat "$log"
    [ "$state" = COMPLETED ] || { echo "FAIL: job state $state" >&2; exit 1; }
    [ "$code" = 0:0 ] || { echo "FAIL: job exit code $code" >&2; exit 1; }
    grep -q "almasweep.sbatch: run     srun --mpi=pmix" "$log" ||
        { echo "FAIL: expected the srun --mpi=pmix launcher" >&2; exit 1; }
    grep -q "sweep finished: .* 0 failed" "$log" ||
        { echo "FAIL: no 'sweep finished' line" >&2; exit 1; }
    grep -q "2 worker rank(s)" "$log" ||
        { echo "FAIL: expected 3 ranks (1 master, 2 workers)" >&2; exit 1; }
    /usr/bin/python3 "$src/tests/integration/check_catalogue.py" \
        "$work/demo.h5" "$arch/truth.json" --include-7m
    ;;
requeue)
    fake=$work/fake
    mkdir -p "$fake"
    export ASW_FAKE_DIR=$fake ASW_BIN=$src/tests/slurm/fake-almasweep.sh
    export ASW_REQUEUE=1 ASW_LAUNCHER=${2:-mpirun}
    printf '[archive]\nmirrors = http://127.0.0.1:9\n' >"$work/sweep.ini"
    job=$(sbatch --parsable --job-name=asw-requeue --ntasks-per-node=2 \
        --time=00:10:00 "$sbatch_script" sweep.ini)
    job=${job%%;*}
    log=$work/logs/asw-requeue-$job.out
    for _ in $(seq 1 600); do
        [ -e "$fake/running.0" ] && [ -e "$fake/running.1" ] && break
        sleep 0.1
    done
    [ -e "$fake/running.0" ] && [ -e "$fake/running.1" ] ||
        { echo "FAIL: the ranks did not start" >&2; exit 1; }
    # What --signal=B:USR1@300 does 300 s before the wall time.
    scancel --signal=USR1 --batch "$job"
    state=
    for _ in $(seq 1 900); do
        state=$(job_field "$job" JobState)
        restarts=$(job_field "$job" Restarts)
        [ "$state" = COMPLETED ] && [ "$restarts" = 1 ] && break
        case "$state" in FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY) break ;; esac
        sleep 0.2
    done
    echo "job $job: $state after $restarts restart(s)"
    cat "$log"
    [ "$state" = COMPLETED ] || { echo "FAIL: job state $state" >&2; exit 1; }
    [ "$restarts" = 1 ] || { echo "FAIL: $restarts restarts, want 1" >&2; exit 1; }
    for r in 0 1; do
        [ "$(cat "$fake/stopped.$r" 2>/dev/null)" = USR1 ] ||
            { echo "FAIL: rank $r did not get SIGUSR1" >&2; exit 1; }
        [ -s "$fake/rerun.$r" ] ||
            { echo "FAIL: rank $r did not run again after the requeue" >&2; exit 1; }
    done
    grep -q "received SIGUSR1: forwarding SIGUSR1" "$log" &&
        grep -q "exit 4: interrupted" "$log" &&
        grep -q "requeueing job $job (restart 1)" "$log" &&
        grep -q "done: every unit processed" "$log" ||
        { echo "FAIL: job log lacks the stop/requeue/done messages" >&2; exit 1; }
    ;;
*) echo "unknown test $what" >&2; exit 2 ;;
esac
t2=$(date +%s.%N)
echo "PASS slurm $what: job in $(/usr/bin/python3 -c "print(round($t2 - $t1, 1))") s"
ok=1
