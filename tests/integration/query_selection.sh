#!/usr/bin/env bash
# `almasweep query` against the simulator: a named calibrator selects the
# member OUSs that observed it; a hostile name (SQL injection attempt)
# selects nothing and breaks nothing; an unreachable archive is exit 2.
set -euo pipefail
: "${ASW_BUILD_DIR:?}" "${ASW_SOURCE_DIR:?}"
. "$ASW_SOURCE_DIR/scripts/lib.sh"
work=$ASW_BUILD_DIR/test-work/query-selection
rm -rf "$work"
mkdir -p "$work"
trap asw_sim_stop EXIT
gen=$(asw_test_archive "$ASW_BUILD_DIR")
asw_sim_start "$ASW_BUILD_DIR" "$gen" "$work"
bin=$ASW_BUILD_DIR/almasweep

query() { # query TARGETS -> units JSON on stdout
    printf '[archive]\nmirrors = %s\ntargets = %s\n' "$ASW_SIM_URL" "$1" \
        >"$work/q.ini"
    "$bin" query --config "$work/q.ini" --format json
}

# Expected from the truth: public 12-m member OUSs with that calibrator.
expect() {
    /usr/bin/python3 - "$gen/truth.json" "$1" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))
ok = {m["mous_uid"] for m in t["mous"]
      if m["data_rights"] == "Public" and m["array"] == "12m"}
print(sorted({i["mous_uid"].replace("uid://", "uid___").replace("/", "_")
              for i in t["images"]
              if i["source"] == sys.argv[2] and i["mous_uid"] in ok}))
PY
}
ids() { /usr/bin/python3 -c 'import json,sys; print(sorted(u["id"] for u in json.load(sys.stdin)))'; }

got=$(query "J1924-2914" | ids)
want=$(expect "J1924-2914")
echo "J1924-2914: $got"
[ "$got" = "$want" ] || { echo "FAIL: expected $want" >&2; exit 1; }
[ "$got" != "[]" ] || { echo "FAIL: selection empty" >&2; exit 1; }

got=$(query "J1924-2914' OR '1'='1" | ids)
echo "hostile name: $got"
[ "$got" = "[]" ] || { echo "FAIL: hostile name selected $got" >&2; exit 1; }
# The simulator is still healthy and the table intact afterwards.
got=$(query "J1924-2914" | ids)
[ "$got" = "$want" ] || { echo "FAIL: archive changed" >&2; exit 1; }

# Every calibrator (empty targets) covers all public 12-m member OUSs.
got=$(query "" | ids)
n=$(echo "$got" | tr ',' '\n' | grep -c uid___)
[ "$n" -ge 2 ] || { echo "FAIL: all-calibrator query gave $got" >&2; exit 1; }

# An unreachable archive: exit code 2 and a message naming the cause.
printf '[archive]\nmirrors = http://127.0.0.1:1\n[download]\nretries = 0\n' \
    >"$work/dead.ini"
set +e
"$bin" query --config "$work/dead.ini" >/dev/null 2>"$work/dead.err"
rc=$?
set -e
[ "$rc" = 2 ] || { echo "FAIL: exit $rc for a dead archive" >&2; exit 1; }
grep -qi "127.0.0.1:1" "$work/dead.err" || { cat "$work/dead.err"; exit 1; }
echo "ok"
