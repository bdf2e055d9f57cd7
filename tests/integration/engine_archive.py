#!/usr/bin/python3
"""Archives for the engine tests and benchmark, made from an asw-gen archive.

  engine_archive.py clone BASE OUT --copies K
      Every member OUS of BASE K times under new uids (the last part of
      the uid gets a suffix), files hard-linked: K times the units, the
      same images (the products backend measures them for real).

  engine_archive.py synth BASE OUT --sizes B1,B2,...
  engine_archive.py synth BASE OUT --bench N --total BYTES [--seed S]
      One products unit per size: a member OUS whose nested listing holds
      one calibrator image of that many bytes (a sparse file of zeros, for
      the cost-model stand-in of tests/bench/bench_engine.sh, which never
      reads it). --bench draws N heavy-tailed sizes (lognormal body with a
      Pareto tail) scaled to add up to BYTES. Writes OUT/units.json:
      [{"id": unit id, "bytes": size}] in archive order.

BASE's schema and one public 12-m obscore row serve as the template.
"""
import argparse
import json
import os
import random
import shutil
import sqlite3
import sys


def uid_forms(uid):
    """uid://A001/X1/X2 -> (uid://A001/X1/X2, uid___A001_X1_X2)"""
    return uid, uid.replace("uid://", "uid___").replace("/", "_")


def new_db(base, out):
    os.makedirs(os.path.join(out, "dataPortal"), exist_ok=True)
    dst = os.path.join(out, "archive.sqlite")
    if os.path.exists(dst):
        os.unlink(dst)
    shutil.copyfile(os.path.join(base, "archive.sqlite"), dst)
    return sqlite3.connect(dst)


def replace_all(row, pairs):
    out = []
    for v in row:
        if isinstance(v, str):
            for a, b in pairs:
                v = v.replace(a, b)
        out.append(v)
    return out


def clone(a):
    db = new_db(a.base, a.out)
    src = sqlite3.connect(os.path.join(a.base, "archive.sqlite"))
    mous = [r[0] for r in src.execute(
        "SELECT DISTINCT member_ous_uid FROM obscore ORDER BY member_ous_uid")]
    ocols = [r[1] for r in src.execute("PRAGMA table_info(obscore)")]
    for t in ("obscore", "datalink", "access"):
        db.execute("DELETE FROM " + t)
    portal = os.path.join(a.base, "dataPortal")
    linked = set()
    for k in range(a.copies):
        for uid in mous:
            long_, short = uid_forms(uid)
            suffix = "f%02x" % k
            pairs = [(long_, long_ + suffix), (short, short + suffix)]
            rows = src.execute("SELECT * FROM obscore WHERE member_ous_uid=?",
                               (uid,)).fetchall()
            for r in rows:
                db.execute("INSERT INTO obscore VALUES (%s)" %
                           ",".join("?" * len(ocols)), replace_all(r, pairs))
            # Its listing, and the nested listings of its tars.
            top = src.execute("SELECT * FROM datalink WHERE query_id=?",
                              (short,)).fetchall()
            queries = {short}
            for r in top:
                sd = r[4]
                if sd and sd.startswith("DataLink."):
                    queries.add(sd[len("DataLink."):])
            for q in sorted(queries):
                for r in src.execute("SELECT * FROM datalink WHERE query_id=?",
                                     (q,)):
                    nr = replace_all(r, pairs)
                    db.execute("INSERT INTO datalink VALUES (%s)" %
                               ",".join("?" * len(nr)), nr)
                    name = r[3]
                    if name and (name, k) not in linked:
                        linked.add((name, k))
                        new = replace_all([name], pairs)[0]
                        dst = os.path.join(a.out, "dataPortal", new)
                        if new != name or k == 0:
                            if not os.path.exists(dst) and os.path.exists(
                                    os.path.join(portal, name)):
                                os.link(os.path.join(portal, name), dst)
            for r in src.execute("SELECT * FROM access"):
                if short in r[0]:
                    db.execute("INSERT OR IGNORE INTO access VALUES (?,?)",
                               replace_all(r, pairs))
    db.commit()
    print("clone: %d member OUSs x %d" % (len(mous), a.copies))


