#!/usr/bin/env bash
# `almasweep votable` on the real DataLink answer: 9 rows, content_length
# exact above 2^31, readable as JSON booleans.
set -euo pipefail
fx=$ASW_SHARED_DIR/fixtures/alma-archive/alma-datalink.xml
"$ASW_BUILD_DIR/almasweep" votable "$fx" --format json >"$ASW_BUILD_DIR/vot.json"
/usr/bin/python3 - "$fx" "$ASW_BUILD_DIR/vot.json" <<'PY'
import json, re, sys
xml = open(sys.argv[1]).read()
rows = json.load(open(sys.argv[2]))
assert len(rows) == 9, len(rows)
# The sizes as written in the file, in order, for rows that have one.
sizes = [int(s) for s in re.findall(r"<TD>(\d{4,})</TD>", xml)]
got = [r["content_length"] for r in rows if r["content_length"] is not None]
assert got == sizes, (got, sizes)
assert any(s > 2**31 for s in got)
assert all(type(r["content_length"]) is int for r in rows
           if r["content_length"] is not None)
assert all(r["readable"] in (True, None) for r in rows), rows
assert sum(r["readable"] is True for r in rows) == len(got)
print("ok: 9 rows, sizes", got)
PY
