#!/usr/bin/env bash
# Download benchmark (issue 4; docs/benchmarks.md, "Downloads"). Not a
# test: nothing registers it with ctest.
#
# usage: tests/bench/bench_download.sh [BUILD_DIR]
#   env: BENCH_MB=2048          file size (MiB)
#        BENCH_REPEAT=3         runs per tool, uncapped (median reported)
#        BENCH_CAP_REPEAT=1     runs per tool with the per-connection cap
#        BENCH_SCENARIOS="uncapped capped"
#        BENCH_SEGMENTS=8       almasweep's segmented run
#        BENCH_ONLY=            comma-separated substrings of tool names:
#                               run only those, e.g. the single-stream
#                               comparison: BENCH_SCENARIOS=uncapped
#                               BENCH_ONLY="cat,cp on,segment,curl"
#        BENCH_INSTALL=1        apt-get install aria2/wget/python3-requests
#                               when missing (root only); 0: skip them
#
# On the archive simulator (tests/sim, libmicrohttpd, a thread per
# connection, sendfile for plain bodies), one run compares side by side
# on the same file: almasweep fetch (1 and N segments, extraction after
# and during the download), curl, wget, aria2c -x8 (and -x8 -s8), and a
# Python requests loop with 1 KiB chunks (almaqso's downloader); plus
# `cat` of the file from the page cache and `cp` on the scratch disk.
# Scenario "capped": every connection limited to 50 MB/s with 20 ms before
# each response (simulator faults rate_bps, latency_ms). The file is made
# once from /dev/urandom (a tar in the ALMA layout) and cached in
# BUILD_DIR/bench-cache.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-${ASW_BUILD_DIR:-$src/build}}
build=$(cd "$build" && pwd)
mb=${BENCH_MB:-2048}
cache=$build/bench-cache
[ -x "$build/almasweep" ] && [ -x "$build/tests/sim/asw-sim" ] || {
    echo "build almasweep and tests/sim/asw-sim in $build first" >&2
    exit 1
}

# Tools: install what is missing when allowed, else run without them.
if [ "${BENCH_INSTALL:-1}" = 1 ] && [ "$(id -u)" = 0 ] &&
    command -v apt-get >/dev/null; then
    need=()
    command -v aria2c >/dev/null || need+=(aria2)
    command -v wget >/dev/null || need+=(wget)
    /usr/bin/python3 -c 'import requests' 2>/dev/null || need+=(python3-requests)
    if [ ${#need[@]} -gt 0 ]; then
        echo "installing ${need[*]}" >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}" \
            >/dev/null 2>&1 || {
            apt-get update -q >/dev/null 2>&1 || true
            DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
                "${need[@]}" >/dev/null 2>&1 ||
                echo "could not install ${need[*]}; skipping them" >&2
        }
    fi
fi

# The file: random members in the ALMA layout, so that it also serves the
# extraction measurements.
mkdir -p "$cache"
data=$cache/asw-bench-${mb}m.tar
if [ ! -f "$data" ]; then
    echo "making $data ($mb MiB from /dev/urandom)" >&2
    tmp=$cache/tarsrc
    rm -rf "$tmp"
    m=2017.1.00001.S/science_goal.uid___A001_X1_X1/group.uid___A001_X1_X2/member.uid___A001_X1_X3
    mkdir -p "$tmp/$m/raw/uid___A002_X1_X4.asdm.sdm"
    n=$(((mb + 255) / 256))
    for i in $(seq 1 $n); do
        part=$((mb - 256 * (i - 1)))
        [ $part -le 256 ] || part=256
        head -c $((part * 1024 * 1024)) /dev/urandom \
            >"$tmp/$m/raw/uid___A002_X1_X4.asdm.sdm/part$i.bin"
    done
    tar cf "$data.tmp" -C "$tmp" 2017.1.00001.S
    mv "$data.tmp" "$data"
    rm -rf "$tmp"
fi
root=$cache/root
mkdir -p "$root/dataPortal"
ln -f "$data" "$root/dataPortal/bench.tar" 2>/dev/null ||
    cp "$data" "$root/dataPortal/bench.tar"
/usr/bin/python3 -c "
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute('CREATE TABLE IF NOT EXISTS access(name TEXT PRIMARY KEY, data_rights TEXT)')
db.commit()" "$root/archive.sqlite"

exec /usr/bin/python3 "$src/tests/bench/bench_download.py" \
    --build "$build" --root "$root" --file "$root/dataPortal/bench.tar" \
    --out "$cache/out" --repeat "${BENCH_REPEAT:-3}" \
    --cap-repeat "${BENCH_CAP_REPEAT:-1}" \
    --segments "${BENCH_SEGMENTS:-8}" \
    --scenarios "${BENCH_SCENARIOS:-uncapped capped}" \
    --only "${BENCH_ONLY:-}"
