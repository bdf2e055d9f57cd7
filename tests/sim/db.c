/* Opening the archive database: read-only, one connection per request
 * (connections are cheap and each connection thread gets its own). */
#include "sim.h"

#include <stdio.h>

int asw_sim_db_open(const struct asw_sim_config *cfg, sqlite3 **db, char *err,
                    size_t errlen)
{
    *db = NULL;
    int rc = sqlite3_open_v2(cfg->db_path, db,
                             SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        snprintf(err, errlen, "%s: %s", cfg->db_path,
                 *db ? sqlite3_errmsg(*db) : sqlite3_errstr(rc));
        sqlite3_close(*db);
        *db = NULL;
        return rc;
    }
    sqlite3_busy_timeout(*db, 5000);
    /* "x" is an identifier, never a string (the ADQL meaning). */
    sqlite3_db_config(*db, SQLITE_DBCONFIG_DQS_DML, 0, (int *)NULL);
    sqlite3_db_config(*db, SQLITE_DBCONFIG_DQS_DDL, 0, (int *)NULL);
    sqlite3_db_config(*db, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0,
                      (int *)NULL);
    sqlite3_limit(*db, SQLITE_LIMIT_ATTACHED, 0);
    return SQLITE_OK;
}
