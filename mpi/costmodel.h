/*
 * costmodel.h - a stand-in for processing, for benchmarks and tests of the
 * engine (tests/bench/bench_engine.sh): a unit is downloaded as usual,
 * then "processed" by sleeping for a time proportional to its size.
 *
 *   ASW_BENCH_COST="S_PER_GB[,JITTER[,CRASH[,FAIL]]]"
 *
 * S_PER_GB: seconds per 10^9 bytes of the unit's files (bytes_total);
 * JITTER: +- that fraction, fixed per unit id (a hash), so that runs of
 * one benchmark see the same costs; CRASH: units whose id contains this
 * text fail as if their CASA had been killed by SIGKILL; FAIL: units whose
 * id contains this text fail as if their CASA had exited with status 1 (an
 * ordinary, transient processing failure). Empty fields are unused.
 * Hidden: not a configuration key, never set in production.
 */
#ifndef ASW_COSTMODEL_H
#define ASW_COSTMODEL_H

#include "jobs/pipeline.h"

/* The stand-in backend when ASW_BENCH_COST is set (and valid), else NULL.
 * Static; never freed. */
const struct asw_backend *asw_costmodel_backend(void);

/* The seconds the stand-in spends on a unit of bytes with id (no sleep),
 * or -1 when ASW_BENCH_COST is not set. */
double asw_costmodel_seconds(const char *id, int64_t bytes);

#endif
