/*
 * unit.h - the work unit: what one worker fetches and processes in one go
 * (ARCHITECTURE.md, "Work unit"). One EB's raw ASDM (eb-raw) or one member
 * OUS's pipeline products (mous-products).
 */
#ifndef ASW_UNIT_H
#define ASW_UNIT_H

#include "err.h"

#include <stddef.h>
#include <stdint.h>

#define ASW_UID_MAX  64 /* sanitized uid, e.g. uid___A002_Xd28a9e_X71b8 */
#define ASW_NAME_MAX 96 /* source names, project codes, band lists */

enum asw_unit_kind {
    ASW_UNIT_EB_RAW = 0,
    ASW_UNIT_MOUS_PRODUCTS = 1,
};

struct asw_file {
    char *name;         /* file name as the archive names it (owned) */
    char *url;          /* download URL (owned) */
    int64_t size_bytes; /* DataLink content_length, -1 if unknown */
    char *semantics;    /* "#this", "#progenitor", ... (owned) */
};

struct asw_unit {
    char id[ASW_UID_MAX];
    enum asw_unit_kind kind;
    char project[ASW_NAME_MAX];
    char mous_uid[ASW_UID_MAX]; /* uid://A001/X../X.. form */
    char band[ASW_NAME_MAX];    /* band_list, e.g. "3" or "4 9" */
    double obs_mjd;             /* earliest t_min of its rows, NAN if none */
    char **sources;             /* calibrator names (owned, n_sources) */
    size_t n_sources;
    struct asw_file *files; /* owned, n_files */
    size_t n_files;
    int64_t bytes_total;
    int64_t scratch_need; /* bytes of scratch the unit may use */
    int attempts;
};

/* "eb-raw" / "mous-products"; asw_unit_kind_parse returns -1 if unknown. */
const char *asw_unit_kind_name(enum asw_unit_kind k);
int asw_unit_kind_parse(const char *s);

/*
 * Turn a uid in either form (uid://A001/X12a3/Xe9 or uid___A001_X12a3_Xe9)
 * into the sanitized form used in file names. Returns 0 or ASW_EINVAL if
 * it is not a well-formed ALMA uid or does not fit in n bytes.
 */
int asw_uid_sanitize(const char *uid, char *out, size_t n);

/* Add a file (strings copied). Returns 0 or ASW_ENOMEM. */
int asw_unit_add_file(struct asw_unit *u, const char *name, const char *url,
                      int64_t size_bytes, const char *semantics);

/* Add a source name unless already present. Returns 0 or ASW_ENOMEM. */
int asw_unit_add_source(struct asw_unit *u, const char *name);

/* Free what the unit owns and zero it. Accepts NULL. */
void asw_unit_clear(struct asw_unit *u);

/* Deep copy src into *dst (dst is overwritten, not freed). */
int asw_unit_copy(struct asw_unit *dst, const struct asw_unit *src);

/*
 * JSON form (the `query --format json` output and the MPI payload).
 * asw_unit_to_json returns a malloc'd NUL-terminated string the caller
 * frees, or NULL on out-of-memory. asw_unit_from_json fills *u (which the
 * caller later clears) and returns 0 or ASW_EPARSE with err filled.
 */
char *asw_unit_to_json(const struct asw_unit *u);
int asw_unit_from_json(const char *json, size_t len, struct asw_unit *u,
                       struct asw_err *err);

#endif
