#!/bin/sh
# Runs one CASA test script with the CASA venv's python.
#   run_casa_test.sh PYTHON SCRIPT [ARGS...]
# If PYTHON is missing the test is skipped (exit 77, ctest SKIP_RETURN_CODE)
# unless ASW_REQUIRE_CASA=1, when it fails. Checked at run time, so a venv
# made after cmake configured the tree is picked up.
py="$1"; shift
if [ ! -x "$py" ]; then
  msg="CASA venv python not found: $py (create it with: scripts/bootstrap.sh --casa --venv <build>/casa-venv, or set -DASW_CASA_PYTHON=...)"
  if [ "${ASW_REQUIRE_CASA:-0}" = 1 ]; then
    echo "FAIL: $msg (ASW_REQUIRE_CASA=1)"
    exit 1
  fi
  echo "SKIP: $msg"
  exit 77
fi
# Nothing from the caller's Python setup may leak into the venv.
unset PYTHONPATH PYTHONHOME PYTHONSTARTUP
exec "$py" -u "$@"
