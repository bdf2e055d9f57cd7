#!/usr/bin/env bash
# Acceptance test of the catalogue's crash safety (docs/catalogue.md).
#
# usage: catalogue_kill_loop.sh [KILLS] [SEED]      (default 20, random)
#
# Against the archive simulator (demo preset, downloads slowed so that a
# sweep takes a few seconds), sweeps alternate between one process and
# `mpirun -n 3`. Each is killed with SIGKILL -- every process of its
# session, rank 0 included -- after a random delay. After every kill:
#   - the file as the kill left it passes `catalogue verify --no-recover`;
#   - after recovery it passes `catalogue verify`, and every unit that
#     rank 0 had logged as done before the kill is done in it;
# then the next sweep resumes. A sweep that finishes before its kill must
# exit 0 and give the catalogue of an uninterrupted reference sweep (same
# units, same rows: read_catalogue.py --same-as); the loop then starts
# again from an empty catalogue. At the end a last resume runs to
# completion and is compared the same way. The final catalogue is left in
# test-work/catalogue-kill-loop/final.h5 for read_catalogue.py. A kill
# before the catalogue file exists is not counted among the KILLS.
set -euo pipefail
: "${ASW_BUILD_DIR:?}" "${ASW_SOURCE_DIR:?}"
. "$ASW_SOURCE_DIR/scripts/lib.sh"
kills_wanted=${1:-20}
seed=${2:-${ASW_KILL_SEED:-$(( $$ ^ $(date +%s) ))}}
RANDOM=$seed
echo "kill loop: $kills_wanted kills, seed $seed (rerun: $0 $kills_wanted $seed)"

B=$ASW_BUILD_DIR
almasweep=$B/almasweep
py=/usr/bin/python3
read_cat=$ASW_SOURCE_DIR/tests/integration/read_catalogue.py
work=$B/test-work/catalogue-kill-loop
rm -rf "$work"
mkdir -p "$work"

"$B/tests/gen/asw-gen" --out "$work/archive" --preset demo --seed 7 \
    --min-snr 100 >/dev/null 2>&1
echo "/dataPortal/ latency_ms=${ASW_KILL_LATENCY_MS:-30}" >"$work/faults"
asw_sim_start "$B" "$work/archive" "$work" --faults "$work/faults"
sid=
# Every process of session $1 (the sweep and, under mpirun, its ranks,
# which Open MPI puts in process groups of their own), by pid.
kill_session() {
    local p
    for p in $(ps -eo pid=,sid= | awk -v s="$1" '$2 == s { print $1 }'); do
        kill -9 "$p" 2>/dev/null || true
    done
}
cleanup() {
    [ -n "$sid" ] && kill_session "$sid"
    asw_sim_stop
}
trap cleanup EXIT
asw_mpi_env

write_ini() {
    cat >"$work/$1.ini" <<INI
[archive]
mirrors = $ASW_SIM_URL
include_7m = true
[pipeline]
mode = products
[scratch]
dir = $work/scratch-$1
[output]
catalogue = $work/$1.h5
checkpoint_s = 0
[run]
max_attempts = 2
INI
}
write_ini reference
write_ini kill

now_ms() { date +%s%3N; }

# The reference: one uninterrupted sweep; its duration bounds the delays.
t0=$(now_ms)
"$almasweep" run --config "$work/reference.ini" 2>"$work/reference.log"
t_ref=$(($(now_ms) - t0))
"$almasweep" catalogue verify "$work/reference.h5" >/dev/null
echo "reference sweep: ${t_ref} ms"
[ "$t_ref" -gt 1000 ] || { echo "reference sweep too fast to kill" >&2; exit 1; }

# Start a sweep in a session of its own: one process, or mpirun -n 3.
start_sweep() {
    local n=$1 log=$2
    if [ $((n % 2)) = 1 ]; then
        setsid "$almasweep" run --config "$work/kill.ini" 2>"$log" &
    else
        setsid mpirun -n 3 --oversubscribe "$almasweep" run \
            --config "$work/kill.ini" 2>"$log" &
    fi
    pid=$!
    sid=$pid
}

same_as_reference() {
    "$py" "$read_cat" "$work/kill.h5" --same-as "$work/reference.h5" \
        --min-images 1 ${2:-} >"$work/same.out" || {
        cat "$work/same.out" >&2
        echo "FAIL: $1 differs from the uninterrupted sweep" >&2
        exit 1
    }
}

