#!/usr/bin/env bash
# The demo sweep on an already built tree: generate the demo archive, serve
# it with the simulator, run the sweep under mpirun, summarise, and end with
# "catalogue: <path>". usage: demo-run.sh [BUILD_DIR] (default build/)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-${ASW_BUILD_DIR:-$root/build}}
ranks=${ASW_DEMO_RANKS:-3}
. "$root/scripts/lib.sh"

demo=$build/demo
mkdir -p "$demo"
rm -rf "$demo/archive" "$demo/scratch" "$demo/demo.h5"
# Calibrators at S/N >= 100, so that 5% on the peak is a 5-sigma bound.
"$build/tests/gen/asw-gen" --out "$demo/archive" --preset demo --seed 1 \
    --min-snr 100

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