def bench_sizes(n, total, seed):
    """Heavy-tailed sizes: 85% lognormal (sigma 0.8), 15% Pareto (alpha
    1.3) from 3x the median, the largest capped at 4% of the total."""
    rnd = random.Random(seed)
    raw = []
    for _ in range(n):
        if rnd.random() < 0.85:
            raw.append(rnd.lognormvariate(0, 0.8))
        else:
            raw.append(3 * rnd.paretovariate(1.3))
    for _ in range(20):
        s = sum(raw)
        cap = 0.04 * s
        raw = [min(x, cap) for x in raw]
    scale = total / sum(raw)
    return [max(4096, int(x * scale)) for x in raw]


def synth(a):
    db = new_db(a.base, a.out)
    tmpl = db.execute(
        "SELECT * FROM obscore WHERE data_rights='Public' AND "
        "antenna_arrays LIKE '%DA%' ORDER BY member_ous_uid LIMIT 1"
    ).fetchone()
    if tmpl is None:
        sys.exit("synth: no public 12-m row in " + a.base)
    ocols = [r[1] for r in db.execute("PRAGMA table_info(obscore)")]
    t_uid = tmpl[ocols.index("member_ous_uid")]
    t_long, t_short = uid_forms(t_uid)
    project = tmpl[ocols.index("proposal_id")]
    source = tmpl[ocols.index("target_name")]
    for t in ("obscore", "datalink", "access"):
        db.execute("DELETE FROM " + t)
    if a.sizes:
        sizes = [int(x) for x in a.sizes.split(",")]
    else:
        sizes = bench_sizes(a.bench, a.total, a.seed)
    units = []
    for i, size in enumerate(sizes):
        long_ = "uid://A001/X7e57/X%x" % (0x1000 + i)
        long_, short = uid_forms(long_)
        row = replace_all(tmpl, [(t_long, long_), (t_short, short)])
        db.execute("INSERT INTO obscore VALUES (%s)" %
                   ",".join("?" * len(ocols)), row)
        tar = "%s_%s_001_of_001.tar" % (project, short)
        image = "member.%s.%s_bp.spw25.mfs.I.pbcor.fits" % (short, source)
        ins = ("INSERT INTO datalink (query_id, seq, id, access_name, "
               "service_def, semantics, content_type, content_length, "
               "link_auth, readable) VALUES (?,?,?,?,?,?,?,?,?,?)")
        db.execute(ins, (short, 0, long_, tar, None, "#this",
                         "application/x-tar", size + 10240, "false", 1))
        db.execute(ins, (short, 1, long_, None, "DataLink." + tar, "#this",
                         "application/x-votable+xml;content=datalink", None,
                         None, None))
        db.execute(ins, (tar, 0, tar, image, None, "#this",
                         "application/octet-stream", size, "false", 1))
        path = os.path.join(a.out, "dataPortal", image)
        with open(path, "wb") as f:
            f.truncate(size)
        units.append({"id": short, "bytes": size})
    db.commit()
    json.dump(units, open(os.path.join(a.out, "units.json"), "w"), indent=0)
    tot = sum(sizes)
    print("synth: %d units, %d bytes, largest %d (%.1f%%), median %d" % (
        len(sizes), tot, max(sizes), 100.0 * max(sizes) / tot,
        sorted(sizes)[len(sizes) // 2]))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("clone")
    c.add_argument("base")
    c.add_argument("out")
    c.add_argument("--copies", type=int, default=3)
    s = sub.add_parser("synth")
    s.add_argument("base")
    s.add_argument("out")
    s.add_argument("--sizes")
    s.add_argument("--bench", type=int)
    s.add_argument("--total", type=float, default=1e9)
    s.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    if a.cmd == "clone":
        clone(a)
    else:
        if not a.sizes and not a.bench:
            sys.exit("synth: --sizes or --bench")
        synth(a)


if __name__ == "__main__":
    main()
