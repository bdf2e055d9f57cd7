/*
 * gen_db.h - ROOT/archive.sqlite: tables obscore, datalink, access and
 * calflux of docs/sim-archive-layout.md.
 */
#ifndef ASW_GEN_DB_H
#define ASW_GEN_DB_H

#include <sqlite3.h>

#include "err.h"
#include "gen_plan.h"

/*
 * Create path afresh (an existing file is removed) with the tables,
 * and open a transaction. On success *out is the connection, finished with
 * asw_gen_db_close. Returns 0 or ASW_EIO.
 */
int asw_gen_db_open(sqlite3 **out, const char *path, struct asw_err *err);

/*
 * Commit (commit != 0) or roll back, add the lookup indexes, and close db
 * (which may be NULL). Returns 0 or ASW_EIO.
 */
int asw_gen_db_close(sqlite3 *db, int commit, struct asw_err *err);

/* One DataLink row; strings are borrowed, NULL becomes SQL NULL. */
struct asw_gen_dl_row {
    const char *query_id;
    const char *id;
    const char *access_name;
    const char *service_def;
    const char *semantics;
    const char *description;
    const char *content_type;
    long long content_length; /* < 0: NULL */
    const char *link_auth;
    int readable; /* < 0: NULL */
};

/*
 * Append a datalink row; seq is its position among the rows already
 * stored for the same query_id (0, 1, ...). Returns 0 or ASW_EIO.
 */
int asw_gen_db_datalink(sqlite3 *db, const struct asw_gen_dl_row *row,
                        struct asw_err *err);

/* Record that file name has data_rights rights. Returns 0 or ASW_EIO. */
int asw_gen_db_access(sqlite3 *db, const char *name, const char *rights,
                      struct asw_err *err);

/*
 * Fill table calflux, the simulator's flux service catalogue: one
 * measurement per (MOUS, calibrator field) at the MOUS's date, 100 GHz,
 * the field's epoch flux and spectral index; plus the service's two
 * reference answers. Returns 0 or ASW_EIO.
 */
int asw_gen_db_calflux(sqlite3 *db, const struct asw_gen_plan *plan,
                       struct asw_err *err);

/* Create the obscore table (called by asw_gen_db_open). Returns 0 or
 * ASW_EIO. */
int asw_gen_db_obscore_create(sqlite3 *db, struct asw_err *err);

/*
 * Insert the obscore rows of MOUS index mous of plan: one per (field,
 * spw). Returns the number of rows (>= 0) or ASW_EIO.
 */
int asw_gen_db_obscore(sqlite3 *db, const struct asw_gen_plan *plan, int mous,
                       struct asw_err *err);

#endif
