#!/usr/bin/env bash
# The report test (label report). Three catalogues:
#   demo      the demo sweep (synthetic archive, simulator, mpirun -n 3) as
#             scripts/demo-run.sh runs it, in this test's own directory;
#   full      a synthetic catalogue with every table populated, written
#             through asw_cat_put_result (asw-report-catalogue);
#   stripped  "full" rewritten by h5py with columns missing and one of
#             another type, as an older or newer catalogue might be.
# Each is rendered with `almasweep report`, loaded in headless Chromium
# (--dump-dom, then a full-page --screenshot kept as the test artifact),
# and checked by check_report.py against the catalogue read with h5py.
# Then the command's errors and exit codes.
#
# usage: report_test.sh ALMASWEEP MAKE_CATALOGUE PNGSTAT WORKDIR
set -euo pipefail
almasweep=$1 mkcat=$2 pngstat=$3 work=$4
: "${ASW_SOURCE_DIR:?}" "${ASW_BUILD_DIR:?}"
. "$ASW_SOURCE_DIR/scripts/lib.sh"
check="/usr/bin/python3 $ASW_SOURCE_DIR/tests/report/check_report.py"

chromium=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$chromium" ]; then
    echo "SKIP: no chromium (scripts/bootstrap.sh installs it)"
    exit 77
fi

rm -rf "$work"
mkdir -p "$work"
trap 'asw_sim_stop; rm -rf "$work"/chrome-profile-*' EXIT

# Chromium without network, profile, GPU or sandbox (root on CI).
browse() {
    local profile
    profile=$(mktemp -d "$work/chrome-profile-XXXXXX")
    "$chromium" --headless --no-sandbox --disable-gpu --disable-quic \
        --no-first-run --disable-background-networking \
        --disable-component-update --disable-sync --hide-scrollbars \
        --user-data-dir="$profile" "$@" 2>>"$work/chromium.log"
    rm -rf "$profile"
}

# render NAME CATALOGUE [--short] [check options...]: --short takes the
# screenshot of the top of the page only (quicker; not an artifact).
render() {
    local name=$1 cat=$2 short=0
    shift 2
    if [ "${1:-}" = --short ]; then
        short=1
        shift
    fi
    local out=$work/$name
    "$almasweep" report "$cat" -o "$out" >"$work/$name.out"
    cat "$work/$name.out"
    if [ "$short" = 1 ]; then
        browse --dump-dom --screenshot="$work/$name.screenshot.png" \
            --window-size=1280,2400 "file://$out/index.html" \
            >"$work/$name.dom.html"
    else
        browse --dump-dom --window-size=1280,2400 "file://$out/index.html" \
            >"$work/$name.dom.html"
        # The load script put the page height at this width on <html>:
        # the screenshot takes all of it.
        local height
        height=$(grep -o 'data-height="[0-9]*"' "$work/$name.dom.html" |
            head -1 | tr -dc 0-9)
        height=${height:-4000}
        [ "$height" -le 30000 ] || height=30000
        browse --screenshot="$work/$name.screenshot.png" \
            --window-size="1280,$height" "file://$out/index.html" >/dev/null
    fi
    $check --catalogue "$cat" --report "$out" --dom "$work/$name.dom.html" \
        --screenshot "$work/$name.screenshot.png" --pngstat "$pngstat" "$@"
    echo "screenshot: $work/$name.screenshot.png"
}

# ---- the demo sweep ---------------------------------------------------
demo=$work/demo-sweep
mkdir -p "$demo"
"$ASW_BUILD_DIR/tests/gen/asw-gen" --out "$demo/archive" --preset demo \
    --seed 1 --min-snr 100 >"$demo/gen.log"
asw_sim_start "$ASW_BUILD_DIR" "$demo/archive" "$demo"
asw_mpi_env
export ASW_DEMO_MIRROR=$ASW_SIM_URL ASW_DEMO_DIR=$demo
# Open MPI's own allocations are not ours to check (STYLE.md).
if ! ASAN_OPTIONS=detect_leaks=0 mpirun -n 3 --oversubscribe "$almasweep" run \
    --config "$ASW_SOURCE_DIR/cluster/examples/demo.ini" \
    >"$demo/run.log" 2>&1; then
    cat "$demo/run.log" >&2
    exit 1
fi
asw_sim_stop
# The demo finds no absorption and no unit fails: those panels say so.
render demo "$demo/demo.h5" --allow-empty abs-overview,fail-reasons

# ---- every table populated ------------------------------------------
"$mkcat" "$work/full.h5" >/dev/null
"$almasweep" catalogue verify "$work/full.h5"
render full "$work/full.h5" --hostile '<b>J0000&"x'"'"

# ---- columns missing --------------------------------------------------
$check --strip "$work/full.h5" "$work/stripped.h5"
render stripped "$work/stripped.h5" --short --allow-empty qa-catflux \
    --expect-note 'lacks' --expect-note flux_tot_err_jy \
    --expect-note '1 of 4 spectra not shown' --expect-note 'beyond ±20'

# ---- errors and exit codes ---------------------------------------------
expect() { # expect CODE PATTERN -- command...
    local code=$1 pattern=$2 rc=0
    shift 3
    "$@" >"$work/cmd.out" 2>&1 || rc=$?
    if [ "$rc" != "$code" ] || ! grep -q -- "$pattern" "$work/cmd.out"; then
        echo "FAIL: '$*' exited $rc (want $code), output:" >&2
        cat "$work/cmd.out" >&2
        echo "(wanted a line matching '$pattern')" >&2
        exit 1
    fi
}
expect 5 "almasweep run --config" -- \
    "$almasweep" report "$work/missing.h5" -o "$work/x"
[ ! -e "$work/x" ] || { echo "FAIL: report made a directory" >&2; exit 1; }
expect 5 "not an HDF5 file" -- \
    "$almasweep" report "$work/full/index.html" -o "$work/x"
expect 1 "Add -o DIR" -- "$almasweep" report "$work/full.h5"
expect 1 "Choose a directory" -- \
    "$almasweep" report "$work/full.h5" -o /dev/null/report
expect 1 "scale" -- "$almasweep" report "$work/full.h5" -o "$work/x" \
    --scale 9
expect 0 "examples:" -- "$almasweep" report --help
expect 0 "Exit codes: 0 written" -- "$almasweep" report --help
expect 0 "report     write an HTML report" -- "$almasweep" --help
# A report of one source only, at scale 1.
expect 0 "1 of 4 sources" -- "$almasweep" report "$work/full.h5" \
    -o "$work/one" --source 'j1924*' --scale 1
[ "$(ls "$work/one/plots" | grep -c '^flux-')" = 1 ] ||
    { echo "FAIL: --source kept other sources" >&2; exit 1; }
echo "report test: ok"
