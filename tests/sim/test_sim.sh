#!/usr/bin/env bash
# Drives asw-sim with curl. usage: test_sim.sh PATH/TO/asw-sim PART
# PART: tap | datalink | download | faults | auth
# Each run builds a small archive directory with the sqlite3 CLI, starts the
# simulator on a free port (--port 0 --port-file) in its own temporary
# directory, so runs can go in parallel, and always stops it (trap).
set -u -o pipefail

SIM=${1:?usage: test_sim.sh ASW_SIM PART}
PART=${2:?usage: test_sim.sh ASW_SIM PART}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/asw-sim-test.XXXXXX") || exit 1
ROOT=$TMP/root
PID=
BASE=
FAILS=0
CHECKS=0

cleanup() {
    if [[ -n $PID ]] && kill -0 "$PID" 2>/dev/null; then
        kill -TERM "$PID" 2>/dev/null
        for _ in $(seq 50); do
            kill -0 "$PID" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$PID" 2>/dev/null
    fi
    jobs -p | xargs -r kill 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for tool in curl sqlite3; do
    command -v "$tool" >/dev/null || { echo "SKIP: $tool not installed"; exit 77; }
done

ok() { CHECKS=$((CHECKS + 1)); }
fail() {
    CHECKS=$((CHECKS + 1))
    FAILS=$((FAILS + 1))
    echo "FAIL: $*" >&2
}
expect_eq() { # what got want
    if [[ $2 == "$3" ]]; then ok; else fail "$1: got [$2] want [$3]"; fi
}
expect_has() { # what file needle
    if grep -qF -- "$3" "$2"; then ok; else
        fail "$1: [$3] not in $2"
        head -c 3000 "$2" >&2
        echo >&2
    fi
}
expect_not() { # what file needle
    if grep -qF -- "$3" "$2"; then fail "$1: [$3] unexpectedly in $2"; else ok; fi
}
count() { grep -cF -- "$2" "$1"; }

# Well-formed XML (when python3 is around; the greps do the rest).
expect_xml() {
    if command -v python3 >/dev/null; then
        if python3 -c 'import sys, xml.dom.minidom as m; m.parse(sys.argv[1])' "$2" 2>"$TMP/xml.err"; then
            ok
        else
            fail "$1: not well-formed XML: $(cat "$TMP/xml.err" | tail -1)"
        fi
    fi
}

# http METHOD PATH [curl args...]: body -> $TMP/body, headers -> $TMP/hdr,
# status -> $STATUS, curl exit code -> $CURLRC.
http() {
    local method=$1 path=$2
    shift 2
    local head=()
    [[ $method == HEAD ]] && head=(-I)
    : >"$TMP/body"
    STATUS=$(curl -s -S -X "$method" "${head[@]}" -o "$TMP/body" -D "$TMP/hdr.raw" \
        -w '%{http_code}' --max-time 30 "$@" "$BASE$path" 2>"$TMP/curl.err")
    CURLRC=$?
    tr -d '\r' <"$TMP/hdr.raw" >"$TMP/hdr" 2>/dev/null
}

header() { # name -> value of the last such header
    grep -i "^$1:" "$TMP/hdr" | tail -1 | sed 's/^[^:]*: *//'
}

tap() { # ADQL [extra curl args] -> POST /tap/sync
    local q=$1
    shift
    http POST /tap/sync --data-urlencode REQUEST=doQuery \
        --data-urlencode LANG=ADQL --data-urlencode "QUERY=$q" "$@"
}

start_sim() {
    rm -f "$TMP/port"
    "$SIM" --root "$ROOT" --port 0 --port-file "$TMP/port" --log "$TMP/log" \
        --exit-with-parent \
        "$@" 2>>"$TMP/sim.err" &
    PID=$!
    for _ in $(seq 100); do
        [[ -s $TMP/port ]] && break
        kill -0 "$PID" 2>/dev/null || break
        sleep 0.1
    done
    if [[ ! -s $TMP/port ]]; then
        echo "FAIL: asw-sim did not start" >&2
        cat "$TMP/sim.err" >&2
        exit 1
    fi
    BASE="http://127.0.0.1:$(cat "$TMP/port")"
}

stop_sim() { # SIGTERM must end the server cleanly (exit 0)
    kill -TERM "$PID"
    wait "$PID"
    local rc=$?
    PID=
    expect_eq "exit status after SIGTERM" "$rc" 0
}

size_of() { stat -c %s "$1"; }

# ---- the archive directory (docs/sim-archive-layout.md) -------------------
make_root() {
    mkdir -p "$ROOT/dataPortal"
    local dp=$ROOT/dataPortal
    README=member.uid___A001_X12a3_Xe9.README.txt
    PTAR=2017.1.01185.S_uid___A001_X12a3_Xe9_001_of_001.tar
    ASDM=2017.1.01185.S_uid___A002_Xd28a9e_X71b8.asdm.sdm.tar
    FITS=member.uid___A001_X12a3_Xe9.J1924-2914_bp.spw16.mfs.I.pbcor.fits
    PRIV=2019.1.00001.S_uid___A001_X12a3_Xf0_001_of_001.tar
    echo "README of the simulated MOUS" >"$dp/$README"
    head -c 50000 /dev/urandom >"$dp/$PTAR"
    head -c 3000 /dev/urandom >"$dp/$ASDM"
    head -c 5760 /dev/urandom >"$dp/$FITS"
    head -c 2000 /dev/urandom >"$dp/$PRIV"
    cat >"$TMP/schema.sql" <<EOF
CREATE TABLE obscore(obs_publisher_did TEXT, obs_id TEXT,
  dataproduct_type TEXT, calib_level INTEGER, access_url TEXT,
  target_name TEXT, s_ra REAL, s_dec REAL, s_region TEXT, t_min REAL,
  proposal_id TEXT, data_rights TEXT, band_list TEXT, frequency REAL,
  member_ous_uid TEXT, science_observation TEXT, scan_intent TEXT,
  obs_title TEXT);
INSERT INTO obscore VALUES
 ('ADS/JAO.ALMA#2017.1.01185.S', 'uid://A001/X12a3/Xe9.source.J1924-2914.spw.16',
  'image', 2, 'https://almascience.org/datalink/sync?ID=uid://A001/X12a3/Xe9',
  'J1924-2914', 291.2127, -29.2417, 'Circle ICRS 291.2127 -29.2417 0.0100',
  58800.5, '2017.1.01185.S', 'Public', '3', 91.5, 'uid://A001/X12a3/Xe9', 'F',
  'BANDPASS FLUX WVR', 'Calibrators <&> "quoted"'),
 ('ADS/JAO.ALMA#2017.1.01185.S', 'uid://A001/X12a3/Xe9.source.NGC6822.spw.16',
  'cube', 2, 'https://almascience.org/datalink/sync?ID=uid://A001/X12a3/Xe9',
  'NGC6822', 296.24, -14.80, 'Circle ICRS 296.24 -14.80 0.0100',
  58800.5, '2017.1.01185.S', 'Public', '3', 91.5, 'uid://A001/X12a3/Xe9', 'T',
  'TARGET', 'Calibrators <&> "quoted"'),
 ('ADS/JAO.ALMA#2019.1.00001.S', 'uid://A001/X12a3/Xf0.source.J0423-0120.spw.25',
  'image', 2, 'https://almascience.org/datalink/sync?ID=uid://A001/X12a3/Xf0',
  'J0423-0120', 65.8158, -1.3425,
  'Polygon ICRS 65.80 -1.36 65.83 -1.36 65.83 -1.32 65.80 -1.32',
  59000.25, '2019.1.00001.S', 'Proprietary', '7', 343.5,
  'uid://A001/X12a3/Xf0', 'F', 'PHASE WVR', NULL),
 ('ADS/JAO.ALMA#2019.1.00001.S', 'uid://A001/X12a3/Xf0.source.J1924_2914.spw.25',
  'image', 2, 'https://almascience.org/datalink/sync?ID=uid://A001/X12a3/Xf0',
  'J1924_2914', 10.0, 10.0, 'Circle ICRS 10.0 10.0 0.0100',
  59000.25, '2019.1.00001.S', 'Proprietary', '7', 343.5,
  'uid://A001/X12a3/Xf0', 'F', 'PHASE WVR', NULL);
CREATE TABLE datalink(query_id TEXT, seq INTEGER, id TEXT, access_name TEXT,
  service_def TEXT, error_message TEXT, semantics TEXT, local_semantics TEXT,
  description TEXT, content_type TEXT, content_length INTEGER,
  content_qualifier TEXT, link_auth TEXT, readable INTEGER);
INSERT INTO datalink VALUES
 ('uid___A001_X12a3_Xe9', 1, 'uid://A001/X12a3/Xe9', '$README', NULL, NULL,
  '#documentation', NULL, 'Download documentation', 'text/plain',
  $(size_of "$dp/$README"), NULL, 'false', 1),
 ('uid___A001_X12a3_Xe9', 2, 'uid://A001/X12a3/Xe9', '$PTAR', NULL, NULL,
  '#this', NULL, 'Download dataset of type: null, and class: N/A.',
  'application/x-tar', $(size_of "$dp/$PTAR"), NULL, 'false', 1),
 ('uid___A001_X12a3_Xe9', 3, 'uid://A001/X12a3/Xe9', NULL, 'DataLink.$PTAR',
  NULL, '#this', NULL, NULL, 'application/x-votable+xml;content=datalink',
  NULL, NULL, NULL, NULL),
 ('uid___A001_X12a3_Xe9', 4, 'uid://A001/X12a3/Xe9', '$ASDM', NULL, NULL,
  '#progenitor', NULL, 'Download dataset of type: , and class: N/A.',
  'application/x-tar', $(size_of "$dp/$ASDM"), NULL, 'false', 1),
 ('$PTAR', 1, '$PTAR', '$FITS', NULL, NULL, '#this', NULL,
  'Download dataset of type: product, and class: SCIENCE.',
  'application/octet-stream', $(size_of "$dp/$FITS"), NULL, 'false', 1),
 ('$PTAR', 2, '$PTAR', NULL, 'SODA.sync', NULL, '#cutout', NULL,
  'Synchronous SODA sub-image', 'image/fits', NULL, NULL, NULL, NULL),
 ('uid___A001_X12a3_Xf0', 1, 'uid://A001/X12a3/Xf0', '$PRIV', NULL, NULL,
  '#this', NULL, 'Download dataset', 'application/x-tar',
  $(size_of "$dp/$PRIV"), NULL, 'true', 0);
CREATE TABLE access(name TEXT PRIMARY KEY, data_rights TEXT);
INSERT INTO access VALUES ('$PRIV', 'Proprietary'), ('$PTAR', 'Public');
CREATE TABLE calflux(name TEXT NOT NULL, mjd REAL, freq_hz REAL,
  flux_jy REAL, flux_err_jy REAL, spix REAL, spix_err REAL, status INTEGER,
  data_conditions TEXT);
INSERT INTO calflux VALUES
 ('J1924-2914', 58800.5, 100e9, 3.0, 0.09, -0.7, 0.05, NULL, NULL),
 ('J1924-2914', 58900.0, 100e9, 4.0, 0.12, -0.5, 0.05, NULL, NULL),
 ('J1427-4206', 56351.0, 86837309056.16922, 7.7245263249054075,
  0.09139703262558804, -0.359656945792801, 0.0028458151053630384, 1, '9001');
EOF
    sqlite3 "$ROOT/archive.sqlite" <"$TMP/schema.sql" || {
        echo "FAIL: cannot build the test archive" >&2
        exit 1
    }
}

# ---- parts ----------------------------------------------------------------
part_tap() {
    start_sim
    http GET /sim/health
    expect_eq "health status" "$STATUS" 200
    expect_eq "health body" "$(cat "$TMP/body")" ok

    tap "SELECT target_name, s_ra, calib_level, obs_title FROM ivoa.obscore WHERE target_name LIKE 'J1924%' ORDER BY target_name"
    expect_eq "LIKE status" "$STATUS" 200
    expect_xml "LIKE reply" "$TMP/body"
    expect_has "content type" "$TMP/hdr" "Content-Type: application/x-votable+xml"
    expect_has "LIKE status OK" "$TMP/body" '<INFO name="QUERY_STATUS" value="OK" />'
    expect_has "v1.3 namespace" "$TMP/body" 'xmlns="http://www.ivoa.net/xml/VOTable/v1.3"'
    expect_has "version 1.4" "$TMP/body" 'version="1.4"'
    expect_eq "LIKE rows" "$(count "$TMP/body" '<TR>')" 2
    expect_has "LIKE row" "$TMP/body" '<TD>J1924-2914</TD>'
    expect_has "char field" "$TMP/body" '<FIELD name="target_name" datatype="char" arraysize="*" />'
    expect_has "double field" "$TMP/body" '<FIELD name="s_ra" datatype="double" unit="deg" />'
    expect_has "long field" "$TMP/body" '<FIELD name="calib_level" datatype="long" />'
    expect_has "double value" "$TMP/body" '<TD>291.2127</TD>'
    expect_has "XML escaping" "$TMP/body" '<TD>Calibrators &lt;&amp;&gt; &quot;quoted&quot;</TD>'
    expect_has "NULL cell" "$TMP/body" '<TD />'

    tap "SELECT target_name FROM ivoa.obscore WHERE target_name LIKE 'j1924%'"
    expect_eq "LIKE is case-sensitive" "$(count "$TMP/body" '<TR>')" 0
    tap "SELECT target_name FROM ivoa.obscore WHERE target_name LIKE 'J1924\\_%'"
    expect_eq "LIKE backslash escape rows" "$(count "$TMP/body" '<TR>')" 1
    expect_has "LIKE backslash escape row" "$TMP/body" '<TD>J1924_2914</TD>'

    # astroquery's cone search, calibrators only
    tap "select * from ivoa.obscore WHERE (INTERSECTS(CIRCLE('ICRS',291.2,-29.24,0.1666), s_region) = 1) AND science_observation = 'F'"
    expect_eq "CIRCLE status" "$STATUS" 200
    expect_eq "CIRCLE rows" "$(count "$TMP/body" '<TR>')" 1
    expect_has "CIRCLE row" "$TMP/body" '<TD>uid://A001/X12a3/Xe9</TD>'
    expect_has "s_region xtype" "$TMP/body" 'name="s_region" datatype="char" arraysize="*" xtype="adql:REGION"'
    tap "SELECT member_ous_uid FROM ivoa.obscore WHERE CONTAINS(POINT('ICRS', 65.815, -1.34), s_region) = 1"
    expect_eq "CONTAINS polygon rows" "$(count "$TMP/body" '<TR>')" 1
    expect_has "CONTAINS polygon row" "$TMP/body" '<TD>uid://A001/X12a3/Xf0</TD>'
    tap "SELECT COUNT(*) AS n FROM ivoa.obscore WHERE INTERSECTS(CIRCLE('ICRS', 65.85, -1.34, 0.01), s_region) = 1"
    expect_has "CIRCLE misses polygon" "$TMP/body" '<TD>0</TD>'
    expect_has "expression type" "$TMP/body" '<FIELD name="n" datatype="long" />'

    tap "SELECT TOP 1 target_name FROM ivoa.obscore ORDER BY target_name"
    expect_eq "TOP rows" "$(count "$TMP/body" '<TR>')" 1
    expect_not "TOP is no overflow" "$TMP/body" 'OVERFLOW'
    tap "SELECT target_name FROM ivoa.obscore" --data-urlencode MAXREC=2
    expect_eq "MAXREC rows" "$(count "$TMP/body" '<TR>')" 2
    expect_has "MAXREC overflow" "$TMP/body" '<INFO name="QUERY_STATUS" value="OVERFLOW" />'
    expect_xml "OVERFLOW reply" "$TMP/body"
    tap "SELECT target_name FROM ivoa.obscore" --data-urlencode MAXREC=4
    expect_not "MAXREC = rows is no overflow" "$TMP/body" 'OVERFLOW'

    http GET "/tap/sync" -G --data-urlencode REQUEST=doQuery --data-urlencode LANG=ADQL \
        --data-urlencode "QUERY=SELECT DISTINCT proposal_id FROM ivoa.obscore WHERE proposal_id LIKE '2017%'" \
        --data-urlencode RESPONSEFORMAT=votable
    expect_eq "GET status" "$STATUS" 200
    expect_eq "GET rows" "$(count "$TMP/body" '<TR>')" 1

    tap "SELECT target_name, s_ra FROM ivoa.obscore WHERE s_ra < 100 ORDER BY s_ra" --data-urlencode RESPONSEFORMAT=csv
    expect_eq "CSV" "$(cat "$TMP/body")" "$(printf 'target_name,s_ra\nJ1924_2914,10\nJ0423-0120,65.8158')"

    # errors
    tap "SELECT nosuchcolumn FROM ivoa.obscore"
    expect_eq "bad column status" "$STATUS" 400
    expect_has "bad column error" "$TMP/body" '<INFO name="QUERY_STATUS" value="ERROR">ADQL error: no such column: nosuchcolumn</INFO>'
    expect_xml "error reply" "$TMP/body"
    tap "SELEC * FROM ivoa.obscore"
    expect_eq "syntax error status" "$STATUS" 400
    tap "DELETE FROM ivoa.obscore"
    expect_eq "DELETE refused" "$STATUS" 400
    tap "SELECT 1; DROP TABLE obscore"
    expect_eq "second statement refused" "$STATUS" 400
    expect_has "second statement message" "$TMP/body" 'single SELECT'
    tap "SELECT * FROM datalink"
    expect_eq "internal table hidden" "$STATUS" 400
    tap "WITH x AS (SELECT 1) DELETE FROM obscore"
    expect_eq "WITH ... DELETE refused" "$STATUS" 400
    tap "SELECT COUNT(*) FROM ivoa.obscore"
    expect_has "table intact" "$TMP/body" '<TD>4</TD>'
    http POST /tap/sync --data-urlencode LANG=ADQL
    expect_eq "missing QUERY" "$STATUS" 400
    tap "SELECT 1" --data-urlencode MAXREC=-3
    expect_eq "bad MAXREC" "$STATUS" 400
    tap "SELECT 1" --data-urlencode RESPONSEFORMAT=fits
    expect_eq "bad RESPONSEFORMAT" "$STATUS" 400

    stop_sim
    expect_has "log POST line" "$TMP/log" " POST /tap/sync - 200 "
    expect_has "log form" "$TMP/log" "QUERY=SELECT%20TOP%201"
    expect_has "log GET query" "$TMP/log" " GET /tap/sync?REQUEST=doQuery"
}

dl_common_checks() { # layout-independent checks of the MOUS answer
    expect_eq "DataLink status" "$STATUS" 200
    expect_xml "DataLink reply" "$TMP/body"
    expect_has "DataLink content type" "$TMP/hdr" 'Content-Type: application/x-votable+xml;content=datalink'
    expect_eq "DataLink rows" "$(count "$TMP/body" '<TR>')" 4
    expect_has "access_url" "$TMP/body" "<TD>$BASE/dataPortal/$PTAR</TD>"
    expect_has "content_length" "$TMP/body" "<TD>50000</TD>"
    expect_has "service_def" "$TMP/body" "<TD>DataLink.$PTAR</TD>"
    expect_has "adhoc resource" "$TMP/body" "<RESOURCE type=\"meta\" ID=\"DataLink.$PTAR\" utype=\"adhoc:service\">"
    expect_has "standardID" "$TMP/body" '<PARAM name="standardID" datatype="char" arraysize="37" value="ivo://ivoa.net/std/DataLink#links-1.0" />'
    local url="$BASE/datalink/sync?ID=$PTAR"
    expect_has "accessURL" "$TMP/body" "<PARAM name=\"accessURL\" datatype=\"char\" arraysize=\"${#url}\" value=\"$url\" />"
    expect_has "inputParams" "$TMP/body" '<GROUP name="inputParams" />'
    expect_eq "one resource per service" "$(count "$TMP/body" 'utype="adhoc:service"')" 1
}

part_datalink() {
    start_sim
    http GET /datalink/sync -G --data-urlencode ID=uid://A001/X12a3/Xe9
    dl_common_checks
    expect_eq "12 FIELDs" "$(count "$TMP/body" '<FIELD ')" 12
    expect_has "local_semantics" "$TMP/body" '<FIELD name="local_semantics"'
    expect_has "link_authorized" "$TMP/body" '<FIELD name="link_authorized" datatype="boolean"'
    expect_has "content_length field" "$TMP/body" '<FIELD name="content_length" datatype="long" ucd="phys.size;meta.file" unit="byte" />'
    expect_not "no readable in 1.1" "$TMP/body" 'name="readable"'
    expect_has "ID column" "$TMP/body" '<TD>uid://A001/X12a3/Xe9</TD>'
    cp "$TMP/body" "$TMP/dl12"

    http GET "/datalink/sync?ID=uid___A001_X12a3_Xe9"
    expect_eq "sanitized uid answers the same" "$(md5sum <"$TMP/body")" "$(md5sum <"$TMP/dl12")"
    http POST /datalink/sync --data-urlencode ID=uid://A001/X12a3/Xe9
    expect_eq "POST answers the same" "$(md5sum <"$TMP/body")" "$(md5sum <"$TMP/dl12")"

    # nested expansion of the product tar, with a SODA row
    http GET "/datalink/sync?ID=$PTAR"
    expect_eq "nested status" "$STATUS" 200
    expect_eq "nested rows" "$(count "$TMP/body" '<TR>')" 2
    expect_has "nested file" "$TMP/body" "<TD>$BASE/dataPortal/$FITS</TD>"
    expect_has "SODA row" "$TMP/body" '<TD>#cutout</TD>'
    expect_has "SODA resource" "$TMP/body" '<RESOURCE type="meta" ID="SODA.sync" utype="adhoc:service">'
    expect_has "SODA accessURL" "$TMP/body" "value=\"$BASE/soda/sync?ID=$FITS\""
    expect_has "SODA standardID" "$TMP/body" 'value="ivo://ivoa.net/std/SODA#sync-1.0"'

    http GET /datalink/sync -G --data-urlencode ID=uid://C0/C1/C2
    expect_eq "unknown ID status" "$STATUS" 200
    expect_eq "unknown ID rows" "$(count "$TMP/body" '<TR>')" 1
    expect_has "unknown ID #error" "$TMP/body" '<TD>#error</TD>'
    expect_has "unknown ID message" "$TMP/body" '<TD>NotFoundFault: uid://C0/C1/C2</TD>'
    expect_xml "error row reply" "$TMP/body"

    http GET /datalink/sync
    expect_eq "no ID" "$STATUS" 400
    http GET /datalink/sync -G --data-urlencode ID=uid://foo/bar
    expect_eq "malformed ID" "$STATUS" 400

    http GET "/datalink/sync?ID=uid___A001_X12a3_Xe9&RESPONSEFORMAT=application/x-download-manifest%2Btxt"
    expect_eq "manifest status" "$STATUS" 200
    expect_eq "manifest lines" "$(grep -c '^OK	' "$TMP/body")" 3
    expect_has "manifest url" "$TMP/body" "$BASE/dataPortal/$ASDM"
    stop_sim

    start_sim --datalink-columns 9
    http GET /datalink/sync -G --data-urlencode ID=uid://A001/X12a3/Xe9
    dl_common_checks
    expect_eq "9 FIELDs" "$(count "$TMP/body" '<FIELD ')" 9
    expect_has "readable field" "$TMP/body" '<FIELD name="readable" datatype="boolean">'
    expect_not "no local_semantics in 9" "$TMP/body" 'local_semantics'
    # the 9th cell of the README row is readable=true
    expect_eq "readable value" "$(grep -A 10 "$README" "$TMP/body" | grep -c '<TD>true</TD>')" 1
    stop_sim
}

part_download() {
    start_sim
    local size
    size=$(size_of "$ROOT/dataPortal/$PTAR")
    http GET "/dataPortal/$PTAR"
    expect_eq "GET status" "$STATUS" 200
    expect_eq "GET body" "$(md5sum <"$TMP/body")" "$(md5sum <"$ROOT/dataPortal/$PTAR")"
    expect_eq "Content-Length" "$(header Content-Length)" "$size"
    expect_eq "Accept-Ranges" "$(header Accept-Ranges)" bytes
    expect_eq "Content-Disposition" "$(header Content-Disposition)" "attachment; filename=$PTAR"
    expect_eq "Content-Type" "$(header Content-Type)" application/x-tar

    http HEAD "/dataPortal/$PTAR"
    expect_eq "HEAD status" "$STATUS" 200
    expect_eq "HEAD Content-Length" "$(header Content-Length)" "$size"
    expect_eq "HEAD Content-Disposition" "$(header Content-Disposition)" "attachment; filename=$PTAR"

    http GET "/dataPortal/$PTAR" -H 'Range: bytes=100-199'
    expect_eq "Range status" "$STATUS" 206
    expect_eq "Content-Range" "$(header Content-Range)" "bytes 100-199/$size"
    expect_eq "Range length" "$(header Content-Length)" 100
    expect_eq "Range body" "$(md5sum <"$TMP/body")" "$(tail -c +101 "$ROOT/dataPortal/$PTAR" | head -c 100 | md5sum)"
    http GET "/dataPortal/$PTAR" -H 'Range: bytes=-10'
    expect_eq "suffix Range" "$(header Content-Range)" "bytes $((size - 10))-$((size - 1))/$size"
    expect_eq "suffix body" "$(md5sum <"$TMP/body")" "$(tail -c 10 "$ROOT/dataPortal/$PTAR" | md5sum)"
    http GET "/dataPortal/$PTAR" -H "Range: bytes=$((size - 5))-"
    expect_eq "open Range" "$(size_of "$TMP/body")" 5
    http GET "/dataPortal/$PTAR" -H "Range: bytes=$size-"
    expect_eq "unsatisfiable Range" "$STATUS" 416
    expect_eq "416 Content-Range" "$(header Content-Range)" "bytes */$size"
    http GET "/dataPortal/$PTAR" -H 'Range: bytes=0-1,5-6'
    expect_eq "multi-range gives all" "$STATUS" 200

    # resume a partial download as the client does
    head -c 12345 "$ROOT/dataPortal/$PTAR" >"$TMP/partial"
    curl -s -S -C - -o "$TMP/partial" "$BASE/dataPortal/$PTAR"
    expect_eq "resumed file" "$(md5sum <"$TMP/partial")" "$(md5sum <"$ROOT/dataPortal/$PTAR")"

    http GET "/dataPortal/uid___A002_Xd28a9e_X71b8"
    expect_eq "ASDM by uid" "$STATUS" 200
    expect_eq "ASDM name" "$(header Content-Disposition)" "attachment; filename=$ASDM"

    http GET /dataPortal/no-such-file.tar
    expect_eq "missing file" "$STATUS" 404
    http GET /dataPortal/..%2Farchive.sqlite --path-as-is
    expect_eq "no escape from dataPortal" "$STATUS" 404
    http GET /dataPortal/../archive.sqlite --path-as-is
    expect_eq "no dot-dot" "$STATUS" 404
    http POST "/dataPortal/$PTAR"
    expect_eq "POST refused" "$STATUS" 405
    http GET /nowhere
    expect_eq "unknown path" "$STATUS" 404
    stop_sim
    expect_has "log range" "$TMP/log" " GET /dataPortal/$PTAR bytes=100-199 206 100 "
    expect_has "log HEAD" "$TMP/log" " HEAD /dataPortal/$PTAR - 200 0 "
    expect_has "log full GET" "$TMP/log" " GET /dataPortal/$PTAR - 200 $size "
}

part_faults() {
    cat >"$TMP/faults" <<EOF
# first TAP request fails with 503, the next one works
/tap/sync status=503 count=1 retry_after=7
/dataPortal/$PTAR contains=trunc truncate=1000
/dataPortal/$PTAR contains=drop drop_after=1000
/dataPortal/$PTAR contains=hang hangup
/dataPortal/$PTAR contains=slow rate_bps=25000
/dataPortal/$FITS latency_ms=1000 method=GET
/dataPortal/$ASDM stall_ms=600 stall_after=1000
/sim/health contains=second skip=1 count=1 status=500
/tap/sync contains=redeclare xml_redeclare=1
/tap/sync contains=qerror query_error=ORA-01489: result of string concatenation is too long
EOF
    start_sim --faults "$TMP/faults"
    local q="SELECT target_name FROM ivoa.obscore"
    tap "$q"
    expect_eq "503 first" "$STATUS" 503
    expect_eq "Retry-After" "$(header Retry-After)" 7
    tap "$q"
    expect_eq "200 second" "$STATUS" 200
    expect_eq "rows second" "$(count "$TMP/body" '<TR>')" 4

    http GET "/dataPortal/$PTAR?trunc"
    expect_eq "truncate: curl sees a short body (18)" "$CURLRC" 18
    expect_eq "truncate: bytes" "$(size_of "$TMP/body")" 1000
    expect_eq "truncate: announced length" "$(header Content-Length)" 50000
    http GET "/dataPortal/$PTAR?drop"
    # curl 56: connection reset (RST); unsent bytes may be lost with it
    if [[ $CURLRC -eq 56 && $(size_of "$TMP/body") -le 1000 ]]; then ok; else
        fail "drop_after: curl rc $CURLRC, $(size_of "$TMP/body") bytes"
    fi
    http GET "/dataPortal/$PTAR?hang"
    expect_eq "hangup: empty reply (52)" "$CURLRC" 52

    # a throttled download must not hold up other requests
    curl -s -o "$TMP/slow" -w '%{time_total}' "$BASE/dataPortal/$PTAR?slow" >"$TMP/slow.time" &
    local slow=$!
    sleep 0.3
    local t
    t=$(curl -s -o /dev/null -w '%{time_total}' "$BASE/sim/health")
    if awk -v t="$t" 'BEGIN { exit !(t < 1.0) }'; then ok; else
        fail "health blocked by a slow download: ${t}s"
    fi
    wait "$slow"
    t=$(cat "$TMP/slow.time")
    # 50000 bytes at 25000 B/s: about 2 s
    if awk -v t="$t" 'BEGIN { exit !(t > 1.6 && t < 6) }'; then ok; else
        fail "rate_bps: 50000 bytes took ${t}s"
    fi
    expect_eq "rate_bps: body intact" "$(md5sum <"$TMP/slow")" "$(md5sum <"$ROOT/dataPortal/$PTAR")"

    t=$(curl -s -o /dev/null -w '%{time_total}' "$BASE/dataPortal/$FITS")
    if awk -v t="$t" 'BEGIN { exit !(t >= 1.0) }'; then ok; else
        fail "latency_ms: GET took ${t}s"
    fi
    t=$(curl -s -o /dev/null -I -w '%{time_total}' "$BASE/dataPortal/$FITS")
    if awk -v t="$t" 'BEGIN { exit !(t < 0.9) }'; then ok; else
        fail "method=GET: HEAD delayed too (${t}s)"
    fi
    t=$(curl -s -o "$TMP/stalled" -w '%{time_total}' "$BASE/dataPortal/$ASDM")
    if awk -v t="$t" 'BEGIN { exit !(t >= 0.6) }'; then ok; else
        fail "stall_ms: took ${t}s"
    fi
    expect_eq "stall: body intact" "$(md5sum <"$TMP/stalled")" "$(md5sum <"$ROOT/dataPortal/$ASDM")"

    http GET "/sim/health?second"
    expect_eq "skip=1: first passes" "$STATUS" 200
    http GET "/sim/health?second"
    expect_eq "skip=1: second fails" "$STATUS" 500
    http GET "/sim/health?second"
    expect_eq "count=1: third passes" "$STATUS" 200

    http GET /tap/sync -G --data-urlencode "QUERY=$q" --data-urlencode x=redeclare
    expect_eq "xml_redeclare status" "$STATUS" 200
    expect_eq "xml_redeclare declarations" "$(count "$TMP/body" '<?xml')" 2
    expect_eq "xml_redeclare rows before" "$(count "$TMP/body" '<TR>')" 1
    expect_has "xml_redeclare error" "$TMP/body" 'value="ERROR">ORA-01489'
    http GET /tap/sync -G --data-urlencode "QUERY=$q" --data-urlencode x=qerror
    expect_eq "query_error status" "$STATUS" 200
    expect_has "query_error INFO" "$TMP/body" '<INFO name="QUERY_STATUS" value="ERROR">ORA-01489: result of string concatenation is too long</INFO>'

    # SIGHUP re-reads the file with fresh counters
    echo "/tap/sync status=429" >"$TMP/faults"
    kill -HUP "$PID"
    sleep 0.3
    tap "$q"
    expect_eq "reloaded faults" "$STATUS" 429
    stop_sim
    expect_eq "log: one 503" "$(grep -c ' POST /tap/sync - 503 ' "$TMP/log")" 1
    expect_has "log: fault named" "$TMP/log" "L2:status"
    expect_has "log: hangup" "$TMP/log" " 000 0 "
    expect_has "log: truncated bytes" "$TMP/log" "?trunc - 200 1000 "

    # --rate-total-bps shares one cap between connections: two 50000-byte
    # downloads at 50000 B/s in total take about 2 s.
    start_sim --rate-total-bps 50000
    local t0 t1
    t0=$(date +%s.%N)
    curl -s -o "$TMP/a" "$BASE/dataPortal/$PTAR" &
    local c1=$!
    curl -s -o "$TMP/b" "$BASE/dataPortal/$PTAR" &
    local c2=$!
    wait "$c1" "$c2"
    t1=$(date +%s.%N)
    local dt
    dt=$(awk -v a="$t1" -v b="$t0" 'BEGIN { print a - b }')
    if awk -v t="$dt" 'BEGIN { exit !(t > 1.5 && t < 8) }'; then ok; else
        fail "rate-total-bps: two downloads took ${dt}s"
    fi
    expect_eq "rate-total-bps: body intact" "$(md5sum <"$TMP/a")" "$(md5sum <"$ROOT/dataPortal/$PTAR")"
    # SIGTERM during a throttled download still stops at once
    curl -s -o /dev/null "$BASE/dataPortal/$PTAR" &
    c1=$!
    sleep 0.3
    t0=$(date +%s.%N)
    stop_sim
    t1=$(date +%s.%N)
    if awk -v a="$t1" -v b="$t0" 'BEGIN { exit !(a - b < 3) }'; then ok; else
        fail "SIGTERM during a download took too long"
    fi
    wait "$c1"
}

part_auth() {
    start_sim --user alice --password 's3cret:x'
    http GET "/dataPortal/$PRIV"
    expect_eq "proprietary without credentials" "$STATUS" 401
    expect_has "WWW-Authenticate" "$TMP/hdr" 'WWW-Authenticate: Basic realm="ALMA"'
    http GET "/dataPortal/$PRIV" -u alice:wrong
    expect_eq "wrong password" "$STATUS" 401
    http GET "/dataPortal/$PRIV" -u 'alice:s3cret:x'
    expect_eq "right password" "$STATUS" 200
    expect_eq "proprietary body" "$(md5sum <"$TMP/body")" "$(md5sum <"$ROOT/dataPortal/$PRIV")"
    http HEAD "/dataPortal/$PRIV"
    expect_eq "HEAD needs credentials too" "$STATUS" 401
    http GET "/dataPortal/$PTAR"
    expect_eq "public file needs none" "$STATUS" 200

    http GET /datalink/sync -G --data-urlencode ID=uid://A001/X12a3/Xf0
    expect_eq "link_auth" "$(grep -A 12 "$PRIV" "$TMP/body" | grep -c '<TD>true</TD>')" 1
    expect_has "not authorized anonymously" "$TMP/body" '<TD>false</TD>'
    http GET /datalink/sync -G --data-urlencode ID=uid://A001/X12a3/Xf0 -u 'alice:s3cret:x'
    expect_not "authorized with credentials" "$TMP/body" '<TD>false</TD>'
    stop_sim
    expect_not "password never logged" "$TMP/log" 's3cret'
}

td_of() { # FIELD-NAME -> the TD of that FIELD in $TMP/body
    /usr/bin/python3 - "$TMP/body" "$1" <<'PY'
import sys, xml.dom.minidom as m
d = m.parse(sys.argv[1])
names = [f.getAttribute("name") for f in d.getElementsByTagName("FIELD")]
tds = d.getElementsByTagName("TR")[0].getElementsByTagName("TD")
td = tds[names.index(sys.argv[2])]
print(td.firstChild.nodeValue if td.firstChild else "")
PY
}

part_flux() {
    [[ -x /usr/bin/python3 ]] || { echo "SKIP: /usr/bin/python3"; exit 77; }
    start_sim
    local q=(-G --data-urlencode NAME=J1427-4206 --data-urlencode
        DATE=27-March-2013 --data-urlencode
        FREQUENCY=86837309056.169219970703125 --data-urlencode WEIGHTED=true)
    http GET /sc/flux "${q[@]}"
    expect_eq "flux status" "$STATUS" 200
    expect_xml "flux answer" "$TMP/body"
    expect_eq "reference StatusCode" "$(td_of StatusCode)" 1
    expect_eq "reference flux" "$(td_of FluxDensity)" 7.7245263249054075
    expect_eq "reference index" "$(td_of SpectralIndex)" -0.359656945792801
    expect_eq "reference age" "$(td_of 'Nearest Measurement Date')" 27
    expect_eq "reference conditions" "$(td_of DataConditions)" 9001
    expect_eq "frequency echoed" "$(td_of Frequency)" 86837309056.169219970703125
    expect_eq "date echoed" "$(td_of Date)" 27-March-2013
    # The nearest measurement (58900 = 21-February-2020), scaled to 200 GHz:
    # 4 * 2^-0.5; within 14 days: StatusCode 0.
    http GET /sc/flux -G --data-urlencode NAME=J1924-2914 \
        --data-urlencode DATE=01-mar-2020 --data-urlencode FREQUENCY=2e11
    expect_eq "scaled flux" "$(td_of FluxDensity)" 2.8284271247461903
    expect_eq "age" "$(td_of 'Nearest Measurement Date')" 9
    expect_eq "status in window" "$(td_of StatusCode)" 0
    expect_eq "computed conditions" "$(td_of DataConditions)" 2001
    # Far from both: StatusCode 3 and a clarification.
    http GET /sc/flux -G --data-urlencode NAME=J1924-2914 \
        --data-urlencode DATE=01-January-2022 --data-urlencode FREQUENCY=1e11
    expect_eq "status outside the window" "$(td_of StatusCode)" 3
    expect_has "clarification" "$TMP/body" "outside the 14-day window"
    # Unknown: no flux, index -1000, StatusCode 4.
    http GET /sc/flux -G --data-urlencode NAME=J0000+0000 \
        --data-urlencode DATE=01-January-2022 --data-urlencode FREQUENCY=1e11
    expect_eq "unknown status" "$(td_of StatusCode)" 4
    expect_eq "unknown flux" "$(td_of FluxDensity)" ""
    expect_eq "unknown index" "$(td_of SpectralIndex)" -1000
    for bad in "DATE=2020-03-01&FREQUENCY=1e11" \
        "DATE=31-Foo-2020&FREQUENCY=1e11" \
        "DATE=01-March-2020&FREQUENCY=abc"; do
        http GET "/sc/flux?NAME=J1924-2914&$bad"
        expect_eq "bad parameter $bad" "$STATUS" 400
    done
    http GET "/sc/flux?NAME=J1924-2914"
    expect_eq "missing parameters" "$STATUS" 400
    http POST /sc/flux
    expect_eq "POST not allowed" "$STATUS" 405
    stop_sim
}

make_root
case $PART in
tap | datalink | download | faults | auth | flux) "part_$PART" ;;
*)
    echo "unknown part $PART" >&2
    exit 2
    ;;
esac

if [[ $FAILS -gt 0 ]]; then
    echo "$PART: $FAILS of $CHECKS checks failed" >&2
    echo "--- asw-sim stderr" >&2
    cat "$TMP/sim.err" >&2
    exit 1
fi
echo "$PART: all $CHECKS checks passed"
