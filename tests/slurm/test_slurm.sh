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
#   test_slurm.sh requeue-real
#                          the same with the real almasweep under mpirun:
#                          a sweep of the demo archive with downloads
#                          slowed (simulator faults file) gets the
#                          wall-time warning once a unit is done, exits 4
#                          with the units in flight interrupted, is
#                          requeued, and the rerun skips the units done
#                          before and completes; the catalogue is
#                          consistent and matches the generator's truth
#
# Exit 77 (skipped) when the Slurm/munge packages are missing or we are not
# root, unless ASW_REQUIRE_SLURM=1 (then that is a failure).
set -euo pipefail
what=${1:?usage: test_slurm.sh demo|requeue [mpirun|srun]|requeue-real}
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
    # Ranks that outlived their job (Slurm should have ended them): by pid,
    # only those running this test's configuration.
    local p
    for p in $(ps -eo pid=,comm=,args= | awk -v c="$work/sweep.ini" \
        '$2 ~ /^(almasweep|mpirun|orterun|prterun)$/ && index($0, c) {
            print $1 }'); do
        kill -9 "$p" 2>/dev/null
    done
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
requeue-real)
    # The real almasweep, stopped by the wall-time warning mid-sweep and
    # requeued. The demo archive's 6 units (about 1 MB each) download at
    # 200 kB/s, so each takes ~5 s and 2 workers need ~15 s for all: the
    # warning, sent once one unit is done, finds units in flight and
    # units not started.
    arch=$work/archive
    "$ASW_BUILD_DIR/tests/gen/asw-gen" --out "$arch" --preset demo --seed 1 \
        --min-snr 100 >"$work/gen.out" 2>&1 || { cat "$work/gen.out"; exit 1; }
    echo "/dataPortal/ rate_bps=200k" >"$work/faults"
    asw_sim_start "$ASW_BUILD_DIR" "$arch" "$work" --faults "$work/faults"
    # One trace per run: the requeued job has SLURM_RESTART_COUNT=1.
    cat >"$work/sweep.ini" <<INI
[archive]
mirrors = $ASW_SIM_URL
include_7m = true
[pipeline]
mode = products
[scratch]
dir = $work/scratch
reserve = 0
[output]
catalogue = $work/sweep.h5
[run]
max_attempts = 3
[scheduler]
trace = $work/run-\${SLURM_RESTART_COUNT:-0}.trace
INI
    export ASW_BIN=$ASW_BUILD_DIR/almasweep ASW_REQUEUE=1 ASW_LAUNCHER=mpirun
    job=$(sbatch --parsable --job-name=asw-requeue-real --ntasks-per-node=3 \
        --time=00:10:00 "$sbatch_script" sweep.ini)
    job=${job%%;*}
    log=$work/logs/asw-requeue-real-$job.out
    fail() {
        echo "FAIL: $*" >&2
        exit 1
    }
    # ended [STATE]: the job (in STATE, default: now) is in a final state
    # (it may still be requeued if its script has yet to run scontrol
    # requeue, see below).
    ended() {
        case "${1-$(job_field "$job" JobState)}" in
        PENDING|CONFIGURING|RUNNING|COMPLETING|REQUEUE*|"") return 1 ;;
        esac
    }
    # A unit done in the first run (its result is in the trace).
    for _ in $(seq 1 600); do
        grep -q '"verdict":"done"' "$work/run-0.trace" 2>/dev/null && break
        ! ended || fail "the job ended before a unit was done"
        sleep 0.2
    done
    grep -q '"verdict":"done"' "$work/run-0.trace" 2>/dev/null ||
        fail "no unit done after 120 s"
    # What --signal=B:USR1@300 does 300 s before the wall time.
    scancel --signal=USR1 --batch "$job"
    echo "wall-time warning sent after $(grep -c '"verdict":"done"' \
        "$work/run-0.trace") unit(s) done"
    # The first run ends and the script requeues the job.
    for _ in $(seq 1 600); do
        grep -q "requeueing job $job (restart 1)" "$log" 2>/dev/null && break
        ! ended || break
        sleep 0.2
    done
    grep -q "requeueing job $job (restart 1)" "$log" 2>/dev/null || {
        cat "$log"
        fail "the job was not requeued (state $(job_field "$job" JobState))"
    }
    # The rerun need not crawl: downloads at full speed again (SIGHUP
    # reloads the simulator's faults file).
    : >"$work/faults"
    kill -HUP "$ASW_SIM_PID"
    # The rerun ends. (Until the script's scontrol requeue has gone
    # through, the first run may look ended with 0 restarts.)
    state= restarts= early=0 seen=
    for _ in $(seq 1 1500); do
        state=$(job_field "$job" JobState)
        restarts=$(job_field "$job" Restarts)
        [ "${seen##* }" = "$state/$restarts" ] || seen="$seen $state/$restarts"
        if ended "$state"; then
            [ "${restarts:-0}" -lt 1 ] || break
            early=$((early + 1))
            [ "$early" -lt 50 ] || break
        fi
        sleep 0.2
    done
    code=$(job_field "$job" ExitCode)
    echo "job $job: $state, exit $code after $restarts restart(s)"
    echo "states (JobState/Restarts) after the requeue message:$seen"
    cat "$log"
    [ "$state" = COMPLETED ] || fail "job state $state"
    [ "$code" = 0:0 ] || fail "job exit code $code"
    [ "$restarts" = 1 ] || fail "$restarts restarts, want 1"
    # The job log, run by run: the first stops with exit 4, the second
    # skips what the first did and finishes.
    rerun="almasweep.sbatch: job $job (restart 1)"
    sed "/$rerun/,\$d" "$log" >"$work/run-0.log"
    sed -n "/$rerun/,\$p" "$log" >"$work/run-1.log"
    has() { grep -q -- "$2" "$work/run-$1.log"; }
    has 0 "received SIGUSR1: forwarding SIGUSR1" ||
        fail "run 1: the script did not forward the warning"
    has 0 "almasweep: interrupted by .*Rerun the same command to continue" ||
        fail "run 1: no 'interrupted' message from almasweep"
    has 0 "almasweep.sbatch: exit 4: interrupted" ||
        fail "run 1: the sweep did not exit 4"
    has 0 "requeueing job $job (restart 1)" || fail "run 1: no requeue message"
    has 1 "almasweep.sbatch: run     mpirun -n 3 " ||
        fail "run 2: not the mpirun launcher with 3 tasks"
    has 1 "sweep finished: .* 0 failed, 0 interrupted" ||
        fail "run 2: no clean 'sweep finished' line"
    has 1 "almasweep.sbatch: done: every unit processed" ||
        fail "run 2: no 'done' message"
    [ -z "$(find "$work/scratch" -type f)" ] ||
        fail "files left in scratch: $(find "$work/scratch" -type f | head -3)"
    "$ASW_BIN" catalogue verify "$work/sweep.h5" ||
        fail "catalogue verify failed"
    /usr/bin/python3 "$src/tests/integration/check_catalogue.py" \
        "$work/sweep.h5" "$arch/truth.json" --include-7m ||
        fail "the catalogue does not match the truth"
    # Unit by unit: the traces of both runs, the job log and the catalogue.
    /usr/bin/python3 - "$work/run-0.trace" "$work/run-1.trace" \
        "$work/run-1.log" "$work/sweep.h5" <<'PY' || fail "see above"
