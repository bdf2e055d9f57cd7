#!/usr/bin/env bash
# The simulated EBs of the casa tests, made once per build and cached under
# $ASW_BUILD_DIR/casa-data/<hash of the generators> (regenerated only when
# make_eb.py, make_archive.py or this script change). Prints the data
# directory. Needs the CASA venv python as $1.
#
#   A  uid___A002_Xc0ffee_X1  line in the phase calibrator, check source
#   B  uid___A002_Xc0ffee_X2  as A (same sky) with antenna gain errors
#   H  uid___A002_Xc0ffee_X3  three calibrator fields with hostile names
#   S  uid___A002_Xc0ffee_X4  small (8 antennas), the unit that must work
#   E  uid___A002_Xc0ffee_X5  S with a corrupt Main.xml (script error)
#   K  uid___A002_Xc0ffee_X6  S, killed with SIGKILL by the test
#   T  uid___A002_Xc0ffee_X7  S, hangs (launcher_shim.py) past the limit
# Each EB is in its own project 2023.1.0000N.S (N = the uid's last digit),
# so a sweep selects its units with [archive] projects.
# sim/ is the archive-simulator root serving all of them.
set -euo pipefail
py=$1
: "${ASW_BUILD_DIR:?}" "${ASW_SOURCE_DIR:?}"
here=$ASW_SOURCE_DIR/tests/casa
hash=$(cat "$here/make_eb.py" "$here/make_archive.py" "$here/data.sh" |
       sha256sum | cut -c1-12)
data=$ASW_BUILD_DIR/casa-data/$hash
marker=/tmp/asw-pwned-$hash
if [ -f "$data/.done" ]; then
    echo "$data"
    exit 0
fi
mkdir -p "$ASW_BUILD_DIR/casa-data"
if ! mkdir "$data.lock" 2>/dev/null; then
    # Another test is making it: wait.
    for _ in $(seq 1 1800); do
        [ -f "$data/.done" ] && { echo "$data"; exit 0; }
        [ -d "$data.lock" ] || break
        sleep 0.5
    done
    [ -f "$data/.done" ] && { echo "$data"; exit 0; }
    echo "casa test data: no $data/.done (a stale $data.lock?)" >&2
    exit 1
fi
trap 'rmdir "$data.lock" 2>/dev/null || true' EXIT
rm -rf "$data"
mkdir -p "$data/ebs"
t0=$(date +%s)
gen() {
    unset PYTHONPATH PYTHONHOME PYTHONSTARTUP
    "$py" "$here/make_eb.py" --out "$data/ebs" "$@" >>"$data/make_eb.log" 2>&1 ||
        { echo "make_eb.py $* failed:" >&2; tail -20 "$data/make_eb.log" >&2; exit 1; }
}
gen --uid uid___A002_Xc0ffee_X1 --mous uid___A001_Xc0ffee_X11 --seed 1 \
    --project 2023.1.00001.S --line --check-source --check-import
gen --uid uid___A002_Xc0ffee_X2 --mous uid___A001_Xc0ffee_X12 --seed 2 \
    --project 2023.1.00002.S --line --check-source --gain-errors
gen --uid uid___A002_Xc0ffee_X3 --mous uid___A001_Xc0ffee_X13 --seed 3 \
    --project 2023.1.00003.S --hostile "$marker" --check-import
gen --uid uid___A002_Xc0ffee_X4 --mous uid___A001_Xc0ffee_X14 --seed 4 \
    --project 2023.1.00004.S --nant 8
# E, K, T: copies of S under other EB uids (E with a broken Main.xml).
/usr/bin/python3 - "$data/ebs" <<'PY'
import json, os, sys, tarfile, io
d = sys.argv[1]
src = json.load(open(os.path.join(d, 'uid___A002_Xc0ffee_X4.truth.json')))
for n, broken in ((5, True), (6, False), (7, False)):
    uid = 'uid___A002_Xc0ffee_X%d' % n
    project = '2023.1.0000%d.S' % n
    t = dict(src, uid=uid, mous='uid___A001_Xc0ffee_X1%d' % n,
             project=project,
             tar=src['tar'].replace('uid___A002_Xc0ffee_X4', uid)
                           .replace(src['project'], project))
    with tarfile.open(os.path.join(d, src['tar'])) as tin, \
         tarfile.open(os.path.join(d, t['tar']), 'w', format=tarfile.PAX_FORMAT) as tout:
        for m in tin.getmembers():
            data = tin.extractfile(m).read() if m.isfile() else None
            m.name = m.name.replace('uid___A002_Xc0ffee_X4', uid) \
                           .replace(src['project'], project) \
                           .replace('uid___A001_Xc0ffee_X14', t['mous'])
            if broken and m.name.endswith('/Main.xml'):
                data = b'<?xml version="1.0"?>\n<MainTable><row><broken'
            if data is not None:
                m.size = len(data)
                tout.addfile(m, io.BytesIO(data))
            else:
                tout.addfile(m)
    t['tar_bytes'] = os.path.getsize(os.path.join(d, t['tar']))
    with open(os.path.join(d, 'uid___A002_Xc0ffee_X4.flux.csv')) as f, \
         open(os.path.join(d, uid + '.flux.csv'), 'w') as g:
        g.write(f.read().replace('uid___A002_Xc0ffee_X4.ms', uid + '.ms'))
    t['corrupt'] = broken
    json.dump(t, open(os.path.join(d, uid + '.truth.json'), 'w'), indent=1)
PY
# One flux.csv for all (the catalogue fluxes of every calibrator).
{
    head -1 "$data/ebs/uid___A002_Xc0ffee_X1.flux.csv"
    for f in "$data"/ebs/uid___*.flux.csv; do tail -n +2 "$f"; done
} >"$data/flux.csv"
/usr/bin/python3 "$here/make_archive.py" --root "$data/sim" "$data"/ebs/*.truth.json
echo "$marker" >"$data/marker"
echo "made in $(( $(date +%s) - t0 )) s" >"$data/made"
touch "$data/.done"
# Data of older generators is not used again.
for old in "$ASW_BUILD_DIR"/casa-data/*; do
    case $old in
    "$data" | "$data.lock") ;;
    *) [ -f "$old/.done" ] && rm -rf "$old" ;;
    esac
done
echo "$data"
