#!/usr/bin/env bash
# The cluster files without a batch system (label mpi):
#
#   test_scripts.sh examples  every cluster/examples/*.ini is accepted by the
#                             configuration parser (which rejects unknown
#                             keys) and answers `almasweep query` against the
#                             archive simulator; the grid example asks for
#                             all its 35 sources in Bands 3 and 7 and finds
#                             the demo archive's grid observations
#   test_scripts.sh usage     the batch scripts fail with a clear message
#                             (exit 1) without a configuration or binary
#   test_scripts.sh pbs       cluster/pbs/almasweep.pbs run as PBS would run
#                             it (PBS_* variables, a node file): the demo
#                             sweep, catalogue checked against the truth
#   test_scripts.sh pbs-stop  its wall-time timer stops a stand-in binary
#                             (fake-almasweep.sh) with SIGUSR1, it exits 4,
#                             and the job is resubmitted (a stand-in qsub
#                             records the arguments) with the same resources
set -euo pipefail
what=${1:?usage: test_scripts.sh examples|usage|pbs|pbs-stop}
: "${ASW_BUILD_DIR:?}" "${ASW_SOURCE_DIR:?}"
src=$ASW_SOURCE_DIR
. "$src/scripts/lib.sh"
work=$ASW_BUILD_DIR/test-work/cluster-$what
rm -rf "$work"
mkdir -p "$work"
trap asw_sim_stop EXIT
fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# The demo archive (cluster/examples/demo.ini's), generated into $1.
demo_archive() {
    "$ASW_BUILD_DIR/tests/gen/asw-gen" --out "$1" --preset demo --seed 1 \
        --min-snr 100 >"$work/gen.out" 2>&1 || { cat "$work/gen.out"; exit 1; }
}

