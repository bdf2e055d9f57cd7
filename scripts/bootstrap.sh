#!/usr/bin/env bash
# scripts/bootstrap.sh - install what almasweep needs to build, test and
# (optionally) run real CASA. Idempotent: a second run changes nothing.
#
#   scripts/bootstrap.sh                 Debian build/test packages only
#   scripts/bootstrap.sh --casa          ... plus the modular-CASA venv
#   scripts/bootstrap.sh --check [--casa] report what is missing, exit 1 if any
#
# Options
#   --casa          also create/refresh the CASA venv (same as ASW_WITH_CASA=1)
#   --venv DIR      where the venv lives (default: $ASW_VENV, else
#                   <repo>/build/casa-venv; keep it under a git-ignored build*/)
#   --python EXE    base interpreter for the venv (default: $ASW_CASA_BASE_PYTHON,
#                   else /usr/bin/python3, i.e. Debian's 3.11, never pyenv)
#   --recreate      delete and rebuild the venv even if its stamp matches
#   --no-constraints  do not hold CASA's dependencies (numpy, ...) at the
#                   tested versions (ASW_CASA_CONSTRAINTS=0)
#   --no-apt        never call apt-get (fail if a Debian package is missing)
#   --check         only report; installs nothing
#   -h, --help      this text
#
# The CASA venv gets a site config (casasiteconfig.py in its site-packages)
# that makes CASA run offline; see docs/casa.md.
set -euo pipefail

ASW_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

DEB_PACKAGES=(
  build-essential cmake ninja-build pkg-config
  libopenmpi-dev openmpi-bin libhdf5-dev hdf5-tools
  libcurl4-openssl-dev libarchive-dev libcfitsio-dev libexpat1-dev
  libjansson-dev libinih-dev libsqlite3-dev libmicrohttpd-dev libgsl-dev
  libcmocka-dev clang clang-format
  python3-venv python3-h5py python3-numpy python3-astropy python3-scipy python3-pandas
  curl sqlite3 ca-certificates
  # the single-node Slurm of the `slurm` tests (scripts/slurm-local.sh)
  munge slurmctld slurmd slurm-client
  # `almasweep report` draws with cairo; the `report` test loads the page
  # in headless Chromium
  libcairo2-dev fonts-dejavu-core chromium
)

# Pinned modular CASA. casaconfig is pinned too: it is the code that reads
# our site config, so its semantics must not drift under us. six is imported
# by casatasks 6.7.0.31 (task_plotbandpass) but not declared by its wheel, so
# `import casatasks` fails without it.
CASA_PINS=(
  casatools==6.7.0.31 casatasks==6.7.0.31 casashell==6.7.0.31
  almatasks==0.0.0.3 casadata==2025.9.22 casaconfig==1.5.2 six==1.17.0
)
# Versions of everything else in the venv, as resolved and tested here
# (Debian 12, Python 3.11, x86_64) with the pins above: a later numpy or
# matplotlib cannot break CASA behind our back. --no-constraints drops them
# (e.g. for another base Python, where these may not resolve).
CASA_CONSTRAINTS=(
  asttokens==3.0.2 certifi==2026.10.18 contourpy==1.3.3 cycler==0.12.1
  executing==2.3.0 fonttools==4.68.0 ipython==9.18.1
  ipython_pygments_lexers==1.1.1 jedi==0.20.1 kiwisolver==1.5.1
  matplotlib==3.11.2 matplotlib-inline==0.2.2 numpy==2.4.6 packaging==26.3
  parso==0.8.7 pexpect==4.9.0 pillow==13.0.0 prompt_toolkit==3.0.53
  psutil==7.2.2 ptyprocess==0.7.0 pure_eval==0.2.4 pyerfa==2.0.1.5
  Pygments==2.21.0 pyparsing==3.3.3 python-dateutil==4.0.0 scipy==1.17.1
  stack-data==0.6.3 traitlets==5.16.1 typing_extensions==4.16.0
  tzdata==2026.6 wcwidth==0.9.4
)
# Bump when the generated site config changes, so old venvs are refreshed.
SITECONFIG_REV=1
STAMP_NAME=.almasweep-casa-stamp

usage() { awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "${BASH_SOURCE[0]}"; }
log() { printf 'bootstrap: %s\n' "$*" >&2; }
die() { printf 'bootstrap: error: %s\n' "$*" >&2; exit 2; }

want_casa=0
case "${ASW_WITH_CASA:-0}" in 1|yes|true|on|ON) want_casa=1 ;; esac
check_only=0
recreate=0
no_apt=0
use_constraints=1
case "${ASW_CASA_CONSTRAINTS:-1}" in 0|no|false|off|OFF) use_constraints=0 ;; esac
venv="${ASW_VENV:-$ASW_ROOT/build/casa-venv}"
base_python="${ASW_CASA_BASE_PYTHON:-/usr/bin/python3}"

