#!/usr/bin/env bash
# Engine acceptance (issue 8): a stop signal mid-sweep, then a rerun,
# gives the catalogue of an uninterrupted sweep.
#
# usage: engine_signal.sh SIGNAL RANKS [drain]
#        (RANKS 0: one process, no mpirun; drain: [scheduler] on_signal =
#        drain, the units in flight finish instead: none is interrupted)
#
# Downloads are slowed so the sweep takes several seconds; once two units
# are done the launcher (mpirun, which relays TERM/INT to the ranks and
# USR1 as Slurm's --signal does, or the single process) gets SIGNAL. Then:
# rank 0 says "interrupted ... Rerun" on stderr, the exit code is 4 (for
# TERM and INT under mpirun the launcher's is its own: rank 0's 4 is read
# from its /runs row), the units in flight are
# "interrupted" in /units with their attempt given back, none failed;
# the rerun exits 0, leaves scratch empty, and its catalogue has the same
# units and rows as the uninterrupted reference (attempts included).
set -euo pipefail
. "$ASW_SOURCE_DIR/tests/integration/engine_lib.sh"
sig=$1 ranks=$2 mode=${3:-abort}
work=$B/test-work/engine-signal-$sig-$ranks-$mode
rm -rf "$work"
mkdir -p "$work"
pid=
cleanup() {
    [ -z "$pid" ] || kill -9 "$pid" 2>/dev/null || true
    asw_sim_stop
}
trap cleanup EXIT
asw_mpi_env
# Under mpirun, TERM and INT reach the ranks as SIGTERM followed by
# SIGKILL 1 s later (Open MPI 4's odls_base_sigkill_timeout): the stop
# must be quick (it takes ~0.2 s here). USR1 is relayed alone.
arch=$(engine_clone_archive)

engine_ref_then_slow "$arch"
engine_ini "$work/run.ini" run "on_signal = $mode"
if [ "$ranks" = 0 ]; then
    "$ALMASWEEP" run --config "$work/run.ini" 2>"$work/run.log" &
else
    mpirun -n "$ranks" --oversubscribe "$ALMASWEEP" run \
        --config "$work/run.ini" 2>"$work/run.log" &
fi
pid=$!
engine_wait_results "$work/run.trace" 2 120
kill -s "$sig" "$pid"
t0=$(date +%s%N)
rc=0
wait "$pid" || rc=$?
pid=
ms=$((($(date +%s%N) - t0) / 1000000))
echo "stopped ${ms} ms after SIG$sig, exit $rc"
want=4
[ "$ranks" != 0 ] && [ "$sig" != USR1 ] && want=any
[ "$want" = any ] || [ "$rc" = "$want" ] ||
    { tail -20 "$work/run.log" >&2; fail "exit $rc, want $want"; }
[ "$rc" != 0 ] || fail "an interrupted sweep must not exit 0"
grep -q "almasweep: interrupted by .*Rerun the same command to continue" \
    "$work/run.log" || { tail "$work/run.log" >&2; fail "no interrupted message"; }
grep -q '"ev":"end".*"signal":[1-9]' "$work/run.trace" ||
    fail "the trace does not end with the signal"
# Rank 0's own exit code, as /runs recorded it (under mpirun the launcher's
# exit code for TERM and INT is its own): 4, "interrupted".
run_exit=$("$PY" -c 'import sys, h5py; r = h5py.File(sys.argv[1], "r")["runs"][-1]; print(r["status"].decode(), int(r["exit_code"]))' "$work/run.h5")
[ "$run_exit" = "finished 4" ] || fail "/runs: $run_exit, want finished 4"
engine_units "$work/run.h5" >"$work/units.txt"
cat "$work/units.txt"
n_int=$(awk '$2 == "interrupted"' "$work/units.txt" | wc -l)
n_done=$(awk '$2 == "done"' "$work/units.txt" | wc -l)
if [ "$mode" = drain ]; then
    [ "$n_int" = 0 ] || fail "drain: $n_int units interrupted"
    # the units in flight at the signal finished after it
    "$PY" - "$work/run.trace" <<'PY' || fail "drain: nothing finished after the signal"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
t_sig = min(e["t"] for e in ev if e["ev"] == "signal")
after = [e for e in ev if e["ev"] == "result" and e["t"] > t_sig]
assign_after = [e for e in ev if e["ev"] == "assign" and e["t"] > t_sig]
print("drain: %d results after the signal, %d units handed out after it"
      % (len(after), len(assign_after)))
sys.exit(0 if after and all(e["verdict"] == "done" for e in after)
         and not assign_after else 1)
PY
else
    [ "$n_int" -ge 1 ] || fail "no unit recorded as interrupted"
fi
[ "$n_done" -ge 2 ] || fail "want >= 2 units done before the signal"
awk '$2 == "interrupted" && $3 != 0 { bad = 1 } END { exit bad }' \
    "$work/units.txt" || fail "an interrupted unit used an attempt"
! awk '$2 == "failed"' "$work/units.txt" | grep -q . ||
    fail "a unit failed because of the signal"

asw_sim_stop
asw_sim_start "$B" "$arch" "$work"
sed -i "s#^mirrors = .*#mirrors = $ASW_SIM_URL#" "$work/run.ini"
rc=0
engine_run "$ranks" "$work/run.ini" "$work/rerun.log" || rc=$?
[ "$rc" = 0 ] || { tail "$work/rerun.log" >&2; fail "rerun exit $rc"; }
grep -q "$n_done already done" "$work/rerun.log" ||
    fail "the rerun did not skip the $n_done done units"
left=$(find "$work/run-scratch" -type f | wc -l)
[ "$left" = 0 ] || fail "$left files left in scratch after the rerun"
engine_same "$work/run.h5" "$work/ref.h5"
echo "engine-signal $sig ($ranks ranks, $mode): $n_done done, $n_int interrupted, rerun identical"
