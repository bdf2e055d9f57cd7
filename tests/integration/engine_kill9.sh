#!/usr/bin/env bash
# Engine acceptance (issue 8): kill -9 of the whole job (mpirun and every
# rank) mid-sweep, under mpirun -n 4, then a rerun, gives the catalogue of
# an uninterrupted sweep: the units done before the kill stay done and are
# not redone, those in flight are redone from their partial downloads, and
# scratch ends empty.
set -euo pipefail
. "$ASW_SOURCE_DIR/tests/integration/engine_lib.sh"
work=$B/test-work/engine-kill9
rm -rf "$work"
mkdir -p "$work"
sid=
# Every process of session $1 (mpirun and its ranks), by pid.
kill_session() {
    local p
    for p in $(ps -eo pid=,sid= | awk -v s="$1" '$2 == s { print $1 }'); do
        kill -9 "$p" 2>/dev/null || true
    done
}
cleanup() {
    [ -z "$sid" ] || kill_session "$sid"
    asw_sim_stop
}
trap cleanup EXIT
asw_mpi_env
arch=$(engine_clone_archive)

engine_ref_then_slow "$arch"
engine_ini "$work/run.ini" run
setsid mpirun -n 4 --oversubscribe "$ALMASWEEP" run --config "$work/run.ini" \
    2>"$work/run.log" &
pid=$!
sid=$pid
engine_wait_results "$work/run.trace" 2 120
kill_session "$sid"
wait "$pid" 2>/dev/null || true
sid=
sleep 0.5
done_before=$(grep -c '"verdict":"done"' "$work/run.trace")
partial=$(find "$work/run-scratch" -name '*.part*' | wc -l)
echo "killed with $done_before units done, $partial partial downloads"

asw_sim_stop
asw_sim_start "$B" "$arch" "$work"
sed -i "s#^mirrors = .*#mirrors = $ASW_SIM_URL#" "$work/run.ini"
rc=0
engine_run 4 "$work/run.ini" "$work/rerun.log" || rc=$?
[ "$rc" = 0 ] || { tail "$work/rerun.log" >&2; fail "rerun exit $rc"; }
grep -q "$done_before already done" "$work/rerun.log" ||
    fail "the rerun did not skip the $done_before units done before the kill"
redone=$(grep -c '"ev":"assign"' "$work/run.trace")
[ "$redone" = $((8 - done_before)) ] ||
    fail "the rerun handed out $redone units, want $((8 - done_before))"
left=$(find "$work/run-scratch" -type f | wc -l)
[ "$left" = 0 ] || fail "$left files left in scratch after the rerun"
engine_same "$work/run.h5" "$work/ref.h5"
echo "engine-kill9: killed after $done_before units, rerun did $redone, identical"
