#!/bin/sh
# Reduction benchmark (issue 5, docs/benchmarks.md): `almasweep reduce` on a
# 512 x 512 x 2000-channel float32 cube (2.1 GB) and a 4096 x 4096 image
# (67 MB), timed side by side in one run against `cat FILE > /dev/null`
# from the page cache and against the astropy + scipy reference
# (tests/reduce/reference.py, Debian's /usr/bin/python3).
#
#   tests/bench/bench_reduce.sh [BUILD_DIR [WORK_DIR]]
#
# Criteria: almasweep <= 3 x cat, reference >= 5 x almasweep (medians of
# repeated runs; exit 1 if one fails). The files are generated once by
# asw-reduce-synth into WORK_DIR (default BUILD_DIR/bench-work).
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-${ASW_BUILD_DIR:-$root/build}}
work=${2:-$build/bench-work}
synth=$build/tests/reduce/asw-reduce-synth
asw=$build/almasweep
for f in "$synth" "$asw"; do
    [ -x "$f" ] || { echo "missing $f: build first" >&2; exit 2; }
done
mkdir -p "$work"
if [ ! -f "$work/img4096.fits" ]; then
    "$synth" image "$work/img4096.fits" --npix 4096
fi
if [ ! -f "$work/cube512.fits" ]; then
    "$synth" cube "$work/cube512.fits" --nx 512 --ny 512 --nchan 2000 \
        --line 700,6,0.8 --line 1300,3,0.3
fi
exec /usr/bin/python3 - "$asw" "$root/tests/reduce/reference.py" \
    "$work/img4096.fits" "$work/cube512.fits" <<'EOF'
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

asw, ref = sys.argv[1], sys.argv[2]
files = sys.argv[3:]


def warm(path):
    with open(path, "rb", buffering=0) as f:
        while f.read(1 << 24):
            pass


def timed(cmd):
    """Wall time, CPU time (user + system) and peak RSS (kB) of one run,
    output discarded."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
    _, status, ru = os.wait4(p.pid, 0)
    dt = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit("failed: %s" % " ".join(cmd))
    return dt, ru.ru_utime + ru.ru_stime, ru.ru_maxrss


def series(cmd, n):
    runs = [timed(cmd) for _ in range(n)]
    t = [r[0] for r in runs]
    return (statistics.median(t), min(t), max(r[2] for r in runs),
            statistics.median(r[1] for r in runs))


ok = True
print("wall-clock medians (min); CPU = user + system, median")
print("%-12s %6s | %13s %5s | %13s %5s %6s | %13s %5s | %7s %7s | %7s %7s" % (
    "file", "MB", "cat s (min)", "CPU", "almasweep", "CPU", "RSS MB",
    "reference", "CPU", "asw/cat", "ref/asw", "CPU a/c", "CPU r/a"))
for path in files:
    size = os.path.getsize(path)
    cube = size > 1e9
    for _ in range(2):
        warm(path)
    nc, na, nr = (5, 5, 3) if cube else (15, 15, 3)
    cat = series(["cat", path], nc)
    alm = series([asw, "reduce", path], na)
    rts, rcpu, inproc = [], [], []
    for _ in range(nr):
        with tempfile.NamedTemporaryFile(suffix=".json") as tf:
            w, c, _ = timed(["/usr/bin/python3", ref, path, "--json",
                             tf.name])
            rts.append(w)
            rcpu.append(c)
            inproc.append(json.load(open(tf.name))["seconds"])
    rmed, rc = statistics.median(rts), statistics.median(rcpu)
    r1, r2 = alm[0] / cat[0], rmed / alm[0]
    print("%-12s %6.0f | %5.3f (%5.3f) %5.3f | %5.3f (%5.3f) %5.3f %6.1f | "
          "%5.3f (%5.3f) %5.2f | %7.2f %7.1f | %7.2f %7.1f" % (
              os.path.basename(path), size / 2**20, cat[0], cat[1], cat[3],
              alm[0], alm[1], alm[3], alm[2] / 1024, rmed, min(rts), rc,
              r1, r2, alm[3] / cat[3], rc / alm[3]))
    print("             reference in-process (after imports): %.3f s" %
          statistics.median(inproc))
    if r1 > 3.0:
        print("  FAIL: almasweep takes %.2f x cat (limit 3)" % r1)
        ok = False
    if r2 < 5.0:
        print("  FAIL: the reference is only %.2f x slower (limit 5)" % r2)
        ok = False
print("load average: %.1f %.1f %.1f on %d cores" % (
    *os.getloadavg(), os.cpu_count()))
print("PASS" if ok else "FAIL")
sys.exit(0 if ok else 1)
EOF
