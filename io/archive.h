/*
 * archive.h - from a configuration to the list of work units: the ObsCore
 * query over TAP (split when the archive truncates it), DataLink per
 * member OUS with one level of nested listings, and the cutting into
 * units (ARCHITECTURE.md, "query -> expand -> units"). Rank 0 only.
 */
#ifndef ASW_ARCHIVE_H
#define ASW_ARCHIVE_H

#include "src/config.h"
#include "src/err.h"
#include "src/unit.h"

#include <stdint.h>

struct asw_plan {
    struct asw_unit *units; /* owned, n_units, sorted by id */
    size_t n_units;
    char *adql;    /* the (unsplit) query for the selection (owned) */
    char *mirror;  /* the mirror that answered (owned) */
    size_t n_rows; /* ObsCore rows returned, over all parts */
    size_t n_mous; /* distinct member OUSs */
    /* How the answer was obtained. */
    size_t n_parts;            /* row queries that made up the answer */
    size_t n_tap_queries;      /* TAP requests, counts and splits included */
    long long rows_counted;    /* COUNT(*) of a split selection, -1 unsplit */
    size_t n_datalink;         /* DataLink requests, nested ones included */
    size_t n_mous_no_products; /* MOUSs without any product tar */
};

/*
 * Query the archive for cfg's selection and build the units for cfg's
 * pipeline mode: one mous-products unit per member OUS for "products"
 * (its calibrator images and flux.csv from the nested listings, or the
 * product tar when a MOUS has no nested listing), one eb-raw unit per raw
 * ASDM tar for "casa". Mirrors are tried in order and the next one takes
 * over from one that fails. An answer truncated at MAXREC (or
 * [archive] max_rows_per_query) is split by cycle, band, project and
 * member OUS until every part fits, and the rows of the parts must add up
 * to a COUNT of the whole selection. Any failure (network, QUERY_STATUS
 * ERROR, a part that cannot be split, a malformed, redeclared or
 * truncated answer, a DataLink #error) fails the whole plan: a partial
 * unit list is never presented as complete. Returns 0 or an error code
 * with err set; on success the caller frees *plan with asw_plan_free (on
 * failure *plan is empty).
 */
int asw_archive_plan(const struct asw_config *cfg, struct asw_plan *plan,
                     struct asw_err *err);

/* Free what plan owns and zero it. Accepts NULL. */
void asw_plan_free(struct asw_plan *plan);

/*
 * Run one TAP sync query (POST, streamed into the VOTable parser) on
 * mirror with the default retries and return the parsed table, which the
 * caller frees with asw_vot_table_free. maxrec <= 0 sends no MAXREC.
 * QUERY_STATUS OVERFLOW fails with ASW_EOVERFLOW, ERROR with ASW_EQUERY
 * and its text, a second XML declaration or a malformed body with
 * ASW_EPARSE, a body cut short with ASW_ENET. Exposed for tests.
 */
struct asw_vot_table;
int asw_tap_query(const char *mirror, const char *adql, long maxrec,
                  struct asw_vot_table **out, struct asw_err *err);

/*
 * DataLink for one id (member OUS uid in either form, or a tar name) on
 * mirror. Fails with ASW_ENOTFOUND on a #error row, naming its message.
 * The caller frees *out with asw_vot_table_free.
 */
int asw_datalink_fetch(const char *mirror, const char *id,
                       struct asw_vot_table **out, struct asw_err *err);

/* One downloadable file of a DataLink listing. */
struct asw_dl_file {
    char *name;         /* last path component of the URL (owned) */
    char *url;          /* access_url (owned) */
    int64_t size_bytes; /* content_length, -1 if absent */
    char *semantics;    /* "#this", "#progenitor", ... (owned) */
    char *content_type; /* owned, NULL if absent */
    char *parent;       /* ID of the nested listing it came from (the tar
                           name), NULL at the top level (owned) */
};

/* The files of a member OUS: its own listing and the nested ones. */
struct asw_dl_list {
    struct asw_dl_file *files; /* owned, n; top level first */
    size_t n;
    char **expanded; /* IDs whose nested listing was read (owned) */
    size_t n_expanded;
    size_t n_requests; /* DataLink requests made */
};

/*
 * List the files of id on mirror. With expand, every service row that
 * points at an adhoc:service RESOURCE of the DataLink standard is
 * followed one level deep: DataLink is asked for the ID of that service's
 * accessURL on the same mirror (as astroquery does). Service rows,
 * #cutout rows and the nested listings' own service rows are dropped; a
 * #error row anywhere fails with ASW_ENOTFOUND. Columns are found by
 * name, so the 9- and 12-column layouts both work. On success the caller
 * frees *out with asw_dl_list_free; on error *out is empty.
 */
int asw_datalink_list(const char *mirror, const char *id, int expand,
                      struct asw_dl_list *out, struct asw_err *err);

/* Free what l owns and zero it. Accepts NULL. */
void asw_dl_list_free(struct asw_dl_list *l);

/* Which units asw_archive_units makes. */
enum {
    ASW_UNITS_EB_RAW = 1u << 0,   /* one per #progenitor tar */
    ASW_UNITS_PRODUCTS = 1u << 1, /* one per member OUS */
};

/*
 * Whether a file name is a calibrator image the products backend
 * measures (or its primary beam): <source>_<intent>.spw<N>... ending in
 * .pbcor.fits or .pb.fits.gz with intent bp, ph, ch, amp or pol*.
 */
int asw_archive_is_calibrator_image(const char *name);

/*
 * Append the units of one member OUS to plan->units from its listing l
 * (as asw_datalink_list gives it). mous is the template the units copy
 * (mous_uid, project, band, sources, obs_mjd). kinds is a mask of
 * ASW_UNITS_*. The products unit holds the calibrator images and any
 * flux.csv of the nested listings, plus every product tar (#this) that
 * has no nested listing; a MOUS without product tars gets no products
 * unit (counted in plan->n_mous_no_products). Returns 0, ASW_EPROTO (a
 * raw tar without an EB uid in its name) or ASW_ENOMEM, with err set.
 */
int asw_archive_units(const struct asw_dl_list *l, const struct asw_unit *mous,
                      unsigned kinds, struct asw_plan *plan,
                      struct asw_err *err);

/*
 * GET a VOTable from url and parse it, failing on HTTP errors and on
 * QUERY_STATUS ERROR like the TAP client does. The caller frees *out.
 */
int asw_archive_get_votable(const char *url, struct asw_vot_table **out,
                            struct asw_err *err);

#endif