while [ $# -gt 0 ]; do
  case "$1" in
    --casa) want_casa=1 ;;
    --venv) [ $# -ge 2 ] || die "--venv needs a directory"; venv="$2"; shift ;;
    --venv=*) venv="${1#--venv=}" ;;
    --python) [ $# -ge 2 ] || die "--python needs an interpreter"; base_python="$2"; shift ;;
    --python=*) base_python="${1#--python=}" ;;
    --recreate) recreate=1 ;;
    --no-constraints) use_constraints=0 ;;
    --no-apt) no_apt=1 ;;
    --check) check_only=1 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
  shift
done

# Absolute venv path (the directory itself may not exist yet).
case "$venv" in /*) ;; *) venv="$PWD/$venv" ;; esac

# ---------------------------------------------------------------- Debian ---
missing_debs() {
  local p st
  for p in "${DEB_PACKAGES[@]}"; do
    st="$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)"
    case "$st" in ii*) ;; *) printf '%s\n' "$p" ;; esac
  done
}

command -v dpkg-query >/dev/null 2>&1 || die "dpkg-query not found: this script targets Debian/Ubuntu"

mapfile -t missing < <(missing_debs)
deb_installed=0

# ------------------------------------------------------------ CASA venv ---
stamp_text() {
  # Everything that, when changed, requires a refresh of the venv.
  local pyver
  pyver="$("$base_python" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])' 2>/dev/null || echo unknown)"
  printf 'base_python=%s %s\n' "$base_python" "$pyver"
  printf 'pins=%s\n' "${CASA_PINS[*]}"
  if [ "$use_constraints" -eq 1 ]; then
    printf 'constraints=%s\n' "${CASA_CONSTRAINTS[*]}"
  else
    printf 'constraints=none\n'
  fi
  printf 'siteconfig_rev=%s\n' "$SITECONFIG_REV"
}

venv_state() {
  # prints: ok | missing | stale
  if [ ! -x "$venv/bin/python" ]; then echo missing; return; fi
  if ! "$venv/bin/python" -c 'pass' >/dev/null 2>&1; then echo stale; return; fi
  if [ -f "$venv/$STAMP_NAME" ] && [ "$(cat "$venv/$STAMP_NAME")" = "$(stamp_text)" ] \
     && [ -f "$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/casasiteconfig.py" ]; then
    echo ok
  else
    echo stale
  fi
}

# ---------------------------------------------------------------- check ---
if [ "$check_only" -eq 1 ]; then
  rc=0
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "missing Debian packages (${#missing[@]}): ${missing[*]}"
    rc=1
  else
    echo "Debian packages: all ${#DEB_PACKAGES[@]} present"
  fi
  if [ "$want_casa" -eq 1 ]; then
    st="$(venv_state)"
    if [ "$st" = ok ]; then
      echo "CASA venv: ok ($venv)"
    else
      echo "CASA venv: $st ($venv)"
      rc=1
    fi
  fi
  exit "$rc"
fi

# -------------------------------------------------------------- install ---
if [ "${#missing[@]}" -gt 0 ]; then
  [ "$no_apt" -eq 0 ] || die "missing Debian packages and --no-apt given: ${missing[*]}"
  SUDO=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || die "not root and no sudo; install: ${missing[*]}"
    SUDO=(sudo)
  fi
  log "installing ${#missing[@]} Debian package(s): ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
  deb_installed="${#missing[@]}"
  mapfile -t still < <(missing_debs)
  [ "${#still[@]}" -eq 0 ] || die "still missing after apt-get install: ${still[*]}"
fi
deb_summary="debs ok (${#DEB_PACKAGES[@]} present, $deb_installed installed)"

if [ "$want_casa" -eq 0 ]; then
  echo "bootstrap: $deb_summary; casa venv not requested (--casa)"
  exit 0
fi

[ -x "$base_python" ] || die "base python '$base_python' not found (Debian: apt-get install python3-venv)"
case "$("$base_python" -c 'import sys; print(sys.prefix)')" in
  */.pyenv/*) die "base python '$base_python' is a pyenv interpreter; use Debian's /usr/bin/python3" ;;
esac

write_siteconfig() {
  local purelib target tmp
  purelib="$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
  target="$purelib/casasiteconfig.py"
  tmp="$(mktemp "$purelib/.casasiteconfig.XXXXXX")"
  cat >"$tmp" <<'EOF'
# almasweep CASA site configuration -- generated by scripts/bootstrap.sh
# (see docs/casa.md). Do not edit here: edit the script and re-run it.
#
# casaconfig (imported by casatools) execs this file because it is importable
# as the module `casasiteconfig` from this venv and neither CASASITECONFIG nor
# /opt/casa/casasiteconfig.py nor /home/casa/casasiteconfig.py exists. A user
# config (~/.casa/config.py, or --configfile) is read after it and could
# override it; almasweep runs CASA with an isolated HOME or --noconfig.
import os as _os
from importlib.util import find_spec as _find_spec

# Offline: measures (IERS, leap seconds, observatories, ...) and the other
# runtime data come from the pinned `casadata` wheel and are never updated.
_casadata = _find_spec('casadata')
if _casadata is None or _casadata.origin is None:
    raise ImportError('casadata is not installed in this environment')
measurespath = _os.path.join(_os.path.dirname(_casadata.origin), '__data__')
datapath = [measurespath]
measures_auto_update = False
data_auto_update = False

# Headless batch use on cluster nodes.
nogui = True
nologger = True
agg = True

# Telemetry and the crash reporter were removed from CASA before 6.7 and
# casaconfig 1.5 ignores these names; kept so a site that moves to an older
# or newer stack still has them off.
telemetry_enabled = False
crashreporter_enabled = False
EOF
  if [ -f "$target" ] && cmp -s "$tmp" "$target"; then
    rm -f "$tmp"
  else
    mv -f "$tmp" "$target"
    chmod 0644 "$target"
  fi
}

verify_casa() {
  # Import casatools in an isolated HOME with every socket connect refused,
  # run a measures conversion that needs IERS data, and check the config.
  local home out
  home="$(mktemp -d)"
  if ! out="$(cd "$home" && env -u CASASITECONFIG HOME="$home" "$venv/bin/python" - <<'EOF' 2>&1
import socket, sys
attempts = []
def _refuse(self, *a, **k):
    attempts.append(a)
    raise OSError('almasweep bootstrap: network disabled during verification')
socket.socket.connect = _refuse
socket.socket.connect_ex = _refuse
import casaconfig.config as cfg
import casadata, os
import casatools, casatasks
me = casatools.measures()
ep = me.epoch('utc', '2024/01/01/00:00:00')
ut1 = me.measure(ep, 'ut1')  # needs IERSeop2000 / IERSpredict
me.done()
exp = os.path.realpath(casadata.datapath)
probs = []
if not any(f.endswith('casasiteconfig.py') for f in cfg.load_success()):
    probs.append('site config not loaded: %r' % (cfg.load_success(),))
if cfg.load_failure():
    probs.append('config load errors: %r' % (cfg.load_failure(),))
if os.path.realpath(cfg.measurespath) != exp:
    probs.append('measurespath %s != casadata %s' % (cfg.measurespath, exp))
if cfg.measures_auto_update or cfg.data_auto_update:
    probs.append('auto update is on')
iers = casatools.ctsys.resolve('geodetic/IERSeop2000')
if not os.path.realpath(iers).startswith(exp):
    probs.append('IERSeop2000 resolved outside casadata: %s' % iers)
if attempts:
    probs.append('network connect attempted: %r' % (attempts,))
if probs:
    print('VERIFY-FAIL ' + '; '.join(probs)); sys.exit(1)
print('VERIFY-OK casatools %s casatasks %s' % (casatools.version_string(), casatasks.version_string()))
EOF
  )"; then
    rm -rf "$home"
    printf '%s\n' "$out" >&2
    die "CASA venv verification failed ($venv)"
  fi
  rm -rf "$home"
  printf '%s\n' "$out" | sed -n 's/^VERIFY-OK //p' | tail -n 1
}

casa_action=reused
st="$(venv_state)"
if [ "$recreate" -eq 1 ] || [ "$st" != ok ]; then
  if [ -e "$venv" ] && { [ "$recreate" -eq 1 ] || ! "$venv/bin/python" -c pass >/dev/null 2>&1; }; then
    # Only ever delete something that is recognisably a venv.
    [ -f "$venv/pyvenv.cfg" ] || die "$venv exists and is not a venv; refusing to delete it"
    log "removing venv $venv"
    rm -rf "$venv"
  fi
  if [ ! -x "$venv/bin/python" ]; then
    log "creating venv $venv with $base_python"
    mkdir -p "$(dirname "$venv")"
    "$base_python" -m venv "$venv"
    casa_action=created
  else
    casa_action=updated
  fi
  log "installing ${CASA_PINS[*]}"
  pip_args=(--no-input --quiet)
  cfile=""
  if [ "$use_constraints" -eq 1 ]; then
    cfile="$(mktemp)"
    printf '%s\n' "${CASA_CONSTRAINTS[@]}" >"$cfile"
    pip_args+=(--constraint "$cfile")
  fi
  if ! "$venv/bin/python" -m pip install "${pip_args[@]}" "${CASA_PINS[@]}"; then
    [ -z "$cfile" ] || rm -f "$cfile"
    die "pip install into $venv failed"
  fi
  [ -z "$cfile" ] || rm -f "$cfile"
  write_siteconfig
  versions="$(verify_casa)"
  stamp_text >"$venv/$STAMP_NAME"
else
  write_siteconfig   # no-op unless the file was edited or removed
  versions="$("$venv/bin/python" - <<'EOF'
from importlib.metadata import version
print('casatools %s casatasks %s' % (version('casatools'), version('casatasks')))
EOF
)"
fi

echo "bootstrap: $deb_summary; casa venv $casa_action at $venv ($versions, offline site config)"
