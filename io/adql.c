#include "adql.h"

#include <string.h>

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

int asw_adql_match(struct asw_buf *out, const char *col, const char *value)
{
    int wild = strpbrk(value, "*?") != NULL;
    if (!wild) {
        if (asw_buf_printf(out, "%s = ", col))
            return ASW_ENOMEM;
        return asw_adql_quote(out, value);
    }
    struct asw_buf pat;
    asw_buf_init(&pat, 4096);
    int rc = 0;
    for (const char *p = value; *p && !rc; p++) {
        switch (*p) {
        case '*':
            rc = asw_buf_puts(&pat, "%");
            break;
        case '?':
            rc = asw_buf_puts(&pat, "_");
            break;
        case '%':
        case '_':
        case '\\':
            rc = asw_buf_append(&pat, "\\", 1) || asw_buf_append(&pat, p, 1);
            break;
        default:
            rc = asw_buf_append(&pat, p, 1);
        }
    }
    if (!rc)
        rc = asw_buf_printf(out, "%s LIKE ", col);
    if (!rc)
        rc = asw_adql_quote(out, pat.data ? pat.data : "");
    asw_buf_free(&pat);
    return rc ? (rc == ASW_EINVAL ? ASW_EINVAL : ASW_ENOMEM) : 0;
}

/* band_list is space-separated ("4 9"): match the whole word. */
static int band_clause(struct asw_buf *out, const char *band)
{
    return asw_buf_printf(out,
                          "band_list = '%s' OR band_list LIKE '%s %%' OR "
                          "band_list LIKE '%% %s' OR band_list LIKE '%% %s %%'",
                          band, band, band, band);
}

/* Run x only while no step has failed, keeping the first error code. */
#define TRY(x)                                                                 \
    do {                                                                       \
        if (!rc)                                                               \
            rc = (x);                                                          \
    } while (0)

int asw_adql_build(const struct asw_config *cfg, struct asw_buf *out,
                   struct asw_err *err)
{
    int rc = asw_buf_puts(
        out, "SELECT member_ous_uid, proposal_id, target_name, band_list, "
             "t_min, asdm_uid, data_rights, antenna_arrays, frequency "
             "FROM ivoa.obscore WHERE science_observation = 'F'");
    if (cfg->targets.n) {
        TRY(asw_buf_puts(out, " AND ("));
        for (size_t i = 0; i < cfg->targets.n && !rc; i++) {
            if (i)
                rc = asw_buf_puts(out, " OR ");
            if (!rc)
                rc = asw_adql_match(out, "target_name", cfg->targets.v[i]);
        }
        TRY(asw_buf_puts(out, ")"));
    }
    /* Bands and cycles were validated as numbers by the config loader. */
    if (cfg->bands.n) {
        TRY(asw_buf_puts(out, " AND ("));
        for (size_t i = 0; i < cfg->bands.n && !rc; i++) {
            if (i)
                rc = asw_buf_puts(out, " OR ");
            TRY(band_clause(out, cfg->bands.v[i]));
        }
        TRY(asw_buf_puts(out, ")"));
    }
    if (cfg->cycles.n) {
        TRY(asw_buf_puts(out, " AND ("));
        for (size_t i = 0; i < cfg->cycles.n && !rc; i++) {
            rc = asw_buf_printf(out, "%sproposal_id LIKE '%s.%%'",
                                i ? " OR " : "", cfg->cycles.v[i]);
        }
        TRY(asw_buf_puts(out, ")"));
    }
    if (cfg->projects.n) {
        TRY(asw_buf_puts(out, " AND ("));
        for (size_t i = 0; i < cfg->projects.n && !rc; i++) {
            if (i)
                rc = asw_buf_puts(out, " OR ");
            if (!rc)
                rc = asw_adql_match(out, "proposal_id", cfg->projects.v[i]);
        }
        TRY(asw_buf_puts(out, ")"));
    }
    if (!cfg->include_7m)
        TRY(asw_buf_puts(out, " AND (antenna_arrays LIKE '%:DA%' OR "
                              "antenna_arrays LIKE '%:DV%')"));
    if (cfg->public_only)
        TRY(asw_buf_puts(out, " AND data_rights = 'Public'"));
    if (rc == ASW_EINVAL)
        return asw_err_set(err, rc, "adql",
                           "a target or project name holds a control "
                           "character");
    if (rc)
        return asw_err_set(err, ASW_ENOMEM, "adql", "out of memory");
    return 0;
}
