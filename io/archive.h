/*
 * archive.h - from a configuration to the list of work units: the ObsCore
 * query over TAP, DataLink per member OUS, and the cutting into units
 * (ARCHITECTURE.md, "query -> expand -> units"). Rank 0 only.
 */
#ifndef ASW_ARCHIVE_H
#define ASW_ARCHIVE_H

#include "src/config.h"
#include "src/err.h"
#include "src/unit.h"

struct asw_plan {
    struct asw_unit *units; /* owned, n_units */
    size_t n_units;
    char *adql;    /* the query sent (owned) */
    char *mirror;  /* the mirror that answered (owned) */
    size_t n_rows; /* ObsCore rows returned */
    size_t n_mous; /* distinct member OUSs */
};

/*
 * Query the archive for cfg's selection and build the units for cfg's
 * pipeline mode (mous-products units for "products", one eb-raw unit per
 * raw ASDM tar for "casa"). Mirrors are tried in order. Any failure
 * (network, QUERY_STATUS ERROR, OVERFLOW, a malformed or truncated answer,
 * a DataLink #error) fails the whole plan: a partial unit list is never
 * presented as complete. Returns 0 or an error code with err set; on
 * success the caller frees *plan with asw_plan_free.
 */
int asw_archive_plan(const struct asw_config *cfg, struct asw_plan *plan,
                     struct asw_err *err);

void asw_plan_free(struct asw_plan *plan);

/*
 * Run one TAP sync query on mirror and return the parsed table (the
 * caller frees it with asw_vot_table_free). Exposed for tests.
 */
struct asw_vot_table;
int asw_tap_query(const char *mirror, const char *adql, long maxrec,
                  struct asw_vot_table **out, struct asw_err *err);

/*
 * DataLink for one id (member OUS uid in either form, or a tar name).
 * Fails on a #error row with its message.
 */
int asw_datalink_fetch(const char *mirror, const char *id,
                       struct asw_vot_table **out, struct asw_err *err);

/*
 * GET a VOTable from url and parse it, failing on HTTP errors and on
 * QUERY_STATUS ERROR like the TAP client does.
 */
int asw_archive_get_votable(const char *url, struct asw_vot_table **out,
                            struct asw_err *err);

#endif
