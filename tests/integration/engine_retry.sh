#!/usr/bin/env bash
# Engine acceptance (issue 8): transient download failures are retried by
# the scheduler (not by the downloader: [download] retries = 0) on any
# rank, after a backoff, and every unit ends done with the same rows as an
# undisturbed sweep. Under mpirun -n 4, with download slots and prefetch;
# at least one retried unit runs on another rank than the one it failed on.
set -euo pipefail
. "$ASW_SOURCE_DIR/tests/integration/engine_lib.sh"
work=$B/test-work/engine-retry
rm -rf "$work"
mkdir -p "$work"
trap asw_sim_stop EXIT
asw_mpi_env
arch=$(engine_clone_archive)

# Undisturbed reference.
asw_sim_start "$B" "$arch" "$work"
engine_ini "$work/ref.ini" ref
engine_run 3 "$work/ref.ini" "$work/ref.log" || fail "reference sweep failed"
asw_sim_stop

# HTTP 503 on the first 5 file requests, and two connections of one unit
# reset mid-body: each fails its unit at once.
cat >"$work/faults" <<F
/dataPortal/ status=503 count=5
/dataPortal/ contains=X16bef02. drop_after=20000 count=2
F
asw_sim_start "$B" "$arch" "$work" --faults "$work/faults"
engine_ini "$work/run.ini" run "download_slots = 2
prefetch = 1
[download]
retries = 0"
rc=0
engine_run 4 "$work/run.ini" "$work/run.log" || rc=$?
[ "$rc" = 0 ] || { tail -20 "$work/run.log" >&2; fail "sweep exit $rc, want 0"; }

engine_units "$work/run.h5" >"$work/units.txt"
cat "$work/units.txt"
[ "$(wc -l <"$work/units.txt")" = 8 ] || fail "want 8 units"
notdone=$(awk '$2 != "done"' "$work/units.txt" | wc -l)
[ "$notdone" = 0 ] || fail "$notdone units not done"
# Every failure cost one attempt: 5 + 2 failed attempts over 8 units.
attempts=$(awk '{ s += $3 } END { print s }' "$work/units.txt")
[ "$attempts" -ge 15 ] || fail "only $attempts attempts in all: faults not hit"
retries=$(grep -c '"verdict":"retry"' "$work/run.trace")
[ "$retries" -ge 7 ] || fail "$retries retries in the trace, want >= 7"
grep -q '"error":"download:EHTTP' "$work/run.trace" || fail "no HTTP failure"
grep -q '"error":"download:ENET' "$work/run.trace" || fail "no reset"
# A retry waits for its backoff: its next assignment comes >= 0.15 s
# after the failure (0.2 s +-25 %).
"$PY" - "$work/run.trace" <<'PY'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
failed_at = {}
gaps = []
ranks = {}
for e in ev:
    if e["ev"] == "result" and e["verdict"] == "retry":
        failed_at[e["unit"]] = e["t"]
    if e["ev"] == "assign":
        ranks.setdefault(e["unit"], set()).add(e["rank"])
        if e["unit"] in failed_at:
            gaps.append(e["t"] - failed_at.pop(e["unit"]))
assert gaps and min(gaps) >= 0.15, gaps
moved = sum(1 for r in ranks.values() if len(r) > 1)
print("retried after %.2f-%.2f s; %d units ran on more than one rank"
      % (min(gaps), max(gaps), moved))
# Retries are not pinned to the rank that failed (7 retries over 3 worker
# ranks: at least one lands elsewhere; tests/unit/test_sched.c
# retry_any_worker shows the policy step by step).
assert moved >= 1, "every retry ran on the rank that failed"
PY
engine_same_rows "$work/run.h5" "$work/ref.h5"
echo "engine-retry: 8 units done after $retries scheduler retries"
