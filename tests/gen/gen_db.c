#include "gen_db.h"

#include <stdio.h>
#include <string.h>

static const char *schema =
    "CREATE TABLE datalink("
    "query_id TEXT NOT NULL, seq INTEGER NOT NULL, id TEXT,"
    " access_name TEXT, service_def TEXT, error_message TEXT,"
    " semantics TEXT, local_semantics TEXT, description TEXT,"
    " content_type TEXT, content_length INTEGER, content_qualifier TEXT,"
    " link_auth TEXT, readable INTEGER);"
    "CREATE TABLE access(name TEXT PRIMARY KEY, data_rights TEXT);"
    "CREATE TABLE calflux(name TEXT NOT NULL, mjd REAL, freq_hz REAL,"
    " flux_jy REAL, flux_err_jy REAL, spix REAL, spix_err REAL,"
    " status INTEGER, data_conditions TEXT);";

static int db_error(sqlite3 *db, struct asw_err *err, const char *what)
{
    return asw_err_set(err, ASW_EIO, "sqlite", "%s: %s", what,
                       db ? sqlite3_errmsg(db) : "cannot allocate");
}

int asw_gen_db_open(sqlite3 **out, const char *path, struct asw_err *err)
{
    sqlite3 *db = NULL;
    *out = NULL;
    remove(path);
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                        NULL) != SQLITE_OK) {
        int rc = db_error(db, err, path);
        sqlite3_close(db);
        return rc;
    }
    /* A generator run is all-or-nothing, so no journal is needed. */
    if (sqlite3_exec(db, "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;",
                     NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(db, schema, NULL, NULL, NULL) != SQLITE_OK) {
        int rc = db_error(db, err, "schema");
        sqlite3_close(db);
        return rc;
    }
    int rc = asw_gen_db_obscore_create(db, err);
    if (!rc && sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
        rc = db_error(db, err, "begin");
    if (rc) {
        sqlite3_close(db);
        return rc;
    }
    *out = db;
    return 0;
}

int asw_gen_db_close(sqlite3 *db, int commit, struct asw_err *err)
{
    int rc = 0;
    if (!db)
        return 0;
    if (sqlite3_exec(db, commit ? "COMMIT" : "ROLLBACK", NULL, NULL, NULL) !=
        SQLITE_OK)
        rc = db_error(db, err, "commit");
    if (!rc && commit &&
        sqlite3_exec(db,
                     "CREATE INDEX datalink_q ON datalink(query_id, seq);"
                     "CREATE INDEX obscore_mous ON obscore(member_ous_uid);"
                     "CREATE INDEX obscore_target ON obscore(target_name);"
                     "CREATE INDEX calflux_name ON calflux(name, mjd);",
                     NULL, NULL, NULL) != SQLITE_OK)
        rc = db_error(db, err, "index");
    if (sqlite3_close(db) != SQLITE_OK && !rc)
        rc = asw_err_set(err, ASW_EIO, "sqlite", "close failed");
    return rc;
}

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
    if (s)
        sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, i);
}

int asw_gen_db_datalink(sqlite3 *db, const struct asw_gen_dl_row *row,
                        struct asw_err *err)
{
    static const char *sql =
        "INSERT INTO datalink(query_id, seq, id, access_name, service_def,"
        " error_message, semantics, local_semantics, description,"
        " content_type, content_length, content_qualifier, link_auth,"
        " readable) VALUES(?1, (SELECT COUNT(*) FROM datalink WHERE"
        " query_id = ?1), ?2, ?3, ?4, NULL, ?5, NULL, ?6, ?7, ?8, NULL, ?9,"
        " ?10)";
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return db_error(db, err, "datalink");
    bind_text(st, 1, row->query_id);
    bind_text(st, 2, row->id);
    bind_text(st, 3, row->access_name);
    bind_text(st, 4, row->service_def);
    bind_text(st, 5, row->semantics);
    bind_text(st, 6, row->description);
    bind_text(st, 7, row->content_type);
    if (row->content_length >= 0)
        sqlite3_bind_int64(st, 8, row->content_length);
    bind_text(st, 9, row->link_auth);
    if (row->readable >= 0)
        sqlite3_bind_int(st, 10, row->readable);
    int rc =
        sqlite3_step(st) == SQLITE_DONE ? 0 : db_error(db, err, "datalink");
    sqlite3_finalize(st);
    return rc;
}

