#!/usr/bin/python3
"""The measuring half of bench_download.sh (see there for the setup).

For each scenario it starts the archive simulator, runs every tool
BENCH_REPEAT times, interleaved and in a different (seeded) order each
round, so that a noisy neighbour or a slow moment hurts all tools alike,
and prints a Markdown table: median and best wall time, rate and ratios
(of the medians) within the run, and CPU seconds per GB of the client
(getrusage of the child) and of the simulator (its /proc/<pid>/stat).
Before each run the previous output is removed, `sync` runs and a short
pause follows (untimed), so that no run pays for another's writeback;
the source file stays in the page cache. Every download is checked (size,
then cmp) and every extraction (the bytes of the extracted files).
"""
import argparse
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tarfile
import time

REQUESTS_LOOP = r"""
import sys, requests
url, out = sys.argv[1], sys.argv[2]
with requests.get(url, stream=True) as r:
    r.raise_for_status()
    with open(out, "wb") as f:
        for chunk in r.iter_content(chunk_size=1024):
            f.write(chunk)
"""

TICK = os.sysconf("SC_CLK_TCK")


def env_without_proxies():
    env = dict(os.environ)
    for k in list(env):
        if k.lower() in ("http_proxy", "https_proxy", "all_proxy"):
            del env[k]
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    return env


ENV = env_without_proxies()


