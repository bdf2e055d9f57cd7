# Helpers of the fetch_*.sh acceptance tests (sourced, not run).
# A private simulator root per test: ROOT/dataPortal/<files> and an
# archive.sqlite holding the tables of docs/sim-archive-layout.md (empty:
# only /dataPortal is used, and without rows in `access` every file is
# public).

. "$ASW_SOURCE_DIR/scripts/lib.sh"

ASW=$ASW_BUILD_DIR/almasweep

# fetch_root DIR: make DIR a simulator root with an empty database.
fetch_root() {
    mkdir -p "$1/dataPortal"
    /usr/bin/python3 - "$1/archive.sqlite" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.executescript("""
CREATE TABLE IF NOT EXISTS access(name TEXT PRIMARY KEY, data_rights TEXT);
CREATE TABLE IF NOT EXISTS datalink(query_id TEXT, seq INTEGER, id TEXT,
  access_name TEXT, service_def TEXT, error_message TEXT, semantics TEXT,
  local_semantics TEXT, description TEXT, content_type TEXT,
  content_length INTEGER, content_qualifier TEXT, link_auth TEXT,
  readable INTEGER);
CREATE TABLE IF NOT EXISTS obscore(obs_id TEXT, member_ous_uid TEXT);
""")
db.commit()
PY
}

# fetch_random FILE BYTES: BYTES of random data.
fetch_random() {
    head -c "$2" /dev/urandom >"$1"
}

# sim_log_count PATTERN: lines of the simulator's request log matching.
sim_log_count() {
    grep -c -- "$1" "$work/sim.log" || true
}

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# expect_exit CODE CMD...: run CMD, its stderr to $work/err, and check
# its exit code.
expect_exit() {
    local want=$1 rc=0
    shift
    "$@" 2>"$work/err" || rc=$?
    if [ "$rc" != "$want" ]; then
        cat "$work/err" >&2
        fail "exit code $rc, expected $want: $*"
    fi
}

err_has() {
    grep -q -- "$1" "$work/err" || {
        cat "$work/err" >&2
        fail "stderr lacks '$1'"
    }
}

same_sha() {
    local a b
    a=$(sha256sum <"$1" | cut -d' ' -f1)
    b=$(sha256sum <"$2" | cut -d' ' -f1)
    [ "$a" = "$b" ] || fail "SHA-256 of $2 differs from $1"
}
