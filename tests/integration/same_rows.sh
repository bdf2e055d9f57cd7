#!/usr/bin/env bash
# The sweep under mpirun -n 3 and as one process give the same /images rows
# (dumped sorted by the sweep tests this one depends on).
set -euo pipefail
w=$ASW_BUILD_DIR/test-work
cmp "$w/sweep-np3/images.json" "$w/sweep-serial/images.json"
n=$(/usr/bin/python3 -c "import json,sys; print(len(json.load(open(sys.argv[1]))))" \
    "$w/sweep-np3/images.json")
[ "$n" -gt 0 ]
echo "identical /images rows: $n"
