#!/usr/bin/env bash
# Acceptance (issue 4): `almasweep fetch` against the archive simulator
# with injected faults. Each case starts its own simulator with a fault
# file and checks the outcome, the SHA-256 and the simulator's request log:
#   - the connection reset at 5 random offsets (one stream, and segments):
#     the file completes, SHA-256 equal;
#   - 503 then success: retried;
#   - a stall: the low-speed timeout fires and the resumed retry completes
#     long before the stall would have ended;
#   - a body shorter than Content-Length once (retried) and always
#     (failed with the reason, .part kept for a rerun);
#   - DataLink's size (--size) disagreeing with the server's: failed with
#     both numbers, nothing left, one stream and segments;
#   - a mirror that refuses connections: the file fails over to the next.
set -euo pipefail
: "${ASW_BUILD_DIR:?}" "${ASW_SOURCE_DIR:?}"
. "$ASW_SOURCE_DIR/tests/integration/fetch_lib.sh"
work=$ASW_BUILD_DIR/test-work/fetch-faults
rm -rf "$work"
mkdir -p "$work"
trap asw_sim_stop EXIT

root=$work/root
fetch_root "$root"
size=$((24 * 1024 * 1024 + 4321))
fetch_random "$root/dataPortal/f.bin" $size
file=$root/dataPortal/f.bin
common=(-q --retries 5 --backoff 0.01 --min-segment 1M)

# case_start NAME FAULTS [keep]: a fresh simulator with these fault rules,
# an empty destination $out (unless keep) and the file's URL in $url.
case_start() {
    asw_sim_stop
    printf '%s\n' "$2" >"$work/faults-$1"
    rm -f "$work/sim.log"
    asw_sim_start "$ASW_BUILD_DIR" "$root" "$work" --faults "$work/faults-$1" \
        --exit-with-parent
    if [ "${3:-}" != keep ]; then
        out=$work/out-$1
        rm -rf "$out"
        mkdir -p "$out"
    fi
    url=$ASW_SIM_URL/dataPortal/f.bin
    echo "--- $1"
}

# The simulator logs a request when it ends (a stalled one later than the
# client gives up): call asw_sim_stop (in this shell, not in $(...), so
# that it waits) before reading the log.
gets() { grep -c ' GET /dataPortal/f.bin ' "$work/sim.log" || true; }

# 1. Resets at 5 random offsets (RANDOM seeded from the clock; the
#    offsets are printed so a failure can be replayed).
for mode in single segments; do
    rules=
    for i in 0 1 2 3 4; do
        off=$((65536 + (RANDOM * 32768 + RANDOM) % (3 * 1024 * 1024)))
        rules+="/dataPortal/f.bin method=GET drop_after=$off skip=$i count=1"$'\n'
    done
    echo "offsets: $(echo "$rules" | grep -o 'drop_after=[0-9]*' | tr '\n' ' ')"
    case_start "drops-$mode" "$rules"
    if [ $mode = single ]; then seg=1; else seg=4; fi
    expect_exit 0 "$ASW" fetch "${common[@]}" -s $seg -d "$out" "$url"
    same_sha "$file" "$out/f.bin"
    [ ! -e "$out/f.bin.part" ] && [ ! -e "$out/f.bin.part.state" ] ||
        fail "leftover .part"
    asw_sim_stop
    n=$(grep -c 'drop_after' "$work/sim.log" || true)
    [ "$n" = 5 ] || fail "$mode: $n requests were reset, expected 5"
    [ "$(gets)" -ge 6 ] || fail "$mode: only $(gets) GETs"
    err_has "retrying"
    if [ $mode = single ]; then
        [ "$(gets)" = 6 ] || fail "single: $(gets) GETs, expected 6"
        # Each retry resumes further on: the Range starts increase.
        grep ' GET /dataPortal/f.bin ' "$work/sim.log" | awk '{print $4}' |
            sed -n 's/^bytes=\([0-9]*\)-$/\1/p' >"$work/starts"
        [ "$(wc -l <"$work/starts")" = 5 ] || fail "single: not 5 resumed GETs"
        sort -n -c "$work/starts" || fail "single: resume offsets not increasing"
    fi
done

# 2. 503, then success.
case_start 503 "/dataPortal/f.bin method=GET status=503 retry_after=0 count=1"
expect_exit 0 "$ASW" fetch "${common[@]}" -s 1 -d "$out" "$url"
same_sha "$file" "$out/f.bin"
err_has "HTTP 503"
err_has "retrying"
asw_sim_stop
grep ' GET /dataPortal/f.bin ' "$work/sim.log" | awk '{print $5}' | tr '\n' ' ' |
    grep -q '^503 200 $' || fail "503: statuses $(awk '{print $5}' "$work/sim.log")"

