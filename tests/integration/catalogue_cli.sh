#!/usr/bin/env bash
# `almasweep catalogue` on real sweeps against the archive simulator:
# help texts and exit codes; summary; list and its filters (counts checked
# against h5py); verify (0 when consistent, 5 with the reason on a
# tampered copy); export of every table as CSV and VOTable, read back
# identically by astropy.io.votable, by our own VOTable parser and by
# pandas; merge of a sweep where a unit failed with a clean one.
set -euo pipefail
: "${ASW_BUILD_DIR:?}" "${ASW_SOURCE_DIR:?}"
. "$ASW_SOURCE_DIR/scripts/lib.sh"
B=$ASW_BUILD_DIR
cat_=("$B/almasweep" catalogue)
py=/usr/bin/python3
read_cat=$ASW_SOURCE_DIR/tests/integration/read_catalogue.py
work=$B/test-work/catalogue-cli
rm -rf "$work"
mkdir -p "$work"
trap asw_sim_stop EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
# expect CODE CMD...: run CMD, its exit code must be CODE.
expect() {
    local want=$1 got=0
    shift
    "$@" >"$work/out" 2>&1 || got=$?
    [ "$got" = "$want" ] || { cat "$work/out" >&2; fail "$* exited $got, want $want"; }
}

gen=$(asw_test_archive "$B")
: >"$work/faults"
asw_sim_start "$B" "$gen" "$work" --faults "$work/faults"
asw_mpi_env
sweep() { # NAME: a products sweep into NAME.h5
    cat >"$work/$1.ini" <<INI
[archive]
mirrors = $ASW_SIM_URL
[pipeline]
mode = products
[scratch]
dir = $work/scratch-$1
[output]
catalogue = $work/$1.h5
[run]
max_attempts = 2
INI
    "$B/almasweep" run --config "$work/$1.ini" 2>"$work/$1.log"
}
sweep clean
C=$work/clean.h5

# Help texts and usage errors.
for sub in "" summary list verify export merge; do
    expect 0 "${cat_[@]}" $sub --help
    grep -q "Exit codes" "$work/out" || fail "catalogue $sub --help: no exit codes"
    grep -qi "example" "$work/out" || fail "catalogue $sub --help: no example"
done
expect 1 "${cat_[@]}" frobnicate "$C"
expect 1 "${cat_[@]}" list "$C" --band 13
expect 1 "${cat_[@]}" list "$C" --since yesterday
expect 1 "${cat_[@]}" export "$C" --table nope
expect 1 "${cat_[@]}" merge "$C"
expect 5 "${cat_[@]}" summary "$work/missing.h5"
expect 5 "${cat_[@]}" verify "$work/missing.h5"

# Summary: its counts and its per source and band lines are those of the
# file (h5py), value for value.
expect 0 "${cat_[@]}" summary "$C"
grep -q "^units: 2 (done 2)$" "$work/out" || fail "summary: units"
grep -q "^runs: 1 (last .*: finished, exit 0" "$work/out" || fail "summary: runs"
grep -q "^source .* alpha$" "$work/out" || fail "summary: no /sources table"
"$py" - "$C" "$work/out" <<'PY' || fail "summary does not show the file"
import sys, h5py
f = h5py.File(sys.argv[1], "r")
out = open(sys.argv[2]).read().splitlines()
n = {t: len(f[t]) for t in ("images", "seds", "absorption", "spectra",
                            "spectra_channels", "sources")}
want = ("rows: images %(images)d, seds %(seds)d, absorption %(absorption)d, "
        "spectra %(spectra)d (%(spectra_channels)d channels), sources "
        "%(sources)d" % n)
assert want in out, "want %r in the summary" % want
head = [i for i, l in enumerate(out) if l.startswith("source ")][0]
lines = out[head + 1:]
src = f["sources"][:]
assert n["sources"] > 0 and len(lines) == len(src), (len(lines), len(src))
for r, l in zip(src, lines):
    w = l.split()
    got = (w[0], w[1], int(w[2]), int(w[3]), float(w[6]))
    exp = (r["source"].decode(), "B%d" % r["band"], int(r["n_images"]),
           int(r["n_epochs"]), float("%.4g" % r["flux_median_jy"]))
    assert got == exp, (l, exp)
    if r["pair_band"] > 0:
        assert w[9] == "%+.3f" % r["alpha"] and "to B%d" % r["pair_band"] in l, l
    else:
        assert w[9] == "-", l
print("summary: %d source/band lines equal to /sources" % len(src))
PY

# List: the filters against h5py's counts.
read -r n_all n_b3 src n_src n_src_b3 <<<"$("$py" - "$C" <<'PY'
import sys, h5py, collections
im = h5py.File(sys.argv[1], "r")["images"][:]
band = [b if b > 0 else 0 for b in im["band"]]
src = collections.Counter(s.decode() for s in im["source"]).most_common(1)[0][0]
n_src = sum(s.decode() == src for s in im["source"])
n_src_b3 = sum(s.decode() == src and b == 3 for s, b in zip(im["source"], band))
print(len(im), sum(b == 3 for b in band), src, n_src, n_src_b3)
PY
)"
[ "$n_all" -gt 0 ] || fail "no images"
list_rows() { expect 0 "${cat_[@]}" list "$C" "$@"; echo $(($(wc -l <"$work/out") - 1)); }
[ "$(list_rows)" = "$n_all" ] || fail "list: all rows"
[ "$(list_rows --band 3)" = "$n_b3" ] || fail "list --band 3"
[ "$(list_rows --band B3 --source "$src")" = "$n_src_b3" ] || fail "list --band B3 --source"
[ "$(list_rows --source "$(echo "${src:0:3}" | tr J j)*")" -ge "$n_src" ] || fail "list --source pattern"
[ "$(list_rows --source "$src")" = "$n_src" ] || fail "list --source"
[ "$(list_rows --since 2100-01-01)" = 0 ] || fail "list --since future"
[ "$(list_rows --since 40000)" = "$n_all" ] || fail "list --since MJD"
# --since at dates and a time of the images themselves: the first day, the
# last day, the day after, the last minute (counts from h5py).
"$py" - "$C" >"$work/since.txt" <<'PY'
import sys, h5py, math, datetime as dt
mjd = h5py.File(sys.argv[1], "r")["images"]["mjd"]
def civil(d):
    return dt.datetime(1858, 11, 17) + dt.timedelta(days=d)
