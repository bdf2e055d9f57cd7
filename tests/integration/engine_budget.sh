#!/usr/bin/env bash
# Engine acceptance (issue 8): scratch admission per node, asserted from
# the run's own records (the scheduler trace, [scheduler] trace).
#
# Two 8 MB units and eight of 1 MB, processed by the cost-model stand-in
# (1 s for the large ones), mpirun -n 4, prefetch 1:
#   1. [scheduler] scratch_budget = 12M on one node: the two large units
#      are never held at the same time (assign -> result intervals), and
#      at no moment do the units held on the node need more than 12 MB;
#      small units run beside a large one (backfill);
#   2. without the budget the two large units do overlap (so 1. can fail);
#   3. with two nodes of two ranks each (ASW_RANKS_PER_NODE=2) and the
#      same budget, they overlap, on different nodes.
set -euo pipefail
. "$ASW_SOURCE_DIR/tests/integration/engine_lib.sh"
work=$B/test-work/engine-budget
rm -rf "$work"
mkdir -p "$work"
trap asw_sim_stop EXIT
asw_mpi_env
M=1000000
"$PY" "$ENGINE_ARCHIVE" synth "$(asw_test_archive "$B")" "$work/archive" \
    --sizes $((8 * M)),$((8 * M)),$M,$M,$M,$M,$M,$M,$M,$M >/dev/null
asw_sim_start "$B" "$work/archive" "$work"
export ASW_BENCH_COST=125,0

check() { # TRACE BUDGET EXPECT(apart|overlap|apart-nodes)
    "$PY" - "$@" <<'PY'
import json, sys
trace, budget, expect = sys.argv[1], int(sys.argv[2]), sys.argv[3]
ev = [json.loads(l) for l in open(trace)]
held = {}      # unit -> (node, need, t_assign)
spans = {}     # unit -> [(node, t0, t1)]
use = {}       # node -> bytes held now
peak = {}
need_of = {}
for e in ev:
    if e["ev"] == "assign":
        held[e["unit"]] = (e["node"], e["need"], e["t"])
        need_of[e["unit"]] = e["need"]
        use[e["node"]] = use.get(e["node"], 0) + e["need"]
        peak[e["node"]] = max(peak.get(e["node"], 0), use[e["node"]])
        assert budget == 0 or use[e["node"]] <= budget, \
            "node %d holds %d bytes > budget %d at t=%.3f" % (
                e["node"], use[e["node"]], budget, e["t"])
    elif e["ev"] == "result":
        node, need, t0 = held.pop(e["unit"])
        use[node] -= need
        spans.setdefault(e["unit"], []).append((node, t0, e["t"]))
assert not held, "units never came back: %s" % held
big = sorted(u for u, n in need_of.items() if n >= 8000000)
assert len(big) == 2, big
(na, a0, a1), = spans[big[0]]
(nb, b0, b1), = spans[big[1]]
overlap = min(a1, b1) - max(a0, b0)
print("large units: node %d [%.2f, %.2f], node %d [%.2f, %.2f]; overlap "
      "%.2f s; peak scratch held per node: %s" % (na, a0, a1, nb, b0, b1,
                                                  overlap, peak))
if expect == "apart":
    assert overlap <= 0, "the large units ran at the same time"
    # something small ran beside a large one
    small = [s for u, ss in spans.items() if u not in big for s in ss]
    assert any(min(t1, a1) > max(t0, a0) or min(t1, b1) > max(t0, b0)
               for _, t0, t1 in small), "no backfill"
elif expect == "overlap":
    assert overlap > 0 and na == nb, "want overlap on one node"
else:
    assert overlap > 0 and na != nb, "want overlap on two nodes"
PY
}

run() { # NAME EXTRA-INI
    engine_ini "$work/$1.ini" "$1" "prefetch = 1
$2"
    engine_run 4 "$work/$1.ini" "$work/$1.log" ||
        { tail "$work/$1.log" >&2; fail "$1: sweep failed"; }
    [ "$(engine_units "$work/$1.h5" | awk '$2 == "done"' | wc -l)" = 10 ] ||
        fail "$1: not every unit done"
}

run budget "scratch_budget = 12000000"
grep -q '"budget":12000000' "$work/budget.trace" || fail "budget not in trace"
check "$work/budget.trace" 12000000 apart || fail "budget: admission broken"

run free ""
check "$work/free.trace" 0 overlap || fail "free: want the large units together"

ASW_RANKS_PER_NODE=2 run nodes "scratch_budget = 12000000"
grep -q '"node":1' "$work/nodes.trace" || fail "nodes: one node only"
check "$work/nodes.trace" 12000000 apart-nodes ||
    fail "nodes: want the large units together on two nodes"
echo "engine-budget: per-node admission holds"
