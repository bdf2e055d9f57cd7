# Shared helpers of the scripts and integration tests (sourced, not run).

# Open MPI refuses to run as root unless told; tests and the demo run as
# root on CI machines.
asw_mpi_env() {
    if [ "$(id -u)" = 0 ]; then
        export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
    fi
    # No daemons or network probing beyond loopback on a single machine.
    export OMPI_MCA_btl_vader_single_copy_mechanism=none
    export OMPI_MCA_rmaps_base_oversubscribe=1
}

# asw_sim_start BUILD ROOT WORKDIR [extra args...]: start the archive
# simulator on a free port; sets ASW_SIM_PID and ASW_SIM_URL.
asw_sim_start() {
    local build=$1 root=$2 work=$3
    shift 3
    rm -f "$work/sim.port"
    "$build/tests/sim/asw-sim" --root "$root" --port 0 \
        --port-file "$work/sim.port" --log "$work/sim.log" "$@" \
        >"$work/sim.out" 2>&1 &
    ASW_SIM_PID=$!
    local i
    for i in $(seq 1 100); do
        [ -s "$work/sim.port" ] && break
        if ! kill -0 "$ASW_SIM_PID" 2>/dev/null; then
            echo "archive simulator failed to start:" >&2
            cat "$work/sim.out" >&2
            return 1
        fi
        sleep 0.1
    done
    [ -s "$work/sim.port" ] || { echo "simulator: no port file" >&2; return 1; }
    ASW_SIM_URL="http://127.0.0.1:$(cat "$work/sim.port")"
    export ASW_SIM_URL ASW_SIM_PID
}

asw_sim_stop() {
    if [ -n "${ASW_SIM_PID:-}" ]; then
        kill "$ASW_SIM_PID" 2>/dev/null || true
        wait "$ASW_SIM_PID" 2>/dev/null || true
        ASW_SIM_PID=
    fi
}

# asw_test_archive BUILD: the small synthetic archive shared by the
# integration tests, generated once per build even when tests run in
# parallel (mkdir is atomic). Prints its directory.
asw_test_archive() {
    local build=$1
    local gen=$build/test-work/archive-small
    # The archive is keyed by the generator binary: a rebuilt generator
    # (new tables, new truth) regenerates it.
    local key
    key=$(cksum <"$build/tests/gen/asw-gen" | cut -d' ' -f1)
    mkdir -p "$build/test-work"
    if [ "$(cat "$gen/.done" 2>/dev/null)" != "$key" ]; then
        if mkdir "$gen.lock" 2>/dev/null; then
            rm -rf "$gen"
            "$build/tests/gen/asw-gen" --out "$gen" --preset small --seed 7 \
                --min-snr 100 >&2
            echo "$key" >"$gen/.done"
            rmdir "$gen.lock"
        else
            local i
            for i in $(seq 1 600); do
                [ "$(cat "$gen/.done" 2>/dev/null)" = "$key" ] && break
                sleep 0.1
            done
        fi
    fi
    [ "$(cat "$gen/.done" 2>/dev/null)" = "$key" ] ||
        { echo "no test archive" >&2; return 1; }
    echo "$gen"
}
