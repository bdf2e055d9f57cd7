#!/usr/bin/env bash
# Engine acceptance (issue 8): the same catalogue whatever the shape of
# the run: one process without mpirun (prefetch 2, one download slot),
# mpirun -n 1, mpirun -n 2 with rank 0 working too (master_works, no
# prefetch) and mpirun -n 3 in archive order (fifo) against a default
# mpirun -n 4 sweep. The traces show who worked.
set -euo pipefail
. "$ASW_SOURCE_DIR/tests/integration/engine_lib.sh"
work=$B/test-work/engine-modes
rm -rf "$work"
mkdir -p "$work"
trap asw_sim_stop EXIT
asw_mpi_env
arch=$(engine_clone_archive)
asw_sim_start "$B" "$arch" "$work"

engine_ini "$work/ref.ini" ref
engine_run 4 "$work/ref.ini" "$work/ref.log" || fail "reference sweep failed"

ranks_of() { # TRACE: the ranks units were handed to, sorted, unique
    grep '"ev":"assign"' "$1" | sed 's/.*"rank":\([0-9]*\).*/\1/' |
        sort -nu | paste -sd, -
}

one() { # NAME RANKS WANT-RANKS EXTRA-INI
    engine_ini "$work/$1.ini" "$1" "$4"
    local rc=0
    engine_run "$2" "$work/$1.ini" "$work/$1.log" || rc=$?
    [ "$rc" = 0 ] || { tail "$work/$1.log" >&2; fail "$1: exit $rc"; }
    local got
    got=$(ranks_of "$work/$1.trace")
    [ "$got" = "$3" ] || fail "$1: units went to ranks $got, want $3"
    engine_same "$work/$1.h5" "$work/ref.h5"
    grep -q "sweep summary: 8 units" "$work/$1.log" || fail "$1: no summary"
    echo "$1: ok (ranks $got)"
}

one serial 0 0 "prefetch = 2
download_slots = 1"
# [run] progress = line: the live line, redrawn in place (\r, erase line).
engine_ini "$work/live.ini" live
sed -i '0,/^progress = log$/s//progress = line/' "$work/live.ini"
"$ALMASWEEP" run --config "$work/live.ini" 2>"$work/live.log" ||
    fail "live: sweep failed"
grep -q $'\r\033\[Kunits [0-9]*/8 ' "$work/live.log" || fail "live: no live line"
grep -q "INFO  progress:" "$work/live.log" && fail "live: log lines too"
one np1 1 0 ""
one master-works 2 0,1 "master_works = true
prefetch = 0"
one fifo 3 1,2 "order = fifo"
# Largest first: the first round (2 units for each of 3 workers) is the 6
# largest units (each worker gets its smaller one first); fifo hands out
# the units in another order.
"$PY" - "$work/fifo.trace" "$work/ref.trace" <<'PY'
import json, sys
def assigns(p):
    return [json.loads(l) for l in open(p) if '"assign"' in l]
fifo, ref = assigns(sys.argv[1]), assigns(sys.argv[2])
sizes = sorted((e["bytes"] for e in ref), reverse=True)
assert sorted((e["bytes"] for e in ref[:6]), reverse=True) == sizes[:6], ref
assert [e["unit"] for e in fifo] != [e["unit"] for e in ref]
PY
echo "engine-modes: same catalogue in every shape"
