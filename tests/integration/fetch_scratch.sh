#!/usr/bin/env bash
# Acceptance (issue 4): a scratch file system too small, as a 2 MiB tmpfs.
# Needs mount(2) (root or CAP_SYS_ADMIN); skipped (exit 77) otherwise.
#   - one stream, size unknown: the write fails midway, "scratch full",
#     the .part is removed;
#   - segments, size from HEAD: the reservation fails before any GET;
#   - --size given: refused before any request with the numbers;
#   - --extract: the tar fits but its contents do not: "scratch full",
#     the partly extracted files are removed, the whole tar stays;
#   - a sweep whose units need more than a 512 KiB tmpfs: the units fail
#     with "scratch full" (pipeline's check), no file is requested and
#     nothing is left on scratch.
set -euo pipefail
: "${ASW_BUILD_DIR:?}" "${ASW_SOURCE_DIR:?}"
. "$ASW_SOURCE_DIR/tests/integration/fetch_lib.sh"
work=$ASW_BUILD_DIR/test-work/fetch-scratch
mnt=$work/mnt
cleanup() {
    asw_sim_stop
    umount "$mnt" 2>/dev/null || true
}
umount "$mnt" 2>/dev/null || true
rm -rf "$work"
mkdir -p "$mnt"
trap cleanup EXIT
if ! mount -t tmpfs -o size=2m tmpfs "$mnt" 2>/dev/null; then
    echo "SKIP: cannot mount a tmpfs here (needs root)"
    exit 77
fi

root=$work/root
fetch_root "$root"
fetch_random "$root/dataPortal/big.bin" $((4 * 1024 * 1024))
mkdir -p "$work/tarsrc/p"
fetch_random "$work/tarsrc/p/a.bin" $((700 * 1024))
fetch_random "$work/tarsrc/p/b.bin" $((700 * 1024))
tar cf "$root/dataPortal/fits.tar" -C "$work/tarsrc" p
asw_sim_start "$ASW_BUILD_DIR" "$root" "$work" --exit-with-parent
gets() { grep -c " GET /dataPortal/$1 " "$work/sim.log" || true; }

empty_mnt() {
    local left
    left=$(find "$mnt" -mindepth 1 ! -name "${2:-/}" | tr '\n' ' ')
    [ -z "$left" ] || fail "$1: left on scratch: $left"
}

echo "--- one stream"
expect_exit 3 "$ASW" fetch -q -s 1 --retries 3 --backoff 0.01 -d "$mnt" \
    "$ASW_SIM_URL/dataPortal/big.bin"
err_has "big.bin: failed: download:ENOSPC:scratch full: writing"
err_has "No space left on device"
[ "$(gets big.bin)" = 1 ] || fail "one stream: retried a full disk"
empty_mnt "one stream"

echo "--- segments"
expect_exit 3 "$ASW" fetch -q -s 4 --min-segment 512k -d "$mnt" \
    "$ASW_SIM_URL/dataPortal/big.bin"
err_has "download:ENOSPC:scratch full: reserving 4194304 bytes"
[ "$(gets big.bin)" = 1 ] || fail "segments: a GET was sent"
empty_mnt "segments"

echo "--- known size"
: >"$work/sim.log"
expect_exit 3 "$ASW" fetch -q --size 4M -d "$mnt" \
    "$ASW_SIM_URL/dataPortal/big.bin"
err_has "pipeline:ENOSPC:scratch full: need 4.0 MiB (4194304 bytes) more plus a reserve of 0 B, only 2.0 MiB (2097152 bytes) free in $mnt"
[ ! -s "$work/sim.log" ] || fail "known size: a request was sent"
empty_mnt "known size"

for mode in --extract --extract-during; do
    echo "--- $mode"
    expect_exit 3 "$ASW" fetch -q $mode -s 1 -d "$mnt" \
        "$ASW_SIM_URL/dataPortal/fits.tar"
    err_has "fits.tar: failed: untar:ENOSPC:scratch full:"
    cmp "$mnt/fits.tar" "$root/dataPortal/fits.tar" || fail "$mode: tar differs"
    empty_mnt "$mode" fits.tar
    rm -f "$mnt/fits.tar"
done

echo "--- sweep"
# A smaller tmpfs: below any unit of the test archive (each needs > 1 MB).
umount "$mnt"
mount -t tmpfs -o size=512k tmpfs "$mnt"
gen=$(asw_test_archive "$ASW_BUILD_DIR")
asw_sim_stop
rm -f "$work/sim.log"
asw_sim_start "$ASW_BUILD_DIR" "$gen" "$work" --exit-with-parent
cat >"$work/sweep.ini" <<INI
[archive]
mirrors = $ASW_SIM_URL
[pipeline]
mode = products
[scratch]
dir = $mnt
reserve = 0
[output]
catalogue = $work/sweep.h5
[run]
max_attempts = 1
INI
expect_exit 3 "$ASW" run --config "$work/sweep.ini"
err_has "pipeline:ENOSPC:scratch full: need 1.2 MiB ([0-9]* bytes of scratch_need [0-9]*, 0 there) more plus a reserve of 0 B, only 512.0 KiB (524288 bytes) free"
[ "$(grep -c ' GET /dataPortal/' "$work/sim.log" || true)" = 0 ] ||
    fail "sweep: files were requested"
left=$(find "$mnt" -type f | tr '\n' ' ')
[ -z "$left" ] || fail "sweep: left on scratch: $left"
echo "fetch scratch: all cases passed"