# 3. A stall of 20 s after 64 KiB: the low-speed limit (100 kB/s for 1 s)
#    ends the attempt and the retry resumes; all well under 20 s. (curl
#    averages the speed over ~5 s, so a long burst before a stall would
#    delay the abort by up to 5 s.)
case_start stall "/dataPortal/f.bin method=GET stall_ms=20000 stall_after=64k count=1"
t0=$(date +%s.%N)
expect_exit 0 "$ASW" fetch "${common[@]}" -s 1 --low-speed-time 1 \
    --low-speed-limit 100000 -d "$out" "$url"
t1=$(date +%s.%N)
asw_sim_stop
same_sha "$file" "$out/f.bin"
err_has "curl 28"
awk -v a="$t0" -v b="$t1" 'BEGIN { exit !(b - a < 10) }' ||
    fail "stall: took $(echo "$t1 - $t0" | bc) s"
[ "$(gets)" = 2 ] || fail "stall: $(gets) GETs, expected 2"
# (log lines are in order of completion: the stalled one comes last)
grep ' GET /dataPortal/f.bin ' "$work/sim.log" | awk '$5 == 206 {print $4}' |
    grep -q '^bytes=[1-9][0-9]*-$' || fail "stall: the retry did not resume"

# 4. A body shorter than its Content-Length, once: retried, resumed.
case_start short-once "/dataPortal/f.bin method=GET truncate=5M count=1"
expect_exit 0 "$ASW" fetch "${common[@]}" -s 1 -d "$out" "$url"
same_sha "$file" "$out/f.bin"
err_has "curl 18"
asw_sim_stop
grep ' GET /dataPortal/f.bin ' "$work/sim.log" | tail -1 | awk '{print $4}' |
    grep -q '^bytes=5242880-$' || fail "short-once: no resume at 5 MiB"

# 5. ... always: the fetch fails with the reason; the .part stays so that
#    a rerun (against a healthy server) resumes it.
case_start short-always "/dataPortal/f.bin method=GET truncate=5M"
expect_exit 3 "$ASW" fetch -q --retries 2 --backoff 0.01 -s 1 -d "$out" "$url"
err_has "f.bin: failed: download:ENET:"
# the reason: the body ended short of its Content-Length
err_has "failed: download:ENET:.*transfer closed with [0-9]* bytes remaining to read (curl 18) (gave up after 3 attempts)"
[ ! -e "$out/f.bin" ] || fail "short-always: a file appeared"
[ "$(stat -c %s "$out/f.bin.part")" = $((3 * 5242880)) ] ||
    fail "short-always: .part holds $(stat -c %s "$out/f.bin.part") bytes"
case_start rerun "" keep
expect_exit 0 "$ASW" fetch -q -s 1 -d "$out" "$url"
same_sha "$file" "$out/f.bin"
err_has "15728640 bytes resumed"

# 6. DataLink says another size than the server: detected before a byte
#    is kept, not retried, nothing left behind.
for seg in 1 4; do
    case_start "size-lie-$seg" ""
    expect_exit 3 "$ASW" fetch "${common[@]}" -s $seg --size $((size + 1000)) \
        -d "$out" "$url"
    err_has "failed: download:EPROTO:"
    err_has "size mismatch: server announces $size bytes, DataLink said $((size + 1000))"
    asw_sim_stop
    [ -z "$(ls -A "$out")" ] || fail "size-lie: left $(ls -A "$out")"
    [ "$(gets)" -le "$seg" ] || fail "size-lie: retried ($(gets) GETs)"
done

# 7. Failover: the URL's mirror refuses connections (nothing listens on
#    port 1); after its retries the same path comes from the next mirror.
case_start failover ""
dead=http://127.0.0.1:1
expect_exit 0 "$ASW" fetch -q --retries 1 --backoff 0.01 -s 1 \
    --mirror "$dead" --mirror "$ASW_SIM_URL" -d "$out" "$dead/dataPortal/f.bin"
same_sha "$file" "$out/f.bin"
err_has "failing over to $ASW_SIM_URL/dataPortal/f.bin"
asw_sim_stop
[ "$(gets)" = 1 ] || fail "failover: $(gets) GETs on the live mirror"

# 8. Usage errors and help.
expect_exit 1 "$ASW" fetch --dest "$work/x"
err_has "give at least one URL"
expect_exit 1 "$ASW" fetch "$url"
err_has "--dest DIR is required"
expect_exit 1 "$ASW" fetch -d "$work/x" --segments 0 "$url"
"$ASW" fetch --help | grep -q "exit codes" || fail "help lacks exit codes"
echo "fetch faults: all cases passed"
