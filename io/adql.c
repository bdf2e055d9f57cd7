#include "adql.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Speed of light in metres times GHz: em (m) = C_M_GHZ / f (GHz). */
#define C_M_GHZ 0.299792458

int asw_adql_quote(struct asw_buf *out, const char *s)
{
    if (asw_buf_puts(out, "'"))
        return ASW_ENOMEM;
    for (const char *p = s; *p; p++) {
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return ASW_EINVAL;
        if (asw_buf_append(out, p, 1) || (*p == '\'' && asw_buf_puts(out, "'")))
            return ASW_ENOMEM;
    }
    return asw_buf_puts(out, "'") ? ASW_ENOMEM : 0;
}

int asw_adql_number(struct asw_buf *out, double x)
{
    if (!isfinite(x))
        return ASW_EINVAL;
    char buf[40];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, x);
        if (strtod(buf, NULL) == x)
            break;
    }
    return asw_buf_puts(out, buf) ? ASW_ENOMEM : 0;
}

/* Append s with the LIKE metacharacters %, _ and \ escaped; with wild,
 * * and ? become % and _. */
static int like_escape(struct asw_buf *pat, const char *s, int wild)
{
    int rc = 0;
    for (const char *p = s; *p && !rc; p++) {
        if (wild && *p == '*')
            rc = asw_buf_puts(pat, "%");
        else if (wild && *p == '?')
            rc = asw_buf_puts(pat, "_");
        else if (*p == '%' || *p == '_' || *p == '\\')
            rc = asw_buf_append(pat, "\\", 1) || asw_buf_append(pat, p, 1);
        else
            rc = asw_buf_append(pat, p, 1);
    }
    return rc ? ASW_ENOMEM : 0;
}

static int like_clause(struct asw_buf *out, const char *col, const char *value,
                       int wild, const char *suffix)
{
    struct asw_buf pat;
    asw_buf_init(&pat, 4096);
    int rc = like_escape(&pat, value, wild);
    if (!rc && suffix)
        rc = asw_buf_puts(&pat, suffix) ? ASW_ENOMEM : 0;
    if (!rc)
        rc = asw_buf_printf(out, "%s LIKE ", col) ? ASW_ENOMEM : 0;
    if (!rc)
        rc = asw_adql_quote(out, pat.data ? pat.data : "");
    asw_buf_free(&pat);
    return rc;
}

int asw_adql_match(struct asw_buf *out, const char *col, const char *value)
{
    if (!strpbrk(value, "*?")) {
        if (asw_buf_printf(out, "%s = ", col))
            return ASW_ENOMEM;
        return asw_adql_quote(out, value);
    }
    return like_clause(out, col, value, 1, NULL);
}

int asw_adql_prefix(struct asw_buf *out, const char *col, const char *prefix)
{
    return like_clause(out, col, prefix, 0, "%");
}

/* band_list is space-separated ("4 9"): match the whole word. The band was
 * validated as a number 1-10 by the config loader, and is quoted anyway. */
static int band_clause(struct asw_buf *out, const char *band)
{
    int rc = asw_buf_puts(out, "band_list = ") ? ASW_ENOMEM : 0;
    if (!rc)
        rc = asw_adql_quote(out, band);
    for (int i = 0; i < 3 && !rc; i++) {
        char pat[64];
        if (i == 0)
            snprintf(pat, sizeof pat, "%s %%", band);
        else if (i == 1)
            snprintf(pat, sizeof pat, "%% %s", band);
        else
            snprintf(pat, sizeof pat, "%% %s %%", band);
        rc = asw_buf_puts(out, " OR band_list LIKE ") ? ASW_ENOMEM : 0;
        if (!rc)
            rc = asw_adql_quote(out, pat);
    }
    return rc;
}

/* Run x only while no step has failed, keeping the first error code. */
#define TRY(x)                                                                 \
    do {                                                                       \
        if (!rc)                                                               \
            rc = (x);                                                          \
    } while (0)

#define PUTS(s) TRY(asw_buf_puts(out, (s)) ? ASW_ENOMEM : 0)

/* " AND (c1 OR c2 ...)" over a list, each item through fn. */
static int any_of(struct asw_buf *out, const struct asw_strlist *l,
                  int (*fn)(struct asw_buf *, const char *, const char *),
                  const char *col)
{
    int rc = 0;
    if (!l->n)
        return 0;
    PUTS(" AND (");
    for (size_t i = 0; i < l->n && !rc; i++) {
        if (i)
            PUTS(" OR ");
        TRY(fn(out, col, l->v[i]));
    }
    PUTS(")");
    return rc;
}

static int band_item(struct asw_buf *out, const char *col, const char *v)
{
    (void)col;
    return band_clause(out, v);
}

static int cycle_item(struct asw_buf *out, const char *col, const char *v)
{
    struct asw_buf p;
    asw_buf_init(&p, 64);
    int rc = asw_buf_printf(&p, "%s.", v) ? ASW_ENOMEM : 0;
    if (!rc)
        rc = asw_adql_prefix(out, col, p.data);
    asw_buf_free(&p);
    return rc;
}