class Sim:
    def __init__(self, build, root, work, faults):
        self.work = work
        port_file = os.path.join(work, "sim.port")
        if os.path.exists(port_file):
            os.unlink(port_file)
        cmd = [os.path.join(build, "tests/sim/asw-sim"), "--root", root,
               "--port", "0", "--port-file", port_file,
               "--log", os.path.join(work, "sim.log"), "--exit-with-parent"]
        if faults:
            path = os.path.join(work, "faults")
            with open(path, "w") as f:
                f.write(faults + "\n")
            cmd += ["--faults", path]
        self.p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        for _ in range(200):
            if os.path.exists(port_file) and os.path.getsize(port_file):
                break
            time.sleep(0.05)
        with open(port_file) as f:
            self.url = "http://127.0.0.1:%s" % f.read().strip()

    def cpu_s(self):
        with open("/proc/%d/stat" % self.p.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICK

    def stop(self):
        self.p.terminate()
        self.p.wait()


def timed(cmd):
    """Wall seconds, CPU seconds of the child(ren), exit code."""
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    p = subprocess.run(cmd, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, env=ENV)
    t1 = time.monotonic()
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    if p.returncode:
        sys.stderr.write(p.stderr.decode(errors="replace")[-2000:])
    return t1 - t0, cpu, p.returncode


def clean(out):
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    subprocess.run(["sync"])
    time.sleep(0.5)


def tree_bytes(d):
    n = 0
    for base, _, files in os.walk(d):
        for name in files:
            n += os.lstat(os.path.join(base, name)).st_size
    return n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--root", required=True)
    ap.add_argument("--file", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--cap-repeat", type=int, default=1)
    ap.add_argument("--segments", type=int, default=8)
    ap.add_argument("--scenarios", default="uncapped capped")
    ap.add_argument("--only", default="",
                    help="comma-separated substrings: run only the tools "
                    "whose name holds one (default: all)")
    a = ap.parse_args()

    size = os.path.getsize(a.file)
    with tarfile.open(a.file) as t:
        member_bytes = sum(m.size for m in t.getmembers() if m.isfile())
    asw = os.path.join(a.build, "almasweep")
    out = a.out
    work = os.path.dirname(out.rstrip("/"))
    have = {t: shutil.which(t) for t in ("curl", "wget", "aria2c")}
    have_requests = subprocess.run(
        ["/usr/bin/python3", "-c", "import requests"],
        capture_output=True).returncode == 0
    # warm the page cache with the source
    subprocess.run(["cat", a.file], stdout=subprocess.DEVNULL)
    n = str(a.segments)

    def tools(url):
        f = os.path.join(out, "f.tar")
        x = os.path.join(out, "x")
        t = [
            ("cat (page cache, the limit)", "local",
             ["cat", a.file], None),
            ("cp on the scratch disk", "local",
             ["cp", a.file, f], f),
            ("almasweep fetch, 1 segment", "dl",
             [asw, "fetch", "-q", "-s", "1", "-d", out, url], None),
            ("almasweep fetch, %s segments" % n, "dl",
             [asw, "fetch", "-q", "-s", n, "-d", out, url], None),
        ]
        if have["curl"]:
            t.append(("curl", "dl", ["curl", "-s", "-o", f, url], f))
            # What one loopback connection delivers with no file to
            # write: the floor of any single-stream client.
            t.append(("curl -o /dev/null (receive only)", "floor",
                      ["curl", "-s", "-o", "/dev/null", url], None))
        if have["wget"]:
            t.append(("wget", "dl", ["wget", "-q", "-O", f, url], f))
        if have["aria2c"]:
            base = ["aria2c", "-q", "-d", out, "-o", "f.tar",
                    "--allow-overwrite=true", "--auto-file-renaming=false"]
            t.append(("aria2c -x8", "dl", base[:1] + ["-x8"] + base[1:] +
                      [url], f))
            t.append(("aria2c -x8 -s8", "dl", base[:1] + ["-x8", "-s8"] +
                      base[1:] + [url], f))
        if have_requests:
            t.append(("requests, 1 KiB chunks (almaqso)", "dl",
                      ["/usr/bin/python3", "-c", REQUESTS_LOOP, url, f], f))
        t += [
            ("tar xf of the local file", "x",
             ["tar", "xf", a.file, "-C", out], None),
            ("fetch -s 1 --extract (after)", "x",
             [asw, "fetch", "-q", "-s", "1", "--extract", "-d", out, url],
             None),
            ("fetch -s 1 --extract-during", "x",
             [asw, "fetch", "-q", "-s", "1", "--extract-during", "-d", out,
              url], None),
            ("fetch -s %s --extract (after)" % n, "x",
             [asw, "fetch", "-q", "-s", n, "--extract", "-d", out, url],
             None),
            ("fetch -s %s --extract-during" % n, "x",
             [asw, "fetch", "-q", "-s", n, "--extract-during", "-d", out,
              url], None),
        ]
        return t

    print("# almasweep download benchmark, %s" % time.strftime(
        "%Y-%m-%d %H:%M:%S"))
    print("file: %d bytes (%.2f GB), %s; %d CPUs; load %s" % (
        size, size / 1e9, os.path.basename(a.file), os.cpu_count(),
        open("/proc/loadavg").read().split()[0]))
    for scenario in a.scenarios.split():
        capped = scenario == "capped"
        faults = ("/dataPortal/ rate_bps=50000000 latency_ms=20"
                  if capped else None)
        sim = Sim(a.build, a.root, work, faults)
        url = sim.url + "/dataPortal/" + os.path.basename(a.file)
        reps = a.cap_repeat if capped else a.repeat
        rows = tools(url)
        if a.only:
            keep = [k.strip() for k in a.only.split(",") if k.strip()]
            rows = [r for r in rows if any(k in r[0] for k in keep)]
        if capped:  # cat, cp and tar do not touch the network
            rows = [r for r in rows if r[1] != "local" and
                    not r[0].startswith("tar ")]
        res = {r[0]: [] for r in rows}
        rng = random.Random(4)
        for rep in range(reps):
            order = list(rows)
            if rep:
                rng.shuffle(order)
            for name, kind, cmd, outfile in order:
                clean(out)
                s0 = sim.cpu_s()
                wall, cpu, rc = timed(cmd)
                scpu = sim.cpu_s() - s0
                ok = rc == 0
                if ok and kind == "dl":
                    got = outfile or os.path.join(out, "bench.tar")
                    ok = (os.path.getsize(got) == size and
                          subprocess.run(["cmp", "-s", got, a.file])
                          .returncode == 0)
                elif ok and kind == "x":
                    ok = tree_bytes(out) == member_bytes
                res[name].append((wall, cpu, scpu, ok))
                print("  [%s %d/%d] %-36s %7.2f s  cpu %6.2f s  sim %6.2f s"
                      "%s" % (scenario, rep + 1, reps, name, wall, cpu, scpu,
                              "" if ok else "  FAILED"),
                      file=sys.stderr, flush=True)
        sim.stop()
        clean(out)

        def med(name, i):
            v = [r[i] for r in res[name] if r[3]]
            return statistics.median(v) if v else float("nan")

        ref = "aria2c -x8" if capped else "cp on the scratch disk"
        ref_t = med(ref, 0) if ref in res else float("nan")
        gb = size / 1e9
        print()
        print("## %s%s" % (scenario, " (50 MB/s per connection, 20 ms "
                           "before each response)" if capped else
                           " (loopback)"))
        print()
        print("| tool | wall s, median | best | MB/s | x %s | client CPU "
              "s/GB | sim CPU s/GB | runs (s) |" % ref)
        print("|---|---|---|---|---|---|---|---|")
        for name, kind, _, _ in rows:
            w = med(name, 0)
            ok = [r[0] for r in res[name] if r[3]]
            best = min(ok) if ok else float("nan")
            runs = " ".join("%.2f%s" % (r[0], "" if r[3] else "!")
                            for r in res[name])
            print("| %s | %.2f | %.2f | %.0f | %.2f | %.2f | %.2f | %s |" % (
                name, w, best, size / 1e6 / w, w / ref_t, med(name, 1) / gb,
                med(name, 2) / gb, runs))
        print()
        sys.stdout.flush()


if __name__ == "__main__":
    main()
