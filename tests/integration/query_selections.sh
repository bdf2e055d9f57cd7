#!/usr/bin/env bash
# Every selection of [archive] against the simulator: `almasweep query`
# must list exactly the units the generator's truth says
# (query_truth.py decides from truth.json alone), with the files and
# sizes the simulator serves. Runs on the demo preset (7 member OUSs:
# bands 3, 6, 7; cycles 2018-2025; 12-m and 7-m; one proprietary).
set -euo pipefail
: "${ASW_BUILD_DIR:?}" "${ASW_SOURCE_DIR:?}"
. "$ASW_SOURCE_DIR/scripts/lib.sh"
work=$ASW_BUILD_DIR/test-work/query-selections
rm -rf "$work"
mkdir -p "$work"
trap asw_sim_stop EXIT
gen=$work/archive
"$ASW_BUILD_DIR/tests/gen/asw-gen" --out "$gen" --preset demo --seed 1 \
    --npix 32 >/dev/null
ASW_SIM_USER=pi ASW_SIM_PASSWORD=secret \
    asw_sim_start "$ASW_BUILD_DIR" "$gen" "$work"
bin=$ASW_BUILD_DIR/almasweep
check=$ASW_SOURCE_DIR/tests/integration/query_truth.py
fails=0 n=0

# case NAME [--expect-empty] -- LINES...: the [archive] lines of a
# configuration (mirrors added), then the comparison with the truth.
case_() {
    local name=$1 flag=
    shift
    if [ "${1:-}" = --expect-empty ]; then flag=$1; shift; fi
    {
        printf '[archive]\nmirrors = %s\nretries = 0\n' "$ASW_SIM_URL"
        printf '%s\n' "$@"
    } >"$work/$name.ini"
    n=$((n + 1))
    if ! "$bin" query --config "$work/$name.ini" --format json \
        >"$work/$name.json" 2>"$work/$name.err"; then
        echo "FAIL: $name: query failed" >&2
        cat "$work/$name.err" >&2
        fails=$((fails + 1))
        return
    fi
    printf '%-22s ' "$name"
    if ! /usr/bin/python3 "$check" "$gen/truth.json" "$work/$name.ini" \
        "$work/$name.json" --portal "$gen/dataPortal" $flag; then
        echo "FAIL: $name (config $work/$name.ini)" >&2
        fails=$((fails + 1))
    fi
}

case_ every-calibrator
case_ target-exact 'targets = J1924-2914'
case_ target-wildcard 'targets = J05*'
case_ target-two 'targets = J0423-0120, J1256-0547'
case_ target-hostile --expect-empty "targets = J1924-2914' OR '1'='1"
case_ band-7 'bands = 7'
case_ bands-3-6 'bands = 3, 6'
case_ cycle-2021 'cycles = 2021'
case_ cycles-2018-2019 'cycles = 2018 2019'
case_ project 'projects = 2022.1.00003.S'
case_ project-7m 'projects = 2022.1.00003.S' 'include_7m = true'
case_ project-wildcard 'projects = 2018.*'
case_ dates 'date_from = 2020-01-01' 'date_to = 2022-06-30'
# date_to takes its whole day: an EB that starts on it is in.
case_ date-to-inclusive 'date_from = 2022-06-25' 'date_to = 2022-06-25'
case_ date-from-only 'date_from = 2022-07-01'
case_ cone 'cone = 291.2127332, -29.2417003, 0.5'
case_ cone-empty --expect-empty 'cone = 10, 10, 1'
case_ freq 'freq_min_ghz = 200' 'freq_max_ghz = 250'
case_ freq-edge 'freq_min_ghz = 242.9' 'freq_max_ghz = 300'
case_ freq-min-only 'freq_min_ghz = 300'
case_ fdm 'velocity_resolution_max = 10000'
case_ include-7m 'include_7m = true'
case_ combined 'bands = 3' 'targets = J0423-0120, J1924-2914' \
    'include_7m = true' 'velocity_resolution_max = 10000'
case_ proprietary 'public_only = false' 'include_7m = true'
# Credentials configured: public_only defaults to false.
ALMA_USER=pi ALMA_PASSWORD=secret \
    case_ credentials 'credentials = env' 'bands = 6'
case_ casa-all '[pipeline]' 'mode = casa' '[archive]' 'include_7m = true'
case_ casa-band-3 'bands = 3' '[pipeline]' 'mode = casa'

# The 9-column DataLink layout gives the same units as the 12-column one.
asw_sim_stop
asw_sim_start "$ASW_BUILD_DIR" "$gen" "$work" --datalink-columns 9
case_ every-calibrator-dl9 'include_7m = true'
printf '[archive]\nmirrors = %s\ninclude_7m = true\n' "$ASW_SIM_URL" \
    >"$work/dl9.ini"
"$bin" query --config "$work/dl9.ini" --format json |
    sed "s#$ASW_SIM_URL##g" >"$work/dl9.json"
asw_sim_stop
asw_sim_start "$ASW_BUILD_DIR" "$gen" "$work" --datalink-columns 12
printf '[archive]\nmirrors = %s\ninclude_7m = true\n' "$ASW_SIM_URL" \
    >"$work/dl12.ini"
"$bin" query --config "$work/dl12.ini" --format json |
    sed "s#$ASW_SIM_URL##g" >"$work/dl12.json"
n=$((n + 1))
if ! cmp -s "$work/dl9.json" "$work/dl12.json"; then
    echo "FAIL: 9- and 12-column DataLink give different units" >&2
    fails=$((fails + 1))
fi

# The table output: per-unit lines, totals per kind and per band.
"$bin" query --config "$work/dl12.ini" >"$work/table.txt"
n=$((n + 1))
if ! /usr/bin/python3 - "$work/dl12.json" "$work/table.txt" <<'PY'; then
import json, sys, collections
units = json.load(open(sys.argv[1]))
text = open(sys.argv[2]).read()
by_band = collections.Counter()
bytes_band = collections.Counter()
for u in units:
    by_band[u["band"]] += 1
    bytes_band[u["band"]] += u["bytes_total"]
total = sum(u["bytes_total"] for u in units)
ok = "by kind:\n  mous-products  %6d units" % len(units) in text
for b in by_band:
    ok &= ("  %-14s %6d units" % (b, by_band[b])) in text
    ok &= ("(%d bytes)" % bytes_band[b]) in text
ok &= ("total: %d units" % len(units)) in text and \
    ("(%d bytes)" % total) in text
if not ok:
    print(text)
sys.exit(0 if ok else 1)
PY
    echo "FAIL: table totals do not match the units" >&2
    fails=$((fails + 1))
fi

echo "$((n - fails))/$n selection checks passed"
[ "$fails" = 0 ]
