# Helpers of the engine tests (tests/integration/engine_*.sh; sourced).
# Needs ASW_BUILD_DIR and ASW_SOURCE_DIR; sources scripts/lib.sh.
: "${ASW_BUILD_DIR:?}" "${ASW_SOURCE_DIR:?}"
. "$ASW_SOURCE_DIR/scripts/lib.sh"
B=$ASW_BUILD_DIR
S=$ASW_SOURCE_DIR
PY=/usr/bin/python3
ALMASWEEP=$B/almasweep
ENGINE_ARCHIVE=$S/tests/integration/engine_archive.py
READ_CAT=$S/tests/integration/read_catalogue.py

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# engine_clone_archive: the small test archive cloned 4 times (8 public
# 12-m products units with real images), made once per build and
# generator (mkdir lock, as asw_test_archive). Prints its directory.
engine_clone_archive() {
    local base dir key i
    base=$(asw_test_archive "$B") || return 1
    dir=$B/test-work/engine-archive-clone
    key=$(cat "$base/.done" "$ENGINE_ARCHIVE" | cksum | cut -d' ' -f1)
    if [ "$(cat "$dir/.done" 2>/dev/null)" != "$key" ]; then
        if mkdir "$dir.lock" 2>/dev/null; then
            rm -rf "$dir"
            "$PY" "$ENGINE_ARCHIVE" clone "$base" "$dir" --copies 4 >&2
            echo "$key" >"$dir/.done"
            rmdir "$dir.lock"
        else
            for i in $(seq 1 600); do
                [ "$(cat "$dir/.done" 2>/dev/null)" = "$key" ] && break
                sleep 0.1
            done
        fi
    fi
    [ "$(cat "$dir/.done" 2>/dev/null)" = "$key" ] ||
        { echo "no clone archive" >&2; return 1; }
    echo "$dir"
}

# engine_ini FILE NAME [extra INI text]: a products sweep of the simulator
# at ASW_SIM_URL, scratch and catalogue under $work/NAME.
engine_ini() {
    local file=$1 name=$2
    shift 2
    cat >"$file" <<INI
[archive]
mirrors = $ASW_SIM_URL
[pipeline]
mode = products
[scratch]
dir = $work/$name-scratch
reserve = 0
[output]
catalogue = $work/$name.h5
[run]
max_attempts = 3
progress = log
progress_interval = 1
[scheduler]
trace = $work/$name.trace
retry_backoff = 0.2
retry_backoff_max = 1
${1:-}
INI
}

# engine_run RANKS INI LOG: a sweep as one process (RANKS 0) or under
# mpirun; returns its exit status.
engine_run() {
    local ranks=$1 ini=$2 log=$3
    if [ "$ranks" = 0 ]; then
        "$ALMASWEEP" run --config "$ini" 2>"$log"
    else
        mpirun -n "$ranks" --oversubscribe "$ALMASWEEP" run --config "$ini" \
            2>"$log"
    fi
}

# engine_ref_then_slow ARCH: a reference sweep of ARCH on 3 ranks
# ($work/ref.h5), then the simulator serving ARCH again at 300 kB/s per
# connection ($work/faults), for the sweep that gets interrupted.
engine_ref_then_slow() {
    asw_sim_start "$B" "$1" "$work"
    engine_ini "$work/ref.ini" ref
    engine_run 3 "$work/ref.ini" "$work/ref.log" ||
        fail "reference sweep failed"
    asw_sim_stop
    echo "/dataPortal/ rate_bps=300k" >"$work/faults"
    asw_sim_start "$B" "$1" "$work" --faults "$work/faults"
}

# engine_same CAT REF: the same units and rows (read_catalogue.py).
engine_same() {
    "$PY" "$READ_CAT" "$1" --same-as "$2" --min-images 1 >"$work/same.out" ||
        { cat "$work/same.out" >&2; fail "$1 differs from $2"; }
}

# engine_same_rows CAT REF: the same rows in every table but /runs, as
# read_catalogue.py --same-as compares them, except /units attempts (a
# retried unit used more).
engine_same_rows() {
    "$PY" - "$READ_CAT" "$1" "$2" <<'PY' >"$work/same.out" ||
import importlib.util, sys
spec = importlib.util.spec_from_file_location("rc", sys.argv[1])
rc = importlib.util.module_from_spec(spec)
spec.loader.exec_module(rc)
rc.VOLATILE.add("attempts")
data = rc.check_h5py_quiet(sys.argv[2])
print(rc.check_same(data, sys.argv[3]), len(data["images"]), "images")
for f in rc.failures:
    print("FAIL:", f)
sys.exit(1 if rc.failures or not len(data["images"]) else 0)
PY
        { cat "$work/same.out" >&2; fail "$1 differs from $2"; }
    cat "$work/same.out"
}

# engine_units CAT: "id status attempts error" lines of /units, sorted.
engine_units() {
    "$PY" - "$1" <<'PY'
import sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    u = f["units"][:]
for r in sorted(u, key=lambda r: r["id"]):
    print(r["id"].decode(), r["status"].decode(), int(r["attempts"]),
          r["error"].decode().replace(" ", "_") or "-")
PY
}

# engine_wait_results TRACE N [TIMEOUT_S]: wait until the trace holds N
# "done" results.
engine_wait_results() {
    local trace=$1 n=$2 t=${3:-60} i
    local got
    for i in $(seq 1 $((t * 20))); do
        got=$(grep -c '"verdict":"done"' "$trace" 2>/dev/null || true)
        [ "${got:-0}" -ge "$n" ] && return 0
        sleep 0.05
    done
    fail "no $n done results in $trace after $t s"
}
