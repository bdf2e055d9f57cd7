#!/usr/bin/env bash
# Engine acceptance (issue 8): the same catalogue whatever the shape of
# the run: one process without mpirun (prefetch 2, one download slot),
# mpirun -n 1, mpirun -n 2 with rank 0 working too (master_works, no
# prefetch) and mpirun -n 3 in archive order (fifo) against a default
# mpirun -n 4 sweep. The traces show who worked, and that with prefetch
# the next download overlaps processing (none without). Progress with the
# default setting: the live line on a terminal (a pty), log lines
# otherwise; every run ends with the summary table (8 done, a row per
# working rank).
set -euo pipefail
. "$ASW_SOURCE_DIR/tests/integration/engine_lib.sh"
work=$B/test-work/engine-modes
rm -rf "$work"
mkdir -p "$work"
trap asw_sim_stop EXIT
asw_mpi_env
arch=$(engine_clone_archive)
: >"$work/faults" # read again by the simulator when it changes
asw_sim_start "$B" "$arch" "$work" --faults "$work/faults"

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
    summary_ok "$work/$1.log" "$3" || fail "$1: summary table"
    echo "$1: ok (ranks $got)"
}

# summary_ok LOG RANKS: the final summary table says 8 done, nothing else,
# and has one row per rank that worked (RANKS, comma-separated), whose
# results add up to 8.
summary_ok() {
    grep -q "^sweep summary: 8 units, wall " "$1" || return 1
    grep -q "^  done 8, failed 0, interrupted 0, skipped (done before) 0, retries 0$" \
        "$1" || return 1
    awk -v want="$2" '
        /^ +rank results +fetched/ { t = 1; next }
        t && /^ +[0-9]+ +[0-9]+ / { r = r (r == "" ? "" : ",") $1; n += $2; next }
        t { t = 0 }
        END { if (r != want || n != 8) { print "summary rows: ranks " r \
              ", " n " results" > "/dev/stderr"; exit 1 } }' "$1"
}

# The serial run's downloads are slowed (10 ms before each of a unit's 25
# responses, ~0.25 s a unit against ~0.04 s of processing), so that with
# prefetch the next unit's download is under way during every processing
# interval: the overlap check below does not depend on luck.
echo "/dataPortal/ latency_ms=10" >"$work/faults"
one serial 0 0 "prefetch = 2
download_slots = 1"
: >"$work/faults"
# [run] progress = auto (the default) on a terminal: the live line, redrawn
# in place (\r, erase line), and no progress log lines. The sweep runs on
# a pseudo-terminal (stdout and stderr).
auto_ini() { # NAME: an INI with the default progress, log lines every 0.1 s
    engine_ini "$work/$1.ini" "$1"
    sed -i -e '/^progress = log$/d' \
        -e 's/^progress_interval = 1$/progress_interval = 0.1/' "$work/$1.ini"
    ! grep -q '^progress =' "$work/$1.ini" || fail "$1: progress still set"
}
on_pty() { # LOG CMD...: run CMD with stdout and stderr on a pseudo-terminal
    local log=$1
    shift
    "$PY" - "$log" "$@" <<'PY'
import os, pty, sys
out = open(sys.argv[1], "wb")
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[2], sys.argv[2:])
while True:
    try:
        b = os.read(fd, 65536)
    except OSError:  # EIO: the child closed the terminal
        break
    if not b:
        break
    out.write(b)
_, st = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(st))
PY
}
auto_ini live
on_pty "$work/live.log" "$ALMASWEEP" run --config "$work/live.ini" ||
    fail "live: sweep on a terminal failed"
grep -q $'\r\033\[Kunits [0-9]*/8 ' "$work/live.log" || fail "live: no live line"
grep -q "INFO  progress:" "$work/live.log" && fail "live: log lines too"
# A log line erases the live line first: never "... ETA 1s2026-11-21T..."
grep -aq 'ETA [0-9a-z-]*[0-9]\{4\}-[0-9][0-9]-[0-9][0-9]T' "$work/live.log" &&
    fail "live: a log line ran on after the live line"
tr -d '\r' <"$work/live.log" | sed 's/\x1b\[K//g' >"$work/live.txt"
summary_ok "$work/live.txt" 0 || fail "live: summary table"
# Under mpirun on a terminal rank 0's stderr is a pipe to mpirun, which
# writes it to the terminal: the live line too (asw_progress_on_terminal).
auto_ini live-mpi
on_pty "$work/live-mpi.log" mpirun -n 2 --oversubscribe "$ALMASWEEP" run \
    --config "$work/live-mpi.ini" || fail "live-mpi: sweep on a terminal failed"
grep -q $'\r\033\[Kunits [0-9]*/8 ' "$work/live-mpi.log" ||
    fail "live-mpi: no live line under mpirun on a terminal"
grep -q "INFO  progress:" "$work/live-mpi.log" && fail "live-mpi: log lines too"
# The same default, stderr to a file: periodic log lines, no live line.
auto_ini logged
"$ALMASWEEP" run --config "$work/logged.ini" 2>"$work/logged.log" ||
    fail "logged: sweep failed"
n_log=$(grep -c "INFO  progress: units [0-9]*/8 " "$work/logged.log" || true)
[ "$n_log" -ge 2 ] || fail "logged: $n_log progress log lines, want >= 2"
grep -q $'\033\[K' "$work/logged.log" && fail "logged: live line in a log"
summary_ok "$work/logged.log" 0 || fail "logged: summary table"
echo "progress: live line on a terminal, $n_log log lines otherwise"
one np1 1 0 ""
one master-works 2 0,1 "master_works = true
prefetch = 0"
one fifo 3 1,2 "order = fifo"
# Overlap: with prefetch a rank's next download starts while it processes
# a unit (a download slot granted to the rank inside one of its processing
# intervals, from the trace); without prefetch (master-works) never.
overlaps() { # TRACE: how many downloads started during processing
    "$PY" - "$1" <<'PY'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
proc, grants = {}, {}
for e in ev:
    if e["ev"] == "result" and e["status"] == "done":
        proc.setdefault(e["rank"], []).append((e["t"] - e["t_process"], e["t"]))
    if e["ev"] == "slot" and e["op"] == "grant":
        grants.setdefault(e["rank"], []).append(e["t"])
print(sum(1 for r, gs in grants.items() for g in gs
          for a, b in proc.get(r, []) if a < g < b))
PY
}
n_pre=$(overlaps "$work/serial.trace")
n_nopre=$(overlaps "$work/master-works.trace")
[ "$n_pre" -gt 0 ] || fail "prefetch 2: no download during processing"
[ "$n_nopre" = 0 ] || fail "prefetch 0: $n_nopre downloads during processing"
echo "overlap: $n_pre downloads during processing with prefetch, none without"
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
