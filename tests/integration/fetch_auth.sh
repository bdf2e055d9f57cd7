#!/usr/bin/env bash
# Acceptance (issue 4): credentials against the archive simulator with
# HTTP Basic auth (ASW_SIM_USER/ASW_SIM_PASSWORD) on proprietary files.
#   - `almasweep fetch` of a proprietary file: without credentials, and
#     with a wrong password, the file fails at once (401, one GET, not
#     retried); with --user-env/--password-env (one stream and segments,
#     whose HEAD needs them too), with --netrc FILE and with ~/.netrc it
#     completes with the right SHA-256;
#   - a sweep (`almasweep run`) of a proprietary unit: with [archive]
#     credentials = env its downloads carry the credentials and the unit
#     is done; with the variables holding a wrong password the unit fails
#     with the reason;
#   - the password appears in no output and no log.
set -euo pipefail
: "${ASW_BUILD_DIR:?}" "${ASW_SOURCE_DIR:?}"
. "$ASW_SOURCE_DIR/tests/integration/fetch_lib.sh"
work=$ASW_BUILD_DIR/test-work/fetch-auth
rm -rf "$work"
mkdir -p "$work/home"
trap asw_sim_stop EXIT

pw='s3cret:pw'  # a colon, which Basic auth must carry through
root=$work/root
fetch_root "$root"
size=$((3 * 1024 * 1024 + 17))
fetch_random "$root/dataPortal/priv.bin" $size
file=$root/dataPortal/priv.bin
/usr/bin/python3 - "$root/archive.sqlite" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("INSERT INTO access VALUES ('priv.bin', 'Proprietary')")
db.commit()
PY
common=(--retries 3 --backoff 0.01 --min-segment 1M)

# case_start NAME ROOT: a fresh simulator on ROOT asking for pi/$pw, an
# empty destination $out.
case_start() {
    asw_sim_stop
    rm -f "$work/sim.log"
    ASW_SIM_USER=pi ASW_SIM_PASSWORD=$pw \
        asw_sim_start "$ASW_BUILD_DIR" "$2" "$work" --exit-with-parent
    out=$work/out-$1
    rm -rf "$out"
    mkdir -p "$out"
    url=$ASW_SIM_URL/dataPortal/priv.bin
    echo "--- $1"
}

# The simulator logs a request when it ends: stop it before counting.
count() { grep -c -- "$1" "$work/sim.log" || true; }

no_secret() {
    local f
    for f in "$@"; do
        ! grep -q -e "$pw" -e 's3cret' "$f" || fail "the password is in $f"
    done
}

# 1. No credentials; a wrong password.
case_start none "$root"
expect_exit 3 "$ASW" fetch "${common[@]}" -s 1 -d "$out" "$url"
err_has "priv.bin: failed: download:EAUTH:"
err_has "HTTP 401"
asw_sim_stop
[ "$(count ' GET /dataPortal/priv.bin ')" = 1 ] || fail "none: retried a 401"
[ -z "$(ls -A "$out")" ] || fail "none: left $(ls -A "$out")"

case_start wrong "$root"
ASW_T_USER=pi ASW_T_PASS=wrong-pw expect_exit 3 "$ASW" fetch "${common[@]}" \
    -s 1 --user-env ASW_T_USER --password-env ASW_T_PASS -d "$out" "$url"
err_has "priv.bin: failed: download:EAUTH:"
! grep -q wrong-pw "$work/err" || fail "wrong: the password was printed"
asw_sim_stop
[ "$(count ' GET /dataPortal/priv.bin ')" = 1 ] || fail "wrong: retried a 401"

