#!/usr/bin/env bash
# The casa pipeline mode end to end, with real modular CASA, against the
# archive simulator serving the simulated EBs of data.sh (label casa).
#
#   casa_sweep.sh CASA_PYTHON SCENARIO
#
# SCENARIO (each a sweep; check_casa.py checks its catalogue and files):
#   accept       mpirun -n 2; A and B (gain errors), builtin calibration,
#                tclean mfs, mfs_spw and cube, natural weighting; fluxes,
#                spectral index, the absorption line; files kept
#   options      B without calibration: phase self-calibration, briggs
#                weighting, removal of the ASDM, intermediate files and
#                CASA images (all three together)
#   removal      S once per removal option alone (remove_asdm,
#                remove_intermediate, remove_casa_images) and once with all
#                three: builtin calibration (calibration tables), phase
#                self-calibration (its tables in images/), mfs; exactly that
#                option's files go, everything else stays
#   failures     mpirun -n 2; H (hostile field names), E (corrupt ASDM:
#                script error), K (CASA killed with SIGKILL), T (hangs
#                past the step wall-time limit), S (must work)
#   mpilaunch    mpirun -n 2; S with every CASA step started by the worker
#                rank as a child MPI job (launcher = mpirun -n {n} ...),
#                as mpicasa would be: the unit must work
#   unavailable  S with calibration = generate (no analysisUtils) and with
#                restore (no delivered package): failed with a message
# Exit 0 pass, 1 fail, 77 skip (no CASA venv, unless ASW_REQUIRE_CASA=1).
set -euo pipefail
py=$1 scenario=$2
: "${ASW_BUILD_DIR:?}" "${ASW_SOURCE_DIR:?}"
here=$ASW_SOURCE_DIR/tests/casa
. "$ASW_SOURCE_DIR/scripts/lib.sh"

# (In a scratch directory: importing casatools writes a casa-*.log there.)
probe=$(mktemp -d)
if [ ! -x "$py" ] || ! (cd "$probe" && HOME=$probe "$py" -c 'import casatools') >/dev/null 2>&1; then
    rm -rf "$probe"
    msg="CASA venv python not usable: $py (scripts/bootstrap.sh --casa --venv <build>/casa-venv)"
    if [ "${ASW_REQUIRE_CASA:-0}" = 1 ]; then echo "FAIL: $msg"; exit 1; fi
    echo "SKIP: $msg"
    exit 77
fi
rm -rf "$probe"

t0=$(date +%s)
data=$("$here/data.sh" "$py")
echo "test data: $data ($(cat "$data/made" 2>/dev/null || echo cached))"
work=$ASW_BUILD_DIR/test-work/casa-$scenario
rm -rf "$work"
mkdir -p "$work"
killer=
cleanup() {
    asw_sim_stop
    if [ -n "$killer" ]; then kill "$killer" 2>/dev/null || true; fi
}
trap cleanup EXIT
asw_sim_start "$ASW_BUILD_DIR" "$data/sim" "$work"
asw_mpi_env

# config NAME PROJECTS [key = value lines for [casa]...]
config() {
    local name=$1 projects=$2
    shift 2
    mkdir -p "$work/$name"
    {
        cat <<INI
[archive]
mirrors = $ASW_SIM_URL
projects = $projects
[pipeline]
mode = casa
[scratch]
dir = $work/$name/scratch
keep = true
[output]
catalogue = $work/$name/sweep.h5
[run]
max_attempts = 1
[casa]
python = $py
flux_csv = $data/flux.csv
INI
        printf '%s\n' "$@"
    } >"$work/$name/sweep.ini"
}

run() { # run NAME RANKS: the sweep; its exit status is checked by the caller
    local name=$1 ranks=$2 rc=0
    echo "== sweep $name ($ranks ranks)"
    if [ "$ranks" = 0 ]; then
        "$ASW_BUILD_DIR/almasweep" run --config "$work/$name/sweep.ini" \
            >"$work/$name/run.log" 2>&1 || rc=$?
    else
        mpirun -n "$ranks" --oversubscribe "$ASW_BUILD_DIR/almasweep" run \
            --config "$work/$name/sweep.ini" >"$work/$name/run.log" 2>&1 ||
            rc=$?
    fi
    grep -v "CASA step" "$work/$name/run.log" | tail -n 25
    return $rc
}

check() { /usr/bin/python3 "$here/check_casa.py" "$@"; }

rc=0
case $scenario in
accept)
    config accept "2023.1.00001.S, 2023.1.00002.S" \
        "calibration = builtin" "tclean_modes = mfs, mfs_spw, cube" \
        "intents = bp, ph" "weighting = natural"
    run accept 2 || rc=$?
    [ $rc = 0 ] || { echo "FAIL: sweep exit $rc (expected 0)"; exit 1; }
    check accept "$work/accept" "$data" --casa-python "$py" || exit 1
    ;;
options)
    config options "2023.1.00002.S" \
        "calibration = none" "tclean_modes = mfs, mfs_spw" \
        "intents = bp, ph" "weighting = briggs" "robust = 0.5" \
        "selfcal = true" "remove_asdm = true" "remove_intermediate = true" \
        "remove_casa_images = true"
    run options 0 || rc=$?
    [ $rc = 0 ] || { echo "FAIL: sweep exit $rc (expected 0)"; exit 1; }
    check options "$work/options" "$data" \
        --reference "$ASW_BUILD_DIR/test-work/casa-accept/accept" \
        --casa-python "$py" || exit 1
    ;;