kills=0 sweeps=0 completions=0 early=0 with_units=0
while [ "$kills" -lt "$kills_wanted" ]; do
    sweeps=$((sweeps + 1))
    [ "$sweeps" -le $((4 * kills_wanted)) ] ||
        { echo "FAIL: too few sweeps could be killed" >&2; exit 1; }
    log=$work/sweep-$sweeps.log
    # Up to 60% of a whole sweep: a resumed sweep has less left to do.
    delay_ms=$((100 + (RANDOM * 32768 + RANDOM) % (t_ref * 6 / 10)))
    start_sweep "$sweeps" "$log"
    sleep "$(printf '%d.%03d' $((delay_ms / 1000)) $((delay_ms % 1000)))"
    kill_session "$sid"
    st=0
    wait "$pid" 2>/dev/null || st=$?
    sid=
    if [ "$st" = 0 ]; then
        # Finished before the kill: it must be the reference catalogue.
        completions=$((completions + 1))
        same_as_reference "sweep $sweeps (completed)" --quick
        echo "sweep $sweeps: completed before the kill (${delay_ms} ms); same" \
            "rows as the reference; starting over"
        rm -f "$work/kill.h5" "$work/kill.h5.journal"
        continue
    fi
    [ "$st" = 137 ] || {
        cat "$log" >&2
        echo "FAIL: sweep $sweeps exited $st, not killed (137)" >&2
        exit 1
    }
    # What rank 0 had stored and logged before it died.
    grep -o 'unit [^ ]* done' "$log" | awk '{ print $2 }' >"$work/claims" || true
    n_claims=$(wc -l <"$work/claims")
    if [ ! -e "$work/kill.h5" ]; then
        # Killed before the catalogue was created: nothing was stored, and
        # nothing to verify, so the kill does not count.
        [ "$n_claims" = 0 ] || { echo "FAIL: no catalogue" >&2; exit 1; }
        early=$((early + 1))
        echo "sweep $sweeps (${delay_ms} ms): killed before the catalogue" \
            "existed (not counted)"
        continue
    fi
    kills=$((kills + 1))
    [ "$n_claims" = 0 ] || with_units=$((with_units + 1))
    "$almasweep" catalogue verify --no-recover "$work/kill.h5" \
        >"$work/verify-raw.out" || {
        cat "$work/verify-raw.out" >&2
        echo "FAIL: kill $kills: the file as left by the kill does not verify" >&2
        exit 1
    }
    "$almasweep" catalogue verify "$work/kill.h5" >"$work/verify.out" 2>&1 || {
        cat "$work/verify.out" >&2
        echo "FAIL: kill $kills: the recovered catalogue does not verify" >&2
        exit 1
    }
    "$py" - "$work/kill.h5" "$work/claims" <<'PY' || exit 1
import sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    st = {i.decode(): s.decode() for i, s in
          zip(f["units"]["id"], f["units"]["status"])}
lost = [u for u in open(sys.argv[2]).read().split() if st.get(u) != "done"]
if lost:
    sys.exit("FAIL: units logged done before the kill but not done: %s" % lost)
PY
    applied=$(grep -o 'applied [0-9]* journal records' "$work/verify.out" || true)
    echo "kill $kills (sweep $sweeps, $([ $((sweeps % 2)) = 1 ] && echo serial ||
        echo np3), ${delay_ms} ms): verified; ${n_claims} units logged done" \
        "before the kill are done; ${applied:-journal empty}"
done

# Resume to the end.
"$almasweep" run --config "$work/kill.ini" 2>"$work/final.log" || {
    tail -20 "$work/final.log" >&2
    echo "FAIL: the final resume failed" >&2
    exit 1
}
"$almasweep" catalogue verify "$work/kill.h5"
same_as_reference "the final catalogue"
cp "$work/kill.h5" "$work/final.h5"
cp "$work/reference.h5" "$work/final-reference.h5"
echo "kill loop: $kills verified kills ($with_units after units were done)" \
    "in $sweeps sweeps ($early more before the catalogue existed," \
    "$completions completed before their kill); final catalogue =" \
    "uninterrupted sweep"