# 2. From the environment: one stream and segments (HEAD, then ranges).
for seg in 1 4; do
    case_start "env-$seg" "$root"
    ASW_T_USER=pi ASW_T_PASS=$pw expect_exit 0 "$ASW" fetch "${common[@]}" \
        -s $seg --user-env ASW_T_USER --password-env ASW_T_PASS -d "$out" \
        "$url"
    same_sha "$file" "$out/priv.bin"
    cp "$work/err" "$work/err-env-$seg"
    no_secret "$work/err-env-$seg"
    asw_sim_stop
    [ "$(count ' 401 ')" = 0 ] || fail "env-$seg: a request was refused"
    if [ $seg = 4 ]; then
        [ "$(count ' HEAD /dataPortal/priv.bin - 200 ')" = 1 ] ||
            fail "env-4: no authorised HEAD"
        [ "$(count ' GET /dataPortal/priv.bin bytes=.* 206 ')" -ge 2 ] ||
            fail "env-4: not segmented"
    fi
done

# 3. From a netrc file: --netrc FILE, then ~/.netrc (HOME).
printf 'machine 127.0.0.1 login pi password %s\n' "$pw" >"$work/home/.netrc"
chmod 600 "$work/home/.netrc"
case_start netrc-file "$root"
expect_exit 0 "$ASW" fetch "${common[@]}" -s 1 --netrc "$work/home/.netrc" \
    -d "$out" "$url"
same_sha "$file" "$out/priv.bin"
no_secret "$work/err"
case_start netrc-home "$root"
HOME=$work/home expect_exit 0 "$ASW" fetch "${common[@]}" -s 4 -d "$out" \
    "$url"
same_sha "$file" "$out/priv.bin"
no_secret "$work/err"
asw_sim_stop
[ "$(count ' 401 ')" = 0 ] || fail "netrc: a request was refused"

# 4. A sweep of the demo archive's proprietary unit (project
#    2025.1.00005.S) with [archive] credentials = env.
gen=$work/archive
"$ASW_BUILD_DIR/tests/gen/asw-gen" --out "$gen" --preset demo --seed 1 \
    --npix 32 >/dev/null
/usr/bin/python3 - "$gen/truth.json" <<'PY' || fail "the demo archive changed"
import json, sys
m = [m for m in json.load(open(sys.argv[1]))["mous"]
     if m["project"] == "2025.1.00005.S"]
assert len(m) == 1 and m[0]["data_rights"] == "Proprietary", m
PY
sweep_ini() {
    cat >"$work/$1.ini" <<INI
[archive]
mirrors = $ASW_SIM_URL
projects = 2025.1.00005.S
credentials = env
user_env = ASW_T_USER
password_env = ASW_T_PASS
retries = 0
[download]
retries = 3
[pipeline]
mode = products
[scratch]
dir = $work/scratch-$1
reserve = 0
[output]
catalogue = $work/$1.h5
[run]
max_attempts = 1
INI
}

case_start sweep "$gen"
sweep_ini sweep
ASW_T_USER=pi ASW_T_PASS=$pw expect_exit 0 "$ASW" run \
    --config "$work/sweep.ini"
cp "$work/err" "$work/err-sweep"
asw_sim_stop
# (its files, all listed as proprietary in the access table)
n=$(count ' GET /dataPortal/member\.uid___A001_X1b2f_X10a2\..* 200 ')
[ "$n" -ge 8 ] || fail "sweep: $n proprietary files downloaded, expected 8+"
[ "$(count ' GET /dataPortal/.* 401 ')" = 0 ] ||
    fail "sweep: a download was refused"
no_secret "$work/err-sweep" "$work/sim.log"

# The same sweep whose variables hold a wrong password: the query finds
# the unit (public_only is false with credentials), its download is
# refused and the unit fails with the reason.
case_start sweep-wrong "$gen"
sweep_ini sweep-wrong
sed -i 's/^credentials = env$/credentials = env\npublic_only = false/' \
    "$work/sweep-wrong.ini"
ASW_T_USER=pi ASW_T_PASS=wrong-pw expect_exit 3 "$ASW" run \
    --config "$work/sweep-wrong.ini"
err_has "download:EAUTH:"
err_has "HTTP 401"
! grep -q wrong-pw "$work/err" || fail "sweep-wrong: the password was printed"
echo "fetch auth: all cases passed"
