/*
 * adql.h - the one place where user text becomes ADQL. Names and values
 * reach a query only through asw_adql_quote (strings) and
 * asw_adql_number (numbers), so a target named  J1924-2914' OR '1'='1  is
 * a string literal that selects nothing and a number is always a finite
 * decimal.
 */
#ifndef ASW_ADQL_H
#define ASW_ADQL_H

#include "src/buf.h"
#include "src/config.h"
#include "src/err.h"

/*
 * Append s to out as an ADQL string literal: in single quotes, with every
 * quote doubled. Control characters (which no archive value contains) are
 * rejected with ASW_EINVAL. Returns 0, ASW_EINVAL or ASW_ENOMEM.
 */
int asw_adql_quote(struct asw_buf *out, const char *s);

/*
 * Append x as an ADQL numeric literal (shortest form that reads back as the
 * same double). Returns 0, ASW_EINVAL for NaN or infinities, or ASW_ENOMEM.
 */
int asw_adql_number(struct asw_buf *out, double x);

/*
 * Append "col = 'value'" or, when value holds the wildcards * or ?, "col
 * LIKE 'pattern'" with * -> %, ? -> _ and literal %, _ and \ escaped with a
 * backslash (astroquery's convention, section 2.3 of the protocol notes).
 * col is trusted text from the caller, never user input.
 */
int asw_adql_match(struct asw_buf *out, const char *col, const char *value);

/*
 * Append "col LIKE 'prefix%'" with %, _ and \ of prefix escaped, so that
 * the prefix matches literally. col is trusted text.
 */
int asw_adql_prefix(struct asw_buf *out, const char *col, const char *prefix);

/* What a query built by asw_adql_build_part returns. */
enum asw_adql_select {
    ASW_ADQL_ROWS = 0, /* the columns the planner reads, one row per row */
    ASW_ADQL_COUNT,    /* one row, one column "n": the number of rows */
    ASW_ADQL_DISTINCT  /* the distinct values of one column */
};

/*
 * One part of a split selection: restrictions ANDed to the configured
 * selection. NULL members restrict nothing; an empty string selects the
 * rows where that column is NULL or empty.
 */
struct asw_adql_part {
    const char *cycle;     /* proposal_id LIKE '<cycle>.%' */
    const char *band_list; /* band_list = '...' (exact) */
    const char *project;   /* proposal_id = '...' */
    const char *mous_uid;  /* member_ous_uid = '...' */
};

/*
 * Build the ObsCore query for the selection of cfg, restricted to part
 * (NULL: the whole selection): calibrator rows (science_observation =
 * 'F'), targets, bands, cycles, projects, observing dates (t_min, MJD), a
 * sky cone (INTERSECTS with s_region), frequency overlap (em_min/em_max),
 * velocity resolution, 12-m only unless include_7m, public data unless
 * public_only is off. what chooses the select list; distinct_col names the
 * column for ASW_ADQL_DISTINCT and must be proposal_id, band_list or
 * member_ous_uid. The text is appended to *out. Returns 0 or an error code
 * with err set (ASW_EINVAL for a value that cannot be quoted).
 */
int asw_adql_build_part(const struct asw_config *cfg, enum asw_adql_select what,
                        const char *distinct_col,
                        const struct asw_adql_part *part, struct asw_buf *out,
                        struct asw_err *err);

/* asw_adql_build_part(cfg, ASW_ADQL_ROWS, NULL, NULL, out, err). */
int asw_adql_build(const struct asw_config *cfg, struct asw_buf *out,
                   struct asw_err *err);

#endif