/* " AND col = 'v'", or the NULL-or-empty test for an empty v. */
static int part_eq(struct asw_buf *out, const char *col, const char *v)
{
    int rc = 0;
    if (!v)
        return 0;
    if (!*v) {
        TRY(asw_buf_printf(out, " AND (%s IS NULL OR %s = '')", col, col)
                ? ASW_ENOMEM
                : 0);
        return rc;
    }
    TRY(asw_buf_printf(out, " AND %s = ", col) ? ASW_ENOMEM : 0);
    TRY(asw_adql_quote(out, v));
    return rc;
}

static int where(const struct asw_config *cfg, const struct asw_adql_part *part,
                 struct asw_buf *out)
{
    int rc = 0;
    PUTS(" FROM ivoa.obscore WHERE science_observation = 'F'");
    TRY(any_of(out, &cfg->targets, asw_adql_match, "target_name"));
    TRY(any_of(out, &cfg->bands, band_item, NULL));
    TRY(any_of(out, &cfg->cycles, cycle_item, "proposal_id"));
    TRY(any_of(out, &cfg->projects, asw_adql_match, "proposal_id"));
    if (!isnan(cfg->mjd_from)) {
        PUTS(" AND t_min >= ");
        TRY(asw_adql_number(out, cfg->mjd_from));
    }
    if (!isnan(cfg->mjd_to)) {
        PUTS(" AND t_min < ");
        TRY(asw_adql_number(out, cfg->mjd_to));
    }
    if (cfg->has_cone) {
        PUTS(" AND INTERSECTS(CIRCLE('ICRS', ");
        TRY(asw_adql_number(out, cfg->cone_ra_deg));
        PUTS(", ");
        TRY(asw_adql_number(out, cfg->cone_dec_deg));
        PUTS(", ");
        TRY(asw_adql_number(out, cfg->cone_radius_deg));
        PUTS("), s_region) = 1");
    }
    /* A spw covers [C/em_max, C/em_min] GHz; it overlaps [fmin, fmax] when
     * C/em_max <= fmax and C/em_min >= fmin. */
    if (!isnan(cfg->freq_max_ghz) && cfg->freq_max_ghz > 0) {
        PUTS(" AND em_max >= ");
        TRY(asw_adql_number(out, C_M_GHZ / cfg->freq_max_ghz));
    }
    if (!isnan(cfg->freq_min_ghz) && cfg->freq_min_ghz > 0) {
        PUTS(" AND em_min <= ");
        TRY(asw_adql_number(out, C_M_GHZ / cfg->freq_min_ghz));
    }
    /* FDM only, as almaqso selects it: a fine velocity resolution. */
    if (!isnan(cfg->velocity_res_max_ms)) {
        PUTS(" AND velocity_resolution <= ");
        TRY(asw_adql_number(out, cfg->velocity_res_max_ms));
    }
    if (!cfg->include_7m)
        PUTS(" AND (antenna_arrays LIKE '%:DA%' OR "
             "antenna_arrays LIKE '%:DV%')");
    if (cfg->public_only)
        PUTS(" AND data_rights = 'Public'");
    if (part) {
        if (part->cycle && *part->cycle) {
            PUTS(" AND ");
            TRY(cycle_item(out, "proposal_id", part->cycle));
        } else if (part->cycle) {
            TRY(part_eq(out, "proposal_id", ""));
        }
        TRY(part_eq(out, "band_list", part->band_list));
        TRY(part_eq(out, "proposal_id", part->project));
        TRY(part_eq(out, "member_ous_uid", part->mous_uid));
    }
    return rc;
}

int asw_adql_build_part(const struct asw_config *cfg, enum asw_adql_select what,
                        const char *distinct_col,
                        const struct asw_adql_part *part, struct asw_buf *out,
                        struct asw_err *err)
{
    int rc = 0;
    switch (what) {
    case ASW_ADQL_ROWS:
        PUTS("SELECT member_ous_uid, proposal_id, target_name, band_list, "
             "t_min, asdm_uid, data_rights, antenna_arrays, frequency");
        break;
    case ASW_ADQL_COUNT:
        PUTS("SELECT COUNT(*) AS n");
        break;
    case ASW_ADQL_DISTINCT:
        if (!distinct_col || (strcmp(distinct_col, "proposal_id") &&
                              strcmp(distinct_col, "band_list") &&
                              strcmp(distinct_col, "member_ous_uid")))
            return asw_err_set(err, ASW_EINVAL, "adql",
                               "cannot select distinct values of '%s'",
                               distinct_col ? distinct_col : "(null)");
        TRY(asw_buf_printf(out, "SELECT DISTINCT %s", distinct_col) ? ASW_ENOMEM
                                                                    : 0);
        break;
    default:
        return asw_err_set(err, ASW_EINVAL, "adql", "bad select kind %d",
                           (int)what);
    }
    TRY(where(cfg, part, out));
    if (rc == ASW_EINVAL)
        return asw_err_set(err, rc, "adql",
                           "a selection value holds a control character or "
                           "is not a finite number");
    if (rc)
        return asw_err_set(err, ASW_ENOMEM, "adql", "out of memory");
    return 0;
}

int asw_adql_build(const struct asw_config *cfg, struct asw_buf *out,
                   struct asw_err *err)
{
    return asw_adql_build_part(cfg, ASW_ADQL_ROWS, NULL, NULL, out, err);
}