int asw_gen_db_access(sqlite3 *db, const char *name, const char *rights,
                      struct asw_err *err)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO access VALUES(?, ?)", -1,
                           &st, NULL) != SQLITE_OK)
        return db_error(db, err, "access");
    bind_text(st, 1, name);
    bind_text(st, 2, rights);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_error(db, err, "access");
    sqlite3_finalize(st);
    return rc;
}

/* The flux service's reference answers (protocol notes, section 4;
 * pipeline-services-monitor reference_values.json): asked for at this
 * date (MJD) and frequency they come back exactly, with this age. */
static const struct ref_flux {
    const char *name;
    double date_mjd; /* the date asked for */
    double age_days; /* date - measurement */
    double freq_hz;
    double flux_jy, flux_err_jy, spix, spix_err;
    int status;
    const char *dc;
} ref_fluxes[] = {
    {"J1427-4206", 56378.0, 27.0, 86837309056.16922, 7.7245263249054075,
     0.09139703262558804, -0.359656945792801, 0.0028458151053630384, 1, "9001"},
    {"J1957-3845", 60170.0, -3.0, 224000001907.34863, 1.3489849314991744,
     0.0281541551005343, -0.6811991772825294, 0.028023074064962926, 0, "5111"},
};

static int calflux_row(sqlite3_stmt *st, const char *name, double mjd,
                       double freq_hz, double flux, double flux_err,
                       double spix, double spix_err, int status, const char *dc)
{
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    bind_text(st, 1, name);
    sqlite3_bind_double(st, 2, mjd);
    sqlite3_bind_double(st, 3, freq_hz);
    sqlite3_bind_double(st, 4, flux);
    sqlite3_bind_double(st, 5, flux_err);
    sqlite3_bind_double(st, 6, spix);
    sqlite3_bind_double(st, 7, spix_err);
    if (status >= 0)
        sqlite3_bind_int(st, 8, status);
    bind_text(st, 9, dc);
    return sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
}

int asw_gen_db_calflux(sqlite3 *db, const struct asw_gen_plan *plan,
                       struct asw_err *err)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO calflux VALUES(?1, ?2, ?3, ?4, ?5, ?6,"
                           " ?7, ?8, ?9)",
                           -1, &st, NULL) != SQLITE_OK)
        return db_error(db, err, "calflux");
    int rc = 0;
    for (int mi = 0; mi < plan->n_mous && !rc; mi++) {
        const struct asw_gen_mous *m = &plan->mous[mi];
        for (int fi = 0; fi < m->n_field && !rc; fi++) {
            const struct asw_gen_field *f = &m->field[fi];
            if (f->intent == ASW_GEN_SCI)
                continue;
            /* The epoch's flux at 100 GHz and the source's index: the
             * images' true fluxes follow from them. */
            rc = calflux_row(st, f->name, asw_gen_plan_mjd(plan, mi), 100e9,
                             f->flux_ref_jy, 0.03 * f->flux_ref_jy, f->spix,
                             0.05, -1, NULL);
        }
    }
    for (size_t i = 0; i < sizeof ref_fluxes / sizeof ref_fluxes[0] && !rc;
         i++) {
        const struct ref_flux *r = &ref_fluxes[i];
        rc = calflux_row(st, r->name, r->date_mjd - r->age_days, r->freq_hz,
                         r->flux_jy, r->flux_err_jy, r->spix, r->spix_err,
                         r->status, r->dc);
    }
    if (rc)
        rc = db_error(db, err, "calflux");
    sqlite3_finalize(st);
    return rc;
}
