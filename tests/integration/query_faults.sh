#!/usr/bin/env bash
# Failure modes of the archive client against simulator faults
# (docs/sim-archive-layout.md, --faults): each failure ends `almasweep
# query` with exit 2, a message naming the cause and no unit list on
# stdout; transient faults are retried; a dead or failing mirror hands
# over to the next one.
set -euo pipefail
: "${ASW_BUILD_DIR:?}" "${ASW_SOURCE_DIR:?}"
. "$ASW_SOURCE_DIR/scripts/lib.sh"
work=$ASW_BUILD_DIR/test-work/query-faults
rm -rf "$work"
mkdir -p "$work/b"
SIM_B_PID=
stop_all() {
    asw_sim_stop
    if [ -n "$SIM_B_PID" ]; then
        kill "$SIM_B_PID" 2>/dev/null || true
        wait "$SIM_B_PID" 2>/dev/null || true
    fi
}
trap stop_all EXIT
gen=$work/archive
"$ASW_BUILD_DIR/tests/gen/asw-gen" --out "$gen" --preset small --seed 7 \
    --npix 32 >/dev/null
bin=$ASW_BUILD_DIR/almasweep
fails=0 n=0
fail() {
    echo "FAIL: $*" >&2
    fails=$((fails + 1))
}

# sim RULES...: (re)start the simulator with these fault rules.
sim() {
    asw_sim_stop
    printf '%s\n' "$@" >"$work/faults"
    rm -f "$work/sim.log"
    asw_sim_start "$ASW_BUILD_DIR" "$gen" "$work" --faults "$work/faults"
}

# query NAME EXTRA-LINES...: run the query; sets rc, out and err files.
query() {
    local name=$1
    shift
    {
        printf '[archive]\nmirrors = %s\nretries = 1\n' "$ASW_SIM_URL"
        printf '%s\n' "$@"
    } >"$work/$name.ini"
    set +e
    "$bin" query --config "$work/$name.ini" --format json \
        >"$work/$name.out" 2>"$work/$name.err"
    rc=$?
    set -e
    n=$((n + 1))
}

# expect_fail NAME TEXT: exit 2, TEXT in the message, nothing on stdout.
expect_fail() {
    local name=$1 text=$2
    if [ "$rc" != 2 ]; then
        fail "$name: exit $rc, expected 2"
        cat "$work/$name.err" >&2
    elif ! grep -qF -- "$text" "$work/$name.err"; then
        fail "$name: message lacks '$text'"
        cat "$work/$name.err" >&2
    elif [ -s "$work/$name.out" ]; then
        fail "$name: a unit list was printed despite the failure"
    else
        printf '%-24s exit 2: %s\n' "$name" \
            "$(grep -m1 'almasweep query:' "$work/$name.err" | cut -c1-150)"
    fi
}

# expect_ok NAME: exit 0 and the same units as without faults.
expect_ok() {
    local name=$1
    if [ "$rc" != 0 ]; then
        fail "$name: exit $rc"
        cat "$work/$name.err" >&2
        return
    fi
    local got
    got=$(/usr/bin/python3 -c 'import json,sys; print(sorted(u["id"] for u in json.load(open(sys.argv[1]))))' "$work/$name.out")
    if [ "$got" != "$reference" ]; then
        fail "$name: units $got, expected $reference"
    else
        printf '%-24s ok: %s\n' "$name" "$got"
    fi
}

# requests PATTERN: how many logged requests match (method and path).
requests() { grep -c -- "$1" "$work/sim.log" || true; }

sim
query reference
[ "$rc" = 0 ] || { cat "$work/reference.err"; exit 1; }
reference=$(/usr/bin/python3 -c 'import json,sys; print(sorted(u["id"] for u in json.load(open(sys.argv[1]))))' "$work/reference.out")
[ "$reference" != "[]" ] || { echo "no units without faults" >&2; exit 1; }

# QUERY_STATUS ERROR under HTTP 200: the archive's text is shown.
sim '/tap/sync query_error=ORA-01489: result of string concatenation is too long'
query tap-query-error
expect_fail tap-query-error "ORA-01489: result of string concatenation"

# A second XML declaration mid-stream (astroquery #2726), with the
# appended document's error text.
sim '/tap/sync xml_redeclare=3'
query tap-redeclare
expect_fail tap-redeclare "second XML declaration mid-stream"
grep -qF "ORA-01489" "$work/tap-redeclare.err" ||
    fail "tap-redeclare: the appended error text is not shown"

# A body cut short, every time: retried, then a failure.
sim '/tap/sync truncate=400'
query tap-truncated
expect_fail tap-truncated "cut short"
[ "$(requests ' POST /tap/sync')" = 2 ] ||
    fail "tap-truncated: $(requests ' POST /tap/sync') TAP requests, expected 2 (1 retry)"

# Cut short once: the retry answers.
sim '/tap/sync truncate=400 count=1'
query tap-truncated-once
expect_ok tap-truncated-once

# A reset connection.
sim '/tap/sync drop_after=300'
query tap-reset
expect_fail tap-reset "/tap/sync"

# Closed without any response.
sim '/tap/sync hangup'
query tap-hangup
expect_fail tap-hangup "/tap/sync"

