#!/usr/bin/env bash
# The demo in one command: install what is missing, build, generate the
# synthetic archive, serve it with the archive simulator, run the sweep
# under mpirun with 3 ranks, and print the catalogue's path last.
# Idempotent: rerunning rebuilds incrementally and redoes the sweep.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${ASW_BUILD_DIR:-$root/build}
ranks=${ASW_DEMO_RANKS:-3}
. "$root/scripts/lib.sh"

"$root/scripts/bootstrap.sh"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build"

demo=$build/demo
mkdir -p "$demo"
rm -rf "$demo/archive" "$demo/scratch" "$demo/demo.h5"
"$build/tests/gen/asw-gen" --out "$demo/archive" --preset demo --seed 1

trap asw_sim_stop EXIT
asw_sim_start "$build" "$demo/archive" "$demo"
echo "archive simulator at $ASW_SIM_URL (log: $demo/sim.log)"

asw_mpi_env
export ASW_DEMO_MIRROR=$ASW_SIM_URL ASW_DEMO_DIR=$demo
"$build/almasweep" query --config "$root/cluster/examples/demo.ini"
mpirun -n "$ranks" --oversubscribe "$build/almasweep" run \
    --config "$root/cluster/examples/demo.ini"
"$build/almasweep" catalogue summary "$demo/demo.h5"
echo "catalogue: $demo/demo.h5"
