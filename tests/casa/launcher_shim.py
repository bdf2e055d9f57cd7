#!/usr/bin/env python3
"""Test launcher for the casa backend's fault tests: [casa] launcher =
{python} launcher_shim.py {script}. ASW_CASA_UNIT and ASW_CASA_STEP are set
by jobs/casa.c for every step. The shim runs the step script with the same
interpreter and in the same process (so the pid the runner records stays
the CASA process), except:

Under mpirun it first prints its rank, job size and PMIx namespace.

ASW_TEST_HANG="UNIT:STEP"
    that step imports casatools and then hangs, as a stuck CASA task
    would, until the runner's wall-time limit kills its process group.

ASW_TEST_STALL="UNIT:STEP:TASK" with ASW_TEST_STALL_MARKER=PATH
    that step runs for real until the CASA task TASK (casatasks.TASK) has
    returned; then, still inside the step, it writes its pid to PATH and
    stalls. The test kills it with SIGKILL on seeing PATH, so the kill
    always lands in a running step (never after the step finished). If
    nobody kills it, the wall-time limit does, and the unit's reason says
    timeout instead of the signal: the test sees that.

ASW_TEST_INVENTORY=1
    before each step, print whether the unit's ASDM is there and what the
    work directory (<unit>/casa) holds, so the removal scenario sees when a
    removal option acted (remove_asdm: right after import).
"""
import glob
import os
import runpy
import sys
import time

script = sys.argv[1]
if 'OMPI_COMM_WORLD_SIZE' in os.environ:
    # Started by mpirun (the sweep's mpilaunch scenario): say which job.
    print('launcher_shim: rank %s of an MPI job of size %s (%s)'
          % (os.environ.get('OMPI_COMM_WORLD_RANK'), os.environ['OMPI_COMM_WORLD_SIZE'],
             os.environ.get('PMIX_NAMESPACE', '?')), flush=True)
me = '%s:%s' % (os.environ.get('ASW_CASA_UNIT', ''), os.environ.get('ASW_CASA_STEP', ''))

if os.environ.get('ASW_TEST_INVENTORY') == '1':
    # The working directory is <unit>/casa (jobs/spawn.c).
    asdm = glob.glob(os.path.join('..', '*', 'science_goal.*', '*', '*', 'raw', '*.asdm.sdm'))
    print('launcher_shim: before %s: asdm %s; casa/ holds %s'
          % (me, 'present' if asdm else 'absent', ' '.join(sorted(os.listdir('.')))),
          flush=True)

hang = os.environ.get('ASW_TEST_HANG', '')
if hang and hang == me:
    import casatools  # noqa: F401  (a live CASA process)
    print('launcher_shim: hanging in %s' % me, flush=True)
    while True:
        time.sleep(3600)

stall = os.environ.get('ASW_TEST_STALL', '')
if stall and stall.rsplit(':', 1)[0] == me:
    task_name = stall.rsplit(':', 1)[1]
    marker = os.environ['ASW_TEST_STALL_MARKER']
    import casatasks
    real = getattr(casatasks, task_name)

    def stalled(*args, **kw):
        ret = real(*args, **kw)
        tmp = marker + '.tmp'
        with open(tmp, 'w') as f:
            f.write('%d\n' % os.getpid())
        os.replace(tmp, marker)
        print('launcher_shim: %s done, stalling in %s (pid %d, marker %s)'
              % (task_name, me, os.getpid(), marker), flush=True)
        while True:
            time.sleep(3600)
        return ret

    # common.py's task() looks the task up with getattr(casatasks, name)
    # at call time, so it finds this one.
    setattr(casatasks, task_name, stalled)
    sys.argv = [script]
    runpy.run_path(script, run_name='__main__')
    sys.exit(0)

os.execv(sys.executable, [sys.executable, script])
