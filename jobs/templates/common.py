# ---- almasweep: common prelude of every CASA step (jobs/templates/common.py)
#
# The parameters of this step are in the dict ASW above, written by
# jobs/casa.c: every string in it is a Python literal made by the one
# quoting function (jobs/pyquote.c), so names from the data (fields, files)
# are values here, never code. The step writes its outcome to ASW['result']
# as JSON and exits 0 (ok), 3 (a CASA task failed: SEVERE or exception) or
# 4 (any other error); jobs/casa.c reads both.
import json
import math
import os
import sys
import time
import traceback

# casacore's stale leap-second warning (docs/casa.md): logged as SEVERE,
# harmless, ignored.
_LEAP = ('Leap second table TAI_UTC seems out-of-date',
         'Until the table is updated',
         'times and coordinates derived from UTC could be wrong')


class StepError(Exception):
    """A CASA task failed (exception or SEVERE in the log) or a check of
    this step did not hold."""


def log(msg):
    print('[almasweep %s] %s' % (ASW['step'], msg), flush=True)


def _logfile():
    # casalog is casatasks' (modular CASA) or a builtin (monolithic CASA,
    # where casatasks re-exports it too); casatools has none, and a failed
    # import here would silently turn off the SEVERE scan.
    try:
        from casatasks import casalog
        return casalog.logfile()
    except Exception:
        return ''


def _logsize():
    try:
        return os.path.getsize(_logfile())
    except OSError:
        return 0


def severe_lines(text):
    """SEVERE lines of CASA log text, without the leap-second warning."""
    out = []
    for line in text.splitlines():
        if '\tSEVERE\t' not in line:
            continue
        if any(k in line for k in _LEAP):
            continue
        out.append(line.split('\t', 3)[-1].strip())
    return out


def _severe_since(pos):
    try:
        with open(_logfile(), 'r', errors='replace') as f:
            f.seek(pos)
            return severe_lines(f.read(1 << 22))
    except OSError:
        return []


def task(name, **kw):
    """Run casatasks.<name>(**kw); a raised exception or a SEVERE message
    logged while it ran is a StepError carrying that text."""
    import casatasks
    fn = getattr(casatasks, name)
    pos = _logsize()
    log('%s(%s)' % (name, ', '.join('%s=%r' % kv for kv in sorted(kw.items()))))
    t0 = time.time()
    try:
        ret = fn(**kw)
    except Exception as e:
        sev = _severe_since(pos)
        raise StepError('%s: %s%s' % (name, e, (' [SEVERE: %s]' % sev[0]) if sev else ''))
    sev = _severe_since(pos)
    if sev:
        raise StepError('%s: SEVERE: %s' % (name, sev[0]))
    log('%s done in %.1f s' % (name, time.time() - t0))
    return ret


def pick_refant(vis):
    """The antenna nearest the array's centre (ITRF positions) among those
    with unflagged cross-correlations."""
    import casatools
    import numpy as np
    tb = casatools.table()
    tb.open(os.path.join(vis, 'ANTENNA'))
    try:
        pos = np.asarray(tb.getcol('POSITION'), float).T
        names = [str(n) for n in tb.getcol('NAME')]
    finally:
        tb.close()
    tb.open(vis)
    try:
        n = tb.nrows()
        k = max(1, n // 100000)
        used = set(int(a) for a in tb.getcol('ANTENNA1', 0, -1, k)) | \
            set(int(a) for a in tb.getcol('ANTENNA2', 0, -1, k))
    finally:
        tb.close()
    c = pos.mean(axis=0)
    order = sorted(range(len(pos)), key=lambda a: np.linalg.norm(pos[a] - c))
    for a in order:
        if a in used:
            return names[a]
    return names[order[0]]


def finite(x):
    """A float for JSON: None for NaN/inf."""
    try:
        x = float(x)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def write_json(path, obj):
    tmp = path + '.tmp'
    with open(tmp, 'w') as f:
        json.dump(obj, f, indent=1, allow_nan=False)
    os.replace(tmp, path)


def _main(fn):
    t0 = time.time()
    res = {'step': ASW['step'], 'status': 'ok'}
    code = 0
    try:
        out = fn()
        if out:
            res.update(out)
    except StepError as e:
        res.update(status='error', kind='casa', error=str(e))
        code = 3
    except BaseException as e:  # also SystemExit and KeyboardInterrupt
        res.update(status='error', kind='exception',
                   error='%s: %s' % (type(e).__name__, e),
                   traceback=traceback.format_exc()[-4000:])
        code = 4
    res['seconds'] = time.time() - t0
    try:
        write_json(ASW['result'], res)
    except Exception as e:
        print('cannot write %s: %s' % (ASW['result'], e), file=sys.stderr)
        code = code or 4
    if code:
        print('[almasweep %s] FAILED: %s' % (ASW['step'], res.get('error')),
              file=sys.stderr, flush=True)
    sys.stdout.flush()
    sys.exit(code)


os.chdir(ASW['workdir'])
# ---- end of the common prelude
