#!/usr/bin/env bash
# Rank 0 of a real sweep killed (SIGKILL, raised by itself) at named points
# of the catalogue code -- in the middle of a journal record, after it,
# at every step of a checkpoint, while creating the file, after reading the
# journal -- via ASW_CAT_CRASH_AT=point:n (io/catalogue_journal.c). After
# each: the file as left passes `verify --no-recover`, the recovered one
# `verify`, and a resume gives the catalogue of an uninterrupted sweep.
# Alternates one process and mpirun -n 3 (the other ranks die with rank 0).
set -euo pipefail
: "${ASW_BUILD_DIR:?}" "${ASW_SOURCE_DIR:?}"
. "$ASW_SOURCE_DIR/scripts/lib.sh"
B=$ASW_BUILD_DIR
py=/usr/bin/python3
read_cat=$ASW_SOURCE_DIR/tests/integration/read_catalogue.py
work=$B/test-work/kill-points
rm -rf "$work"
mkdir -p "$work"
trap asw_sim_stop EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

gen=$(asw_test_archive "$B")
asw_sim_start "$B" "$gen" "$work"
asw_mpi_env
ini() { # NAME
    cat >"$work/$1.ini" <<INI
[archive]
mirrors = $ASW_SIM_URL
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
ini reference
ini crash
"$B/almasweep" run --config "$work/reference.ini" 2>"$work/reference.log"

# With checkpoint_s = 0 a sweep of this archive writes: the run's start, 2
# results, the run's end (journal records), and checkpoints after each of
# the first three and at the end; the file is created first.
points="ckpt-synced:1 ckpt-renamed:1 open-scanned:1 journal-torn:2
journal-written:3 put-acked:1 ckpt-start:2 ckpt-copied:2 ckpt-compacted:3
ckpt-appended:4 ckpt-closed:3 ckpt-renamed:4 ckpt-done:2"
n=0
for p in $points; do
    n=$((n + 1))
    rm -rf "$work/crash.h5" "$work/crash.h5.journal" "$work/scratch-crash"
    st=0
    if [ $((n % 2)) = 1 ]; then
        how=serial
        # (in a subshell: bash's "Killed" notice goes to /dev/null)
        (ASW_CAT_CRASH_AT=$p "$B/almasweep" run --config "$work/crash.ini" \
            2>"$work/crash-$n.log"; exit $?) 2>/dev/null || st=$?
        [ "$st" = 137 ] || fail "$p ($how): exit $st, not killed"
    else
        how=np3
        ASW_CAT_CRASH_AT=$p mpirun -x ASW_CAT_CRASH_AT -n 3 --oversubscribe \
            "$B/almasweep" run --config "$work/crash.ini" \
            >"$work/crash-$n.out" 2>"$work/crash-$n.log" || st=$?
        [ "$st" != 0 ] || fail "$p ($how): the sweep was not killed"
        grep -qi "signal 9\|killed" "$work/crash-$n.log" "$work/crash-$n.out" ||
            fail "$p ($how): exit $st, but no sign of SIGKILL"
    fi
    state="no file yet"
    if [ -e "$work/crash.h5" ]; then
        "$B/almasweep" catalogue verify --no-recover "$work/crash.h5" \
            >"$work/v.out" || { cat "$work/v.out"; fail "$p: file as left"; }
        "$B/almasweep" catalogue verify "$work/crash.h5" >"$work/v.out" 2>&1 ||
            { cat "$work/v.out"; fail "$p: recovered file"; }
        state="verified ($(grep -o 'applied [0-9]* journal records' \
            "$work/v.out" || echo journal empty))"
    fi
    "$B/almasweep" run --config "$work/crash.ini" 2>"$work/resume-$n.log" ||
        fail "$p: the resume failed"
    "$py" "$read_cat" "$work/crash.h5" --quick --same-as "$work/reference.h5" \
        --min-images 1 >"$work/same.out" || { cat "$work/same.out"; fail "$p: resumed catalogue differs"; }
    echo "$p ($how): killed; $state; resumed = uninterrupted sweep"
done
echo "kill points: $n kills at named points, all verified and resumed"