# HTTP 503 twice with Retry-After, then an answer (retries = 2).
sim '/tap/sync status=503 retry_after=1 count=2'
query tap-503-twice 'retries = 2'
expect_ok tap-503-twice
[ "$(requests ' POST /tap/sync')" = 3 ] ||
    fail "tap-503-twice: $(requests ' POST /tap/sync') TAP requests, expected 3"
# Retry-After: 1 was honoured: a second at least between the attempts.
/usr/bin/python3 - "$work/sim.log" <<'PY' || fail "tap-503-twice: Retry-After not honoured"
import sys, datetime
t = [datetime.datetime.strptime(l.split()[0], "%Y-%m-%dT%H:%M:%S.%fZ")
     for l in open(sys.argv[1]) if " POST /tap/sync " in l]
gaps = [(b - a).total_seconds() for a, b in zip(t, t[1:])]
print("retry gaps:", ["%.2f s" % g for g in gaps])
sys.exit(0 if len(gaps) == 2 and min(gaps) >= 0.95 else 1)
PY

# HTTP 500 that does not go away.
sim '/tap/sync status=500'
query tap-500
expect_fail tap-500 "HTTP 500"

# Not a TAP service at all (HTTP 404 with a text body).
sim
printf '[archive]\nmirrors = %s/nothing\nretries = 0\n' "$ASW_SIM_URL" \
    >"$work/tap-404.ini"
set +e
"$bin" query --config "$work/tap-404.ini" >"$work/tap-404.out" \
    2>"$work/tap-404.err"
rc=$?
set -e
n=$((n + 1))
expect_fail tap-404 "HTTP 404"

# Truncated at MAXREC where no split can help (one member OUS holds
# more rows): reported, never silent.
sim
query overflow-unsplittable 'max_rows_per_query = 3'
expect_fail overflow-unsplittable "max_rows_per_query"

# DataLink #error for one member OUS.
mous=$(/usr/bin/python3 -c 'import json,sys; print([m["mous_uid"] for m in json.load(open(sys.argv[1]))["mous"] if m["data_rights"]=="Public" and m["array"]=="12m"][0])' "$gen/truth.json")
enc=$(/usr/bin/python3 -c 'import sys,urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$mous")
sim "/datalink/sync contains=$enc query_error=NotFoundFault: $mous"
query datalink-error
expect_fail datalink-error "NotFoundFault: $mous"

# The nested listing of a product tar fails.
sim '/datalink/sync contains=_001_of_001.tar status=500'
query datalink-nested-500
expect_fail datalink-nested-500 "HTTP 500"

# A DataLink answer cut short.
sim '/datalink/sync truncate=200'
query datalink-truncated
expect_fail datalink-truncated "cut short"

# A dead first mirror: the second answers.
sim
printf '[archive]\nmirrors = http://127.0.0.1:1, %s\nretries = 0\n' \
    "$ASW_SIM_URL" >"$work/failover-dead.ini"
set +e
"$bin" query --config "$work/failover-dead.ini" --format json \
    >"$work/failover-dead.out" 2>"$work/failover-dead.err"
rc=$?
set -e
n=$((n + 1))
expect_ok failover-dead
grep -qF "mirror http://127.0.0.1:1 failed" "$work/failover-dead.err" ||
    fail "failover-dead: no warning about the dead mirror"

# Two simulators: A fails every TAP query with HTTP 503, B is healthy.
# Then A answers TAP but fails DataLink: B takes over mid-plan.
url_a=
for rules in '/tap/sync status=503' '/datalink/sync status=503'; do
    sim "$rules"
    url_a=$ASW_SIM_URL
    if [ -z "$SIM_B_PID" ]; then
        "$ASW_BUILD_DIR/tests/sim/asw-sim" --root "$gen" --port 0 \
            --port-file "$work/b/sim.port" --log "$work/b/sim.log" \
            >"$work/b/sim.out" 2>&1 &
        SIM_B_PID=$!
        for _ in $(seq 100); do [ -s "$work/b/sim.port" ] && break; sleep 0.1; done
    fi
    url_b=http://127.0.0.1:$(cat "$work/b/sim.port")
    path=${rules%% *}
    name=failover-${path#/}
    name=${name%%/*}
    printf '[archive]\nmirrors = %s, %s\nretries = 0\n' "$url_a" "$url_b" \
        >"$work/$name.ini"
    set +e
    "$bin" query --config "$work/$name.ini" --format json \
        >"$work/$name.out" 2>"$work/$name.err"
    rc=$?
    set -e
    n=$((n + 1))
    expect_ok "$name"
    # The units' download URLs come from the mirror that answered.
    grep -qF "$url_b/dataPortal/" "$work/$name.out" ||
        fail "$name: no download URL from mirror B"
    grep -qE " (GET|POST) $path[^ ]* - 503 " "$work/sim.log" ||
        fail "$name: mirror A did not fail a request on $path"
done

# Every mirror fails.
sim '* status=503'
printf '[archive]\nmirrors = %s, http://127.0.0.1:1\nretries = 0\n' \
    "$ASW_SIM_URL" >"$work/all-dead.ini"
set +e
"$bin" query --config "$work/all-dead.ini" >"$work/all-dead.out" \
    2>"$work/all-dead.err"
rc=$?
set -e
n=$((n + 1))
expect_fail all-dead "all 2 mirrors failed"

echo "$((n - fails))/$n fault checks passed"
[ "$fails" = 0 ]
