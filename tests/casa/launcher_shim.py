#!/usr/bin/env python3
"""Test launcher for the casa backend's fault tests: [casa] launcher =
{python} launcher_shim.py {script}. It runs the step script with the same
interpreter (exec, so the pid the runner records stays the CASA process),
except for the unit and step named in ASW_TEST_HANG ("UNIT:STEP"), which
imports casatools and then hangs, as a stuck CASA task would, until the
runner's wall-time limit kills its process group. ASW_CASA_UNIT and
ASW_CASA_STEP are set by jobs/casa.c for every step."""
import os
import sys
import time

script = sys.argv[1]
hang = os.environ.get('ASW_TEST_HANG', '')
me = '%s:%s' % (os.environ.get('ASW_CASA_UNIT', ''), os.environ.get('ASW_CASA_STEP', ''))
if hang and hang == me:
    import casatools  # noqa: F401  (a live CASA process)
    print('launcher_shim: hanging in %s' % me, flush=True)
    while True:
        time.sleep(3600)
os.execv(sys.executable, [sys.executable, script])