case "$what" in
examples)
    demo_archive "$work/archive"
    asw_sim_start "$ASW_BUILD_DIR" "$work/archive" "$work"
    export ASW_MIRRORS=$ASW_SIM_URL ASW_DEMO_MIRROR=$ASW_SIM_URL ASW_DEMO_DIR=$work
    # As grid-b3b7-cycle5.ini says to.
    ASW_GRID_TARGETS=$(grep -o '^J[^ #]*' "$src/cluster/examples/grid-sources.txt" | paste -sd, -)
    export ASW_GRID_TARGETS
    n=0
    for ini in "$src"/cluster/examples/*.ini; do
        name=$(basename "$ini" .ini)
        if ! "$ASW_BUILD_DIR/almasweep" query --config "$ini" --format json \
            --show-adql >"$work/$name.json" 2>"$work/$name.err"; then
            cat "$work/$name.err" >&2
            fail "$name: almasweep query failed"
        fi
        # The examples must ask the simulator, not the real archive.
        grep -q "ADQL sent to $ASW_SIM_URL/tap/sync" "$work/$name.err" ||
            fail "$name: the query did not go to \$ASW_MIRRORS ($ASW_SIM_URL)"
        n=$((n + 1))
    done
    [ "$n" -ge 4 ] || fail "only $n example configurations"
    # Every grid source reaches the ADQL.
    adql=$(cat "$work/grid-b3b7-cycle5.err")
    targets=$ASW_GRID_TARGETS
    count=0
    IFS=, read -ra names <<<"$targets"
    for t in "${names[@]}"; do
        t=$(echo "$t" | tr -d ' ')
        grep -q "target_name = '$t'" <<<"$adql" || fail "grid: $t not in the ADQL"
        count=$((count + 1))
    done
    [ "$count" = 35 ] || fail "grid: $count sources, want 35"
    # The truth's public 12-m member OUSs of 2017-2024 in Bands 3 and 7
    # with a grid source are exactly the units the grid example lists.
    /usr/bin/python3 - "$work/grid-b3b7-cycle5.json" "$work/archive/truth.json" "$targets" <<'EOF'
import json, sys
units = json.load(open(sys.argv[1]))
truth = json.load(open(sys.argv[2]))
grid = {t.strip() for t in sys.argv[3].split(",")}
want = sorted(m["mous_uid"] for m in truth["mous"]
              if m["data_rights"] == "Public" and m["array"] == "12m"
              and m["band"] in ("3", "7")
              and 2017 <= int(m["project"][:4]) <= 2024
              and grid & {f["name"] for f in m["fields"]})
got = sorted(u["mous_uid"] for u in units)
if not want or got != want:
    sys.exit("grid example: units %s, want %s" % (got, want))
print("grid example: %d units as expected" % len(got))
EOF
    ;;
usage)
    for s in slurm/almasweep.sbatch pbs/almasweep.pbs; do
        set +e
        out=$(env -u CONFIG bash "$src/cluster/$s" 2>&1)
        rc=$?
        set -e
        [ "$rc" = 1 ] || fail "$s without CONFIG: exit $rc, want 1"
        grep -q "no configuration given" <<<"$out" || fail "$s: message '$out'"
        set +e
        out=$(bash "$src/cluster/$s" "$work/nonexistent.ini" 2>&1)
        rc=$?
        set -e
        [ "$rc" = 1 ] || fail "$s with a missing file: exit $rc, want 1"
        grep -q "configuration '.*nonexistent.ini' not found" <<<"$out" ||
            fail "$s: message '$out'"
        : >"$work/empty.ini"
        set +e
        out=$(ASW_BIN=$work/no-such-binary bash "$src/cluster/$s" "$work/empty.ini" 2>&1)
        rc=$?
        set -e
        [ "$rc" = 1 ] || fail "$s with a missing binary: exit $rc, want 1"
        grep -q "ASW_BIN=.*no-such-binary is not an executable" <<<"$out" ||
            fail "$s: message '$out'"
        bash -n "$src/cluster/$s" || fail "$s: syntax"
    done
    echo "usage messages ok"
    ;;
pbs)
    demo_archive "$work/archive"
    asw_sim_start "$ASW_BUILD_DIR" "$work/archive" "$work"
    mkdir -p "$work/tmp"
    printf 'localhost\nlocalhost\nlocalhost\n' >"$work/nodefile"
    cp "$src/cluster/examples/demo.ini" "$work/demo.ini"
    (
        cd /
        env PBS_JOBID=17.fake PBS_JOBNAME=almasweep PBS_O_WORKDIR="$work" \
            PBS_NODEFILE="$work/nodefile" TMPDIR="$work/tmp" \
            CONFIG=demo.ini ASW_BIN="$ASW_BUILD_DIR/almasweep" \
            ASW_DEMO_MIRROR="$ASW_SIM_URL" ASW_DEMO_DIR="$work" \
            bash "$src/cluster/pbs/almasweep.pbs"
    ) >"$work/job.out" 2>&1 || { cat "$work/job.out"; fail "the PBS script failed"; }
    cat "$work/job.out"
    grep -q "mpirun -n 3 -hostfile $work/nodefile" "$work/job.out" ||
        fail "not 3 ranks from the node file"
    grep -q "2 worker rank(s)" "$work/job.out" || fail "not 1 master + 2 workers"
    /usr/bin/python3 "$src/tests/integration/check_catalogue.py" \
        "$work/demo.h5" "$work/archive/truth.json" --include-7m
    ;;
pbs-stop)
    mkdir -p "$work/fake" "$work/bin"
    printf 'localhost\nlocalhost\n' >"$work/nodefile"
    printf '[archive]\nmirrors = http://127.0.0.1:9\n' >"$work/sweep.ini"
    # Stand-ins for qstat -f (5 min 2 s of wall time, none used) and qsub.
    cat >"$work/bin/qstat" <<'EOF'
#!/bin/sh
cat <<END
Job Id: $2
    Job_Name = almasweep
    Resource_List.select = 1:ncpus=2:mpiprocs=2
    Resource_List.walltime = 00:05:02
    resources_used.walltime = 00:00:00
END
EOF
    cat >"$work/bin/qsub" <<EOF
#!/bin/sh
for a in "\$@"; do printf '%s\n' "\$a"; done >"$work/qsub.args"
echo 18.fake
EOF
    chmod +x "$work/bin/qstat" "$work/bin/qsub"
    set +e
    (
        cd /
        env PATH="$work/bin:$PATH" PBS_JOBID=17.fake PBS_JOBNAME=almasweep \
            PBS_QUEUE=workq PBS_O_WORKDIR="$work" PBS_NODEFILE="$work/nodefile" \
            TMPDIR="$work" CONFIG=sweep.ini ASW_FAKE_DIR="$work/fake" \
            ASW_BIN="$src/tests/slurm/fake-almasweep.sh" ASW_REQUEUE=1 \
            ASW_ROOT="$src" ASW_STOP_BEFORE=300 \
            bash "$src/cluster/pbs/almasweep.pbs"
    ) >"$work/job.out" 2>&1
    rc=$?
    set -e
    cat "$work/job.out"
    [ "$rc" = 4 ] || fail "exit $rc, want 4 (interrupted)"
    for r in 0 1; do
        [ "$(cat "$work/fake/stopped.$r" 2>/dev/null)" = USR1 ] ||
            fail "rank $r was not stopped with SIGUSR1"
    done
    grep -q "wall time left 302 s: asking the sweep to stop in 2 s" "$work/job.out" ||
        fail "no wall-time timer"
    grep -q "resubmitted as 18.fake (resubmission 1)" "$work/job.out" ||
        fail "not resubmitted"
    want=$(printf '%s\n' -N almasweep -W depend=afterany:17.fake -v \
        "CONFIG=$work/sweep.ini,ASW_RESUBMITS=1" -q workq \
        -l select=1:ncpus=2:mpiprocs=2 -l walltime=00:05:02 \
        "$src/cluster/pbs/almasweep.pbs")
    got=$(sed 's/^\(CONFIG=[^,]*,ASW_RESUBMITS=1\),.*/\1/' "$work/qsub.args")
    [ "$got" = "$want" ] || fail "qsub arguments:
$got
want:
$want"
    for v in ASW_REQUEUE=1 ASW_BIN= ASW_FAKE_DIR= ASW_STOP_BEFORE=300; do
        grep -q "[,]$v" "$work/qsub.args" || fail "qsub -v lacks $v"
    done
    ;;
*) fail "unknown test $what" ;;
esac
echo "PASS cluster $what"
