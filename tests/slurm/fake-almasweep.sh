#!/usr/bin/env bash
# A stand-in for the almasweep binary, for testing the batch scripts'
# signal forwarding and requeue (tests/slurm/test_slurm.sh requeue).
# `run` writes ASW_FAKE_DIR/running.<rank> and waits for SIGUSR1, SIGTERM
# or SIGINT, then records the signal and exits 4 (interrupted), as
# almasweep does; once ASW_FAKE_DIR/stopped.0 exists (a rerun), `run`
# exits 0 at once. Gives up after 120 s (exit 9).
set -u
case "${1:-}" in
--version) echo "almasweep 0.0.0-fake"; exit 0 ;;
run) ;;
*) echo "fake-almasweep: unexpected arguments: $*" >&2; exit 1 ;;
esac
: "${ASW_FAKE_DIR:?}"
rank=${OMPI_COMM_WORLD_RANK:-${PMIX_RANK:-${SLURM_PROCID:-0}}}
if [ -e "$ASW_FAKE_DIR/stopped.0" ]; then
    echo "rerun $rank" >>"$ASW_FAKE_DIR/rerun.$rank"
    exit 0
fi
got=
trap 'got=USR1' USR1
trap 'got=TERM' TERM
trap 'got=INT' INT
echo "$$ $*" >"$ASW_FAKE_DIR/running.$rank"
for _ in $(seq 1 1200); do
    if [ -n "$got" ]; then
        echo "$got" >"$ASW_FAKE_DIR/stopped.$rank"
        exit 4
    fi
    sleep 0.1
done
exit 9
