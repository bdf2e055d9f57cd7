#!/usr/bin/env bash
# The demo in one command: install what is missing, build, then run the
# demo sweep (scripts/demo-run.sh): a synthetic archive served by the
# archive simulator, swept under mpirun with 3 ranks. The last line of
# output is "catalogue: <path>". Idempotent: rerunning rebuilds
# incrementally and redoes the sweep from scratch.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${ASW_BUILD_DIR:-$root/build}

"$root/scripts/bootstrap.sh"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build"
exec "$root/scripts/demo-run.sh" "$build"
