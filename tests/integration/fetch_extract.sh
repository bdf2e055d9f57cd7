#!/usr/bin/env bash
# Acceptance (issue 4): `almasweep fetch --extract` and `--extract-during`
# against the archive simulator. A good ALMA product tar lands in the
# destination in its project/science_goal/group/member/area layout; tars
# with "../x", "/abs/x" and a symlink pointing outside fail with a clear
# error naming the entry, nothing is written outside the destination, and
# what the extraction wrote before the bad entry is removed again.
set -euo pipefail
: "${ASW_BUILD_DIR:?}" "${ASW_SOURCE_DIR:?}"
. "$ASW_SOURCE_DIR/tests/integration/fetch_lib.sh"
work=$ASW_BUILD_DIR/test-work/fetch-extract
rm -rf "$work"
mkdir -p "$work/outside"
trap asw_sim_stop EXIT

root=$work/root
fetch_root "$root"
/usr/bin/python3 - "$root/dataPortal" "$work/outside" <<'PY'
import io, os, sys, tarfile
portal, outside = sys.argv[1], sys.argv[2]
mous = ("2017.1.01185.S/science_goal.uid___A001_X1284_X265c/"
        "group.uid___A001_X1284_X265d/member.uid___A001_X1284_X265e")

def tar(name, entries):
    with tarfile.open(os.path.join(portal, name), "w",
                      format=tarfile.PAX_FORMAT) as t:
        for path, kind, payload in entries:
            ti = tarfile.TarInfo(path)
            ti.mtime = 1500000000
            if kind == "dir":
                ti.type = tarfile.DIRTYPE
                ti.mode = 0o755
                t.addfile(ti)
            elif kind == "sym":
                ti.type = tarfile.SYMTYPE
                ti.linkname = payload
                t.addfile(ti)
            else:
                ti.size = len(payload)
                ti.mode = 0o644
                t.addfile(ti, io.BytesIO(payload))

fits = os.urandom(300000)
tar("good.tar", [
    (mous + "/", "dir", None),
    (mous + "/README", "file", b"readme\n"),
    (mous + "/product/member.uid___A001_X1284_X265e.J1924-2914_bp.spw16"
            ".mfs.I.pbcor.fits", "file", fits),
    (mous + "/product/member.uid___A001_X1284_X265e.J1924-2914_bp.spw16"
            ".mfs.I.pb.fits.gz", "file", fits[:1000]),
    (mous + "/calibration/flux.csv", "file", b"field,flux\n"),
    (mous + "/script/scriptForPI.py", "file", b"print(1)\n"),
])
first = (mous + "/README", "file", b"readme\n")
tar("dotdot.tar", [first, ("../escape.txt", "file", b"x")])
tar("abs.tar", [first, (os.path.join(outside, "abs_escape.txt"), "file",
                        b"x")])
tar("symlink.tar", [first, ("link", "sym", "../../outside"),
                    ("link/escape.txt", "file", b"x")])
PY
asw_sim_start "$ASW_BUILD_DIR" "$root" "$work" --exit-with-parent
mous=2017.1.01185.S/science_goal.uid___A001_X1284_X265c/group.uid___A001_X1284_X265d/member.uid___A001_X1284_X265e

nothing_outside() {
    [ -z "$(ls -A "$work/outside")" ] || fail "$1: wrote $(ls -A "$work/outside")"
    [ ! -e "$work/escape.txt" ] && [ ! -e "$work/dest/escape.txt" ] ||
        fail "$1: escape.txt written outside"
    # The destination holds only the downloaded tar (kept for inspection):
    # the entries extracted before the bad one were removed.
    local left
    left=$(cd "$2" && find . -mindepth 1 ! -name "$3" | sort | tr '\n' ' ')
    [ -z "$left" ] || fail "$1: left in the destination: $left"
}

for mode in --extract --extract-during; do
    echo "--- good $mode"
    dest=$work/dest/good$mode
    expect_exit 0 "$ASW" fetch -q $mode -s 1 -d "$dest" \
        "$ASW_SIM_URL/dataPortal/good.tar"
    cmp "$dest/$mous/product/member.uid___A001_X1284_X265e.J1924-2914_bp.spw16.mfs.I.pbcor.fits" \
        <(cd "$root/dataPortal" && tar xOf good.tar \
            "$mous/product/member.uid___A001_X1284_X265e.J1924-2914_bp.spw16.mfs.I.pbcor.fits") ||
        fail "good: product differs"
    [ -f "$dest/$mous/calibration/flux.csv" ] || fail "good: no flux.csv"
    [ ! -e "$dest/good.tar" ] || fail "good: the tar was not removed"
    err_has "extracted 6 entries (301027 bytes)"
    err_has "files by area: member 1 product 2 calibration 1 script 1"

    for t in dotdot abs symlink; do
        echo "--- $t $mode"
        dest=$work/dest/$t$mode
        expect_exit 3 "$ASW" fetch -q $mode -s 1 -d "$dest" \
            "$ASW_SIM_URL/dataPortal/$t.tar"
        err_has "$t.tar: failed: untar:EARCHIVE:"
        case $t in
        dotdot) err_has '"../escape.txt": ".." component refused' ;;
        abs) err_has "abs_escape.txt\": absolute path refused" ;;
        symlink) err_has '"link": symlink target "../../outside" points outside' ;;
        esac
        nothing_outside "$t$mode" "$dest" "$t.tar*"
    done
done

# Several URLs in one command, long options: a bad tar fails on its own,
# the good one after it is still fetched and extracted; exit code 3.
echo "--- two URLs"
dest=$work/dest/two
expect_exit 3 "$ASW" fetch -q --extract --segments 2 --dest "$dest" \
    "$ASW_SIM_URL/dataPortal/dotdot.tar" "$ASW_SIM_URL/dataPortal/good.tar"
err_has "dotdot.tar: failed: untar:EARCHIVE:"
err_has "good.tar: extracted 6 entries (301027 bytes)"
[ -f "$dest/$mous/calibration/flux.csv" ] || fail "two: good.tar not extracted"
[ ! -e "$work/escape.txt" ] && [ ! -e "$work/dest/escape.txt" ] ||
    fail "two: escape.txt written outside"

# --keep-tar keeps the tar next to what it held.
dest=$work/dest/keep
expect_exit 0 "$ASW" fetch -q --extract --keep-tar -d "$dest" \
    "$ASW_SIM_URL/dataPortal/good.tar"
cmp "$dest/good.tar" "$root/dataPortal/good.tar" || fail "keep: tar differs"
echo "fetch extract: all cases passed"
