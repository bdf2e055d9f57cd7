#!/usr/bin/env bash
# The test suite in one command: install what is missing (Debian packages
# and the modular CASA virtual environment), build with -Werror, run every
# test (labels unit, mpi, casa, slurm, report), then build with ASan+UBSan
# and run the unit and mpi tests again. Idempotent; builds live in build/ and
# build-asan/, the CASA venv in build/casa-venv (kept between runs).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${ASW_BUILD_DIR:-$root/build}
asan=${ASW_ASAN_BUILD_DIR:-$root/build-asan}
jobs=$(nproc)

"$root/scripts/bootstrap.sh" --casa --venv "$build/casa-venv"
# The venv was just made: a missing CASA is a failure here, not a skip.
export ASW_REQUIRE_CASA=1
# Likewise munge and Slurm: the `slurm` tests start a single-node cluster,
# which needs root (as on CI); as another user they are skipped.
if [ "$(id -u)" = 0 ]; then export ASW_REQUIRE_SLURM=1; fi

cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DASW_WERROR=ON >/dev/null
cmake --build "$build"
(cd "$build" && ctest --output-on-failure -j "$jobs" -L 'unit|mpi|casa|slurm|report')

cmake -S "$root" -B "$asan" -G Ninja -DCMAKE_BUILD_TYPE=Debug \
    -DASW_WERROR=ON -DASW_SANITIZE=ON >/dev/null
cmake --build "$asan"
(cd "$asan" && ctest --output-on-failure -j "$jobs" -L 'unit|mpi')