lo, hi = math.floor(min(mjd)), math.floor(max(mjd))
for d in (lo, hi, hi + 1):
    print(civil(d).strftime("%Y-%m-%d"), sum(m >= d for m in mjd))
t = math.floor(max(mjd) * 1440) / 1440
if all(abs(m - t) > 1e-6 for m in mjd):
    print(civil(t).strftime("%Y-%m-%dT%H:%M"), sum(m >= t for m in mjd))
print(int(hi), sum(m >= hi for m in mjd))
PY
while read -r when n; do
    [ "$(list_rows --since "$when")" = "$n" ] || fail "list --since $when: want $n"
done <"$work/since.txt"
[ "$(wc -l <"$work/since.txt")" -ge 4 ] || fail "no --since cases"
[ "$(list_rows --limit 3)" = 3 ] || fail "list --limit"

# Verify: consistent; a tampered copy is not, with the reason.
expect 0 "${cat_[@]}" verify "$C"
grep -q "consistent" "$work/out" || fail "verify: no verdict"
cp "$C" "$work/tampered.h5"
"$py" - "$work/tampered.h5" <<'PY'
import sys, h5py
with h5py.File(sys.argv[1], "r+") as f:
    u = f["units"][0]
    u["n_images"] += 1
    f["units"][0] = u
PY
expect 5 "${cat_[@]}" verify "$work/tampered.h5"
grep -q "problem: /units .*: n_images .* but .* /images rows" "$work/out" ||
    fail "verify: reason not given"
expect 5 "${cat_[@]}" verify --quiet "$work/tampered.h5"
[ ! -s "$work/out" ] || fail "verify --quiet printed"

# Export every table; read it back three ways, identical to the file.
for t in units runs images seds absorption spectra spectra_channels sources; do
    expect 0 "${cat_[@]}" export "$C" --table "$t" -o "$work/$t.vot"
    expect 0 "${cat_[@]}" export "$C" --table "$t" --format csv -o "$work/$t.csv"
    expect 0 "${cat_[@]}" export "$C" --table "$t" --format csv
    cmp -s "$work/out" "$work/$t.csv" || fail "export to stdout differs"
    "$B/almasweep" votable "$work/$t.vot" --format json >"$work/$t.json" ||
        fail "our VOTable parser rejects the $t export"
    quick=--quick
    [ "$t" = images ] && quick= # the full h5py/astropy/pandas check once
    "$py" "$read_cat" "$C" $quick --table "$t" --votable "$work/$t.vot" \
        --ours "$work/$t.json" --csv "$work/$t.csv" ||
        fail "export of /$t does not read back identically"
done

# Merge: a sweep where one unit failed for good, and the clean one.
uid=$("$py" -c "import sys, h5py; print(h5py.File(sys.argv[1], 'r')['units']['id'][0].decode())" "$C")
echo "/dataPortal/ contains=$uid status=404" >"$work/faults"
kill -HUP "$ASW_SIM_PID"
sleep 0.3
st=0
sweep failing || st=$?
[ "$st" = 3 ] || fail "the failing sweep exited $st, want 3"
"$py" - "$work/failing.h5" "$uid" <<'PY' || exit 1
import sys, h5py
u = {i.decode(): s.decode() for i, s in
     zip(h5py.File(sys.argv[1], "r")["units"]["id"],
         h5py.File(sys.argv[1], "r")["units"]["status"])}
if u.get(sys.argv[2]) != "failed":
    sys.exit("FAIL: %s is %s in the failing sweep" % (sys.argv[2], u))
PY
for order in "failing clean" "clean failing"; do
    m=$work/merged-${order// /-}.h5
    # shellcheck disable=SC2086
    expect 0 "${cat_[@]}" merge "$m" $(for x in $order; do echo "$work/$x.h5"; done)
    expect 0 "${cat_[@]}" verify "$m"
    "$py" "$read_cat" "$m" --quick --same-as "$C" ||
        fail "merge ($order) is not the clean sweep"
    expect 0 "${cat_[@]}" summary "$m"
    grep -q "^runs: 2 " "$work/out" || fail "merge ($order): runs"
done
# Merging again changes nothing.
m=$work/merged-failing-clean.h5
for t in units images sources; do
    "${cat_[@]}" export "$m" --table "$t" --format csv >"$work/before-$t.csv"
done
expect 0 "${cat_[@]}" merge "$m" "$work/failing.h5" "$work/clean.h5"
for t in units images sources; do
    "${cat_[@]}" export "$m" --table "$t" --format csv | cmp -s - "$work/before-$t.csv" ||
        fail "a second merge changed /$t"
done
echo "catalogue CLI: help, summary, list ($n_all rows), verify, export of" \
    "8 tables read back identically, merge: ok"
