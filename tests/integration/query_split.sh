#!/usr/bin/env bash
# Whole-archive sweeps: with a small max_rows_per_query the simulator
# truncates the answer (QUERY_STATUS OVERFLOW), the client splits the
# selection by cycle, band, project and member OUS, and the units are
# exactly those of the unsplit query, with the rows of the parts adding up
# to COUNT(*). A part that fails fails the whole query.
set -euo pipefail
: "${ASW_BUILD_DIR:?}" "${ASW_SOURCE_DIR:?}"
. "$ASW_SOURCE_DIR/scripts/lib.sh"
work=$ASW_BUILD_DIR/test-work/query-split
rm -rf "$work"
mkdir -p "$work"
trap asw_sim_stop EXIT
gen=$work/archive
"$ASW_BUILD_DIR/tests/gen/asw-gen" --out "$gen" --preset demo --seed 1 \
    --npix 32 >/dev/null
bin=$ASW_BUILD_DIR/almasweep
fails=0
fail() {
    echo "FAIL: $*" >&2
    fails=$((fails + 1))
}
ids() { /usr/bin/python3 -c 'import json,sys; print(sorted((u["id"], u["bytes_total"], len(u["files"])) for u in json.load(open(sys.argv[1]))))' "$1"; }

: >"$work/faults"
asw_sim_start "$ASW_BUILD_DIR" "$gen" "$work" --faults "$work/faults"
conf() { # NAME LINES...
    local name=$1
    shift
    {
        printf '[archive]\nmirrors = %s\nretries = 0\ninclude_7m = true\n' \
            "$ASW_SIM_URL"
        printf '%s\n' "$@"
    } >"$work/$name.ini"
}

conf whole
"$bin" query --config "$work/whole.ini" --format json >"$work/whole.json"
"$bin" query --config "$work/whole.ini" >"$work/whole.txt"
want=$(ids "$work/whole.json")
rows=$(sed -n 's/.*(\([0-9]*\) ObsCore rows).*/\1/p' "$work/whole.txt")
grep -q "query: one part (1 TAP request)" "$work/whole.txt" ||
    fail "the unsplit query took more than one request"
echo "unsplit: $rows rows"

# Limits that split at the cycle, band, project and member OUS levels.
for limit in 40 20 12; do
    conf "split-$limit" "max_rows_per_query = $limit"
    : >"$work/sim.log"
    "$bin" query --config "$work/split-$limit.ini" --format json \
        >"$work/split-$limit.json" 2>"$work/split-$limit.err" ||
        { fail "limit $limit: query failed"; cat "$work/split-$limit.err" >&2; continue; }
    "$bin" query --config "$work/split-$limit.ini" >"$work/split-$limit.txt" \
        2>/dev/null
    got=$(ids "$work/split-$limit.json")
    [ "$got" = "$want" ] || fail "limit $limit: units differ from the unsplit query"
    line=$(grep '^query: ' "$work/split-$limit.txt")
    echo "limit $limit: $line"
    case "$line" in
    *"their rows add up to COUNT(*) = $rows") ;;
    *) fail "limit $limit: no COUNT(*) = $rows check: $line" ;;
    esac
    # Every row query of the log carried MAXREC and none overflowed in
    # the parts that were kept; the log shows the COUNT query.
    grep -q 'COUNT%28%2A%29' "$work/sim.log" || fail "limit $limit: no COUNT query"
    grep -F 'QUERY=SELECT%20member_ous_uid' "$work/sim.log" |
        grep -vq "MAXREC=$limit" && fail "limit $limit: a row query without MAXREC"
    grep -qi "split by member OUS" "$work/split-$limit.err" ||
        [ "$limit" != 12 ] || fail "limit 12: never split down to member OUSs"
done

# A part that fails fails everything (here the parts of cycle 2021).
conf part-error "max_rows_per_query = 12"
printf '/tap/sync contains=2021. query_error=ORA-00001: part failed\n' \
    >"$work/faults"
kill -HUP "$ASW_SIM_PID"
sleep 0.3
set +e
"$bin" query --config "$work/part-error.ini" --format json \
    >"$work/part-error.out" 2>"$work/part-error.err"
rc=$?
set -e
[ "$rc" = 2 ] || fail "part error: exit $rc"
grep -qF "ORA-00001: part failed" "$work/part-error.err" ||
    fail "part error: message lacks the archive's text"
[ -s "$work/part-error.out" ] && fail "part error: units printed"

echo "split checks done, $fails failures"
[ "$fails" = 0 ]