removal)
    # Each option on its own, so that one option removing another's files,
    # or doing nothing because another covers it, shows; then all three.
    # The launcher shim prints, before each step, whether the ASDM is there.
    # The four sweeps of S run at the same time, to use both cores (a step
    # is one CASA process); their output is shown after all have ended.
    export ASW_TEST_INVENTORY=1
    opts="remove_asdm remove_intermediate remove_casa_images all"
    pids=
    for opt in $opts; do
        if [ $opt = all ]; then
            set -- "remove_asdm = true" "remove_intermediate = true" \
                "remove_casa_images = true"
        else
            set -- "$opt = true"
        fi
        config $opt "2023.1.00004.S" "calibration = builtin" \
            "tclean_modes = mfs" "selfcal = true" \
            "launcher = {python} $here/launcher_shim.py {script}" "$@"
        ( rc=0; run $opt 0 >"$work/$opt/run.out" 2>&1 || rc=$?
          echo $rc >"$work/$opt/run.rc" ) &
        pids="$pids $!"
    done
    for p in $pids; do wait "$p" || true; done
    for opt in $opts; do
        cat "$work/$opt/run.out"
        rc=$(cat "$work/$opt/run.rc" 2>/dev/null || echo none)
        [ "$rc" = 0 ] || { echo "FAIL: $opt sweep exit $rc (expected 0)"; exit 1; }
    done
    check removal "$work" "$data" || exit 1
    ;;
failures)
    marker=$(cat "$data/marker")
    rm -f "$marker"-sq "$marker"-dq "$marker"-tq
    config failures \
        "2023.1.00003.S, 2023.1.00004.S, 2023.1.00005.S, 2023.1.00006.S, 2023.1.00007.S" \
        "calibration = builtin" "tclean_modes = mfs" \
        "launcher = {python} $here/launcher_shim.py {script}" \
        "step_time_limit = ${ASW_CASA_TEST_LIMIT:-90}"
    export ASW_TEST_HANG=uid___A002_Xc0ffee_X7:import
    # K: its calibration step runs for real until bandpass has returned and
    # then stalls inside the step (launcher_shim.py), writing its pid to
    # $ASW_TEST_STALL_MARKER; only then is it killed with SIGKILL. The kill cannot come
    # too late (the step never ends by itself: without the kill the
    # wall-time limit would end it, and the check of the reason fails).
    export ASW_TEST_STALL=uid___A002_Xc0ffee_X6:calibrate:bandpass
    export ASW_TEST_STALL_MARKER=$work/failures/K-stalled
    pidf=$work/failures/scratch/almasweep/uid___A002_Xc0ffee_X6/casa/logs/03-calibrate.pid
    (
        for _ in $(seq 1 6000); do
            if [ -s "$ASW_TEST_STALL_MARKER" ]; then
                pid=$(cat "$ASW_TEST_STALL_MARKER")
                # The runner's pid file names the same process.
                [ "$pid" = "$(cat "$pidf" 2>/dev/null)" ] ||
                    echo "K: stalled pid $pid is not the runner's $(cat "$pidf" 2>/dev/null)"
                echo "killing the CASA process $pid of uid___A002_Xc0ffee_X6 (stalled in calibrate) with SIGKILL"
                kill -9 "$pid" && echo "$pid" >"$work/failures/K-killed"
                exit 0
            fi
            sleep 0.2
        done
    ) &
    killer=$!
    run failures 2 || rc=$?
    # 3 = units failed (docs/architecture.md exit codes).
    [ $rc = 3 ] || { echo "FAIL: sweep exit $rc (expected 3: units failed)"; exit 1; }
    check failures "$work/failures" "$data" --marker "$marker" \
        --limit "${ASW_CASA_TEST_LIMIT:-90}" --casa-python "$py" || exit 1
    ;;
mpilaunch)
    config mpilaunch "2023.1.00004.S" "calibration = builtin" \
        "tclean_modes = mfs" \
        "launcher = mpirun -n {n} --oversubscribe {python} $here/launcher_shim.py {script}"
    run mpilaunch 2 || rc=$?
    [ $rc = 0 ] || { echo "FAIL: sweep exit $rc (expected 0)"; exit 1; }
    check mpilaunch "$work/mpilaunch" "$data" --casa-python "$py" || exit 1
    ;;
unavailable)
    config generate "2023.1.00004.S" "calibration = generate" \
        "tclean_modes = mfs"
    run generate 0 || rc=$?
    [ $rc = 3 ] || { echo "FAIL: generate sweep exit $rc (expected 3)"; exit 1; }
    config restore "2023.1.00004.S" "calibration = restore" \
        "tclean_modes = mfs"
    rc=0
    run restore 0 || rc=$?
    [ $rc = 3 ] || { echo "FAIL: restore sweep exit $rc (expected 3)"; exit 1; }
    check unavailable "$work" "$data" || exit 1
    ;;
*)
    echo "unknown scenario $scenario" >&2
    exit 2
    ;;
esac
echo "PASS casa $scenario in $(( $(date +%s) - t0 )) s"
