#!/usr/bin/env bash
# Engine acceptance (issue 8): units that cannot succeed end failed with
# their reason, under mpirun -n 4:
#   - a 404 (ENOTFOUND: permanent) fails its unit after one attempt;
#   - a 503 that never ends (transient) fails its unit after
#     [run] max_attempts = 3 attempts, with backoff in between;
#   - a unit whose processing kills its CASA (the cost-model stand-in says
#     "killed by signal 9") fails after 2 attempts although max_attempts
#     allows 5 ([scheduler] max_crashes = 2);
#   - a unit whose processing always fails (the stand-in's CASA "exit 1",
#     transient) fails after max_attempts = 5 attempts, with that reason,
#     retried 4 times;
# the other units are done and the exit code is 3. A rerun without the
# faults retries the permanent failure (it had attempts left) but not the
# unit that used up its attempts.
set -euo pipefail
. "$ASW_SOURCE_DIR/tests/integration/engine_lib.sh"
work=$B/test-work/engine-failures
rm -rf "$work"
mkdir -p "$work"
trap asw_sim_stop EXIT
asw_mpi_env
arch=$(engine_clone_archive)

nf=uid___A001_X1465_X16bef00 # 404 on one of its files
tr=uid___A001_X1670_X6d0f01  # 503 on all of them, always
cat >"$work/faults" <<F
/dataPortal/ contains=$nf.J1924-2914_bp.spw27.mfs.I.pbcor.fits status=404
/dataPortal/ contains=$tr. status=503
F
asw_sim_start "$B" "$arch" "$work" --faults "$work/faults"
engine_ini "$work/run.ini" run "download_slots = 3
[download]
retries = 0"
rc=0
engine_run 4 "$work/run.ini" "$work/run.log" || rc=$?
[ "$rc" = 3 ] || { tail -20 "$work/run.log" >&2; fail "exit $rc, want 3"; }
engine_units "$work/run.h5" >"$work/units.txt"
cat "$work/units.txt"
line() { grep "^$1 " "$work/units.txt" || fail "no /units row for $1"; }
set -- $(line $nf)
[ "$2 $3" = "failed 1" ] || fail "$nf: $2 after $3 attempts, want failed 1"
case $4 in download:ENOTFOUND:*404*) ;; *) fail "$nf: error $4" ;; esac
set -- $(line $tr)
[ "$2 $3" = "failed 3" ] || fail "$tr: $2 after $3 attempts, want failed 3"
case $4 in download:EHTTP:*503*) ;; *) fail "$tr: error $4" ;; esac
[ "$(awk '$2 == "done"' "$work/units.txt" | wc -l)" = 6 ] ||
    fail "want the 6 other units done"
[ "$(grep -c "\"unit\":\"$tr\".*\"verdict\":\"retry\"" "$work/run.trace")" = 2 ] ||
    fail "$tr: want 2 retries in the trace"
grep -q "unit $nf failed for good after 1 attempt(s) (permanent)" \
    "$work/run.log" || fail "no log line for the permanent failure"

# Rerun without faults: the 404 unit comes back (1 of 3 attempts used),
# the 503 one does not (3 of 3).
asw_sim_stop
asw_sim_start "$B" "$arch" "$work"
sed -i "s#^mirrors = .*#mirrors = $ASW_SIM_URL#" "$work/run.ini"
rc=0
engine_run 4 "$work/run.ini" "$work/rerun.log" || rc=$?
[ "$rc" = 3 ] || fail "rerun exit $rc, want 3 ($tr stays failed)"
engine_units "$work/run.h5" >"$work/units2.txt"
set -- $(grep "^$nf " "$work/units2.txt")
[ "$2 $3" = "done 2" ] || fail "$nf after the rerun: $2 $3, want done 2"
set -- $(grep "^$tr " "$work/units2.txt")
[ "$2 $3" = "failed 3" ] || fail "$tr after the rerun: $2 $3"
[ "$(grep -c '"ev":"assign"' "$work/run.trace")" = 1 ] ||
    fail "the rerun should hand out only $nf"

# Processing: the stand-in kills "CASA" of one unit on every attempt, and
# "CASA" of another exits 1 on every attempt.
asw_sim_stop
"$PY" "$ENGINE_ARCHIVE" synth "$(asw_test_archive "$B")" "$work/synth" \
    --sizes 3000000,2000000,1000000,1500000 >/dev/null
unit_no() { # N: the id of the N-th synthetic unit
    "$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))[int(sys.argv[2])]["id"])' \
        "$work/synth/units.json" "$1"
}
crash=$(unit_no 1)
pfail=$(unit_no 3)
asw_sim_start "$B" "$work/synth" "$work"
engine_ini "$work/crash.ini" crash ""
sed -i 's/^max_attempts = 3/max_attempts = 5/' "$work/crash.ini"
rc=0
ASW_BENCH_COST="20,0,$crash,$pfail" engine_run 4 "$work/crash.ini" \
    "$work/crash.log" || rc=$?
[ "$rc" = 3 ] || fail "crash sweep exit $rc, want 3"
engine_units "$work/crash.h5" >"$work/units3.txt"
cat "$work/units3.txt"
set -- $(grep "^$crash " "$work/units3.txt")
[ "$2 $3" = "failed 2" ] || fail "$crash: $2 after $3 attempts, want failed 2"
case $4 in costmodel:ECHILD:*killed_by_signal*) ;; *) fail "$crash: $4" ;; esac
set -- $(grep "^$pfail " "$work/units3.txt")
[ "$2 $3" = "failed 5" ] || fail "$pfail: $2 after $3 attempts, want failed 5"
[ "$4" = "costmodel:ECHILD:step_process:_CASA_exit_1" ] ||
    fail "$pfail: reason $4"
[ "$(grep -c "\"unit\":\"$pfail\".*\"verdict\":\"retry\"" "$work/crash.trace")" = 4 ] ||
    fail "$pfail: want 4 retries in the trace"
grep -q "unit $pfail failed for good after 5 attempt(s)" "$work/crash.log" ||
    fail "no log line for $pfail"
[ "$(awk '$2 == "done"' "$work/units3.txt" | wc -l)" = 2 ] ||
    fail "the other two units must be done"
echo "engine-failures: permanent after 1, transient after 3, crash after 2," \
    "processing failure after 5"