import json, re, sys
import h5py

def events(path):
    with open(path) as f:
        return [json.loads(line) for line in f]

def units_with(ev, kind, verdict=None):
    return {e["unit"] for e in ev if e["ev"] == kind
            and (verdict is None or e["verdict"] == verdict)}

t0, t1 = events(sys.argv[1]), events(sys.argv[2])
with open(sys.argv[3]) as f:
    log2 = f.read()
with h5py.File(sys.argv[4], "r") as f:
    runs, units = f["runs"][:], f["units"][:]
bad = []
def want(cond, what):
    if not cond:
        bad.append(what)

done0 = units_with(t0, "result", "done")
int0 = units_with(t0, "result", "interrupted")
every = {u["id"].decode() for u in units}
print("run 1: %d done %s, %d interrupted %s" % (
    len(done0), sorted(done0), len(int0), sorted(int0)))
want(any(e["ev"] == "signal" and e["signal"] == 10 for e in t0),
     "run 1: the trace has no SIGUSR1")
want(done0, "run 1: no unit done")
want(int0, "run 1: no unit in flight was interrupted")
want(not done0 & int0, "run 1: a unit both done and interrupted")
want(len(done0) < len(every), "run 1: every unit done before the warning")
# Run 2 hands out exactly the units run 1 did not finish, each once.
assigned1 = [e["unit"] for e in t1 if e["ev"] == "assign"]
print("run 2: assigned %s" % sorted(assigned1))
want(not done0 & set(assigned1),
     "run 2 redid units done in run 1: %s" % sorted(done0 & set(assigned1)))
want(sorted(assigned1) == sorted(every - done0),
     "run 2 assigned %s, want %s" % (sorted(assigned1),
                                     sorted(every - done0)))
want(units_with(t1, "result", "done") == every - done0,
     "run 2: not every remaining unit done")
want(re.search(r"%d units to process, %d already done" % (
    len(every - done0), len(done0)), log2),
     "run 2: the log does not say %d already done" % len(done0))
# /runs: the interrupted run (exit 4), then the rerun (exit 0) that
# skipped the units of the first.
r = [(x["status"].decode(), int(x["exit_code"]), int(x["units_done"]),
      int(x["units_skipped"])) for x in runs]
print("runs (status, exit, done, skipped):", r)
want(len(r) == 2 and r[0][:2] == ("finished", 4)
     and r[1] == ("finished", 0, len(every - done0), len(done0)),
     "/runs: %s" % r)
# /units: each row written by the run that did the unit; the interrupted
# attempts were given back.
rid = [x["run_id"].decode() for x in runs]
for u in units:
    uid, by = u["id"].decode(), u["run_id"].decode()
    want(by == (rid[0] if uid in done0 else rid[-1]),
         "/units %s written by run %s" % (uid, by))
    want(int(u["attempts"]) == 1,
         "/units %s: %d attempts, want 1" % (uid, u["attempts"]))
for b in bad:
    print("FAIL:", b, file=sys.stderr)
sys.exit(1 if bad else 0)
PY
    ;;
*) echo "unknown test $what" >&2; exit 2 ;;
esac
t2=$(date +%s.%N)
echo "PASS slurm $what: job in $(/usr/bin/python3 -c "print(round($t2 - $t1, 1))") s"
ok=1
