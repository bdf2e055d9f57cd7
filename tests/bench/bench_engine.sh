#!/usr/bin/env bash
# Engine benchmark (issue 8; docs/benchmarks.md, "Sweep engine"). Not a
# test: nothing registers it with ctest.
#
# usage: tests/bench/bench_engine.sh [BUILD_DIR]
#   env: BENCH_UNITS=400        units (heavy-tailed sizes, fixed seed)
#        BENCH_BYTES=100000000  their total size
#        BENCH_BPS=50000000     the simulator's total bandwidth cap (B/s)
#        BENCH_S_PER_GB=600     cost model: processing seconds per 10^9 B
#        BENCH_JITTER=0.2       +- fraction, fixed per unit
#        BENCH_RANKS="2 4 8 16" mpirun -n (oversubscribed: the stand-ins
#                               sleep)
#        BENCH_STRATEGIES="fifo largest prefetch"
#        BENCH_SLOTS=4          [scheduler] download_slots
#        BENCH_FSYNC=false      [output] journal_fsync (the catalogue's
#                               fdatasync per result: rank 0's time)
#
# One synthetic archive (tests/integration/engine_archive.py synth
# --bench: one calibrator image per unit, lognormal body with a Pareto
# tail) served by the simulator with --rate-total-bps; processing stood in
# by the cost model (ASW_BENCH_COST, mpi/costmodel.h): a sleep of
# S_PER_GB x size x (1 +- jitter). Strategies:
#   fifo      archive order, no prefetch (almaqso's shape)
#   largest   largest first, no prefetch
#   prefetch  largest first, [scheduler] prefetch = 1
#   prefetch2 largest first, [scheduler] prefetch = 2 (not by default)
# For every run the master's trace gives the makespan (first unit handed
# out to last result) and the master's time per result; the lower bound is
# max(total bytes / bandwidth, total processing / workers, longest unit
# (its download at full bandwidth plus its processing)), workers = ranks -
# 1, processing as measured by the stand-ins. Efficiency = bound /
# makespan. Results: BUILD_DIR/bench-engine/results.jsonl and a table on
# stdout.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-${ASW_BUILD_DIR:-$src/build}}
build=$(cd "$build" && pwd)
. "$src/scripts/lib.sh"
units=${BENCH_UNITS:-400}
bytes=${BENCH_BYTES:-100000000}
bps=${BENCH_BPS:-50000000}
spg=${BENCH_S_PER_GB:-600}
jitter=${BENCH_JITTER:-0.2}
ranks_list=${BENCH_RANKS:-"2 4 8 16"}
strategies=${BENCH_STRATEGIES:-"fifo largest prefetch"}
slots=${BENCH_SLOTS:-4}
fsync=${BENCH_FSYNC:-false}
py=/usr/bin/python3
work=$build/bench-engine
rm -rf "$work"
mkdir -p "$work"
trap asw_sim_stop EXIT
asw_mpi_env

base=$(asw_test_archive "$build")
"$py" "$src/tests/integration/engine_archive.py" synth "$base" \
    "$work/archive" --bench "$units" --total "$bytes" --seed 11
asw_sim_start "$build" "$work/archive" "$work" --rate-total-bps "$bps" \
    --exit-with-parent
export ASW_BENCH_COST="$spg,$jitter"
echo "units $units, $bytes bytes, bandwidth $bps B/s, cost $spg s/GB +-$jitter"

for ranks in $ranks_list; do
    for strat in $strategies; do
        name=$strat-$ranks
        case $strat in
        fifo) sched="order = fifo
prefetch = 0" ;;
        largest) sched="order = largest
prefetch = 0" ;;
        prefetch) sched="order = largest
prefetch = 1" ;;
        prefetch2) sched="order = largest
prefetch = 2" ;;
        *) echo "unknown strategy $strat" >&2; exit 1 ;;
        esac
        cat >"$work/$name.ini" <<INI
[archive]
mirrors = $ASW_SIM_URL
[scratch]
dir = $work/scratch
reserve = 0
[output]
catalogue = $work/$name.h5
journal_fsync = $fsync
[run]
progress = off
[scheduler]
trace = $work/$name.trace
download_slots = $slots
$sched
INI
        rm -rf "$work/scratch"
        t0=$(date +%s.%N)
        mpirun -n "$ranks" --oversubscribe "$build/almasweep" run \
            --config "$work/$name.ini" 2>"$work/$name.log" ||
            { tail "$work/$name.log" >&2; exit 1; }
        t1=$(date +%s.%N)
        "$py" - "$work/$name.trace" "$work/archive/units.json" "$bps" \
            "$ranks" "$strat" "$t0" "$t1" >>"$work/results.jsonl" <<'PY'
import json, sys
trace, units, bps, ranks, strat, t0, t1 = sys.argv[1:8]
bps, ranks = float(bps), int(ranks)
size = {u["id"]: u["bytes"] for u in json.load(open(units))}
ev = [json.loads(l) for l in open(trace)]
assign = [e for e in ev if e["ev"] == "assign"]
done = [e for e in ev if e["ev"] == "result" and e["verdict"] == "done"]
end = [e for e in ev if e["ev"] == "end"][0]
assert len(done) == len(size), "not every unit done"
proc = {e["unit"]: e["t_process"] for e in done}
makespan = max(e["t"] for e in done) - min(e["t"] for e in assign)
workers = ranks - 1
total_bytes = sum(size.values())
bound_bw = total_bytes / bps
bound_proc = sum(proc.values()) / workers
bound_unit = max(proc[u] + size[u] / bps for u in size)
bound = max(bound_bw, bound_proc, bound_unit)
print(json.dumps({
    "strategy": strat, "ranks": ranks, "workers": workers,
    "makespan_s": round(makespan, 3), "bound_s": round(bound, 3),
    "bound_bandwidth_s": round(bound_bw, 3),
    "bound_processing_s": round(bound_proc, 3),
    "bound_unit_s": round(bound_unit, 3),
    "efficiency": round(bound / makespan, 3),
    "master_ms_per_result": end["master_ms_per_result"],
    "catalogue_ms_per_result": end["catalogue_ms_per_result"],
    "wall_s": round(float(t1) - float(t0), 2)}))
PY
        tail -1 "$work/results.jsonl"
    done
done

"$py" - "$work/results.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
print()
print("| ranks | strategy | makespan s | bound s (bw / proc / unit) "
      "| efficiency | master ms/result |")
print("|---|---|---|---|---|---|")
names = {"fifo": "FIFO, no prefetch", "largest": "largest first",
         "prefetch": "largest first + prefetch",
         "prefetch2": "largest first + prefetch 2"}
for r in rows:
    print("| %d | %s | %.2f | %.2f (%.2f / %.2f / %.2f) | %.3f | %.2f |" % (
        r["ranks"], names.get(r["strategy"], r["strategy"]), r["makespan_s"],
        r["bound_s"], r["bound_bandwidth_s"], r["bound_processing_s"],
        r["bound_unit_s"], r["efficiency"], r["master_ms_per_result"]))
PY
