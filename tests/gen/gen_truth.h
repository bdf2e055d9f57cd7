/*
 * gen_truth.h - ROOT/truth.json: what a correct sweep of the synthetic
 * archive must find (format in docs/sim-archive-layout.md).
 */
#ifndef ASW_GEN_TRUTH_H
#define ASW_GEN_TRUTH_H

#include "err.h"
#include "gen_plan.h"

/*
 * Write the truth of plan to path (replaced). Lists every MOUS and every
 * calibrator image; science-target images are not listed. Returns 0,
 * ASW_ENOMEM or ASW_EIO.
 */
int asw_gen_truth_write(const struct asw_gen_plan *plan, const char *path,
                        struct asw_err *err);

#endif
