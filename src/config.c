#include "config.h"

#include "buf.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_CONFIG_BYTES (1 << 20)
#define MAX_EXPAND_DEPTH 8

static int is_sep(char c, int spaces)
{
    return c == ',' || (spaces && isspace((unsigned char)c));
}

static int split(struct asw_strlist *out, const char *s, int spaces)
{
    const char *p = s;
    while (*p) {
        while (*p && (is_sep(*p, spaces) || isspace((unsigned char)*p)))
            p++;
        const char *start = p;
        while (*p && !is_sep(*p, spaces))
            p++;
        const char *end = p;
        while (end > start && isspace((unsigned char)end[-1]))
            end--;
        if (end == start)
            continue;
        char **v = realloc(out->v, (out->n + 1) * sizeof *v);
        if (!v)
            return ASW_ENOMEM;
        out->v = v;
        if (!(v[out->n] = strndup(start, (size_t)(end - start))))
            return ASW_ENOMEM;
        out->n++;
    }
    return 0;
}

int asw_strlist_split(struct asw_strlist *out, const char *s)
{
    return split(out, s, 1);
}

int asw_strlist_split_commas(struct asw_strlist *out, const char *s)
{
    return split(out, s, 0);
}

void asw_strlist_free(struct asw_strlist *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

static int expand_into(struct asw_buf *b, const char *s, size_t len, int depth,
                       struct asw_err *err)
{
    if (depth > MAX_EXPAND_DEPTH)
        return asw_err_set(err, ASW_ECONFIG, "config",
                           "${...} nested more than %d deep", MAX_EXPAND_DEPTH);
    size_t i = 0;
    while (i < len) {
        if (s[i] != '$' || i + 1 >= len || s[i + 1] != '{') {
            if (asw_buf_append(b, &s[i], 1))
                return asw_err_set(err, ASW_ETOOBIG, "config",
                                   "expanded value too long");
            i++;
            continue;
        }
        /* Find the matching brace, allowing nested ${...} in defaults. */
        size_t j = i + 2, level = 1;
        while (j < len && level) {
            if (s[j] == '$' && j + 1 < len && s[j + 1] == '{') {
                level++;
                j += 2;
                continue;
            }
            if (s[j] == '}')
                level--;
            j++;
        }
        if (level)
            return asw_err_set(err, ASW_ECONFIG, "config",
                               "unterminated ${ in '%.*s'", (int)len, s);
        const char *body = s + i + 2;
        size_t blen = j - 1 - (i + 2);
        const char *dflt = NULL;
        size_t nlen = blen, dlen = 0;
        for (size_t k = 0; k + 1 < blen; k++) {
            if (body[k] == ':' && body[k + 1] == '-') {
                nlen = k;
                dflt = body + k + 2;
                dlen = blen - k - 2;
                break;
            }
        }
        char name[128];
        if (nlen == 0 || nlen >= sizeof name)
            return asw_err_set(err, ASW_ECONFIG, "config",
                               "bad variable name in '%.*s'", (int)len, s);
        memcpy(name, body, nlen);
        name[nlen] = '\0';
        for (size_t k = 0; k < nlen; k++)
            if (!isalnum((unsigned char)name[k]) && name[k] != '_')
                return asw_err_set(err, ASW_ECONFIG, "config",
                                   "bad variable name '%s'", name);
        const char *val = getenv(name);
        if (val && *val) {
            if (asw_buf_puts(b, val))
                return asw_err_set(err, ASW_ETOOBIG, "config",
                                   "expanded value too long");
        } else if (dflt) {
            int rc = expand_into(b, dflt, dlen, depth + 1, err);
            if (rc)
                return rc;
        } else if (!val) {
            return asw_err_set(err, ASW_ECONFIG, "config",
                               "environment variable %s is not set (use "
                               "${%s:-default} for a fallback)",
                               name, name);
        }
        i = j;
    }
    return 0;
}

char *asw_config_expand(const char *s, struct asw_err *err)
{
    struct asw_buf b;
    asw_buf_init(&b, 64 * 1024);
    if (asw_buf_append(&b, "", 0) || expand_into(&b, s, strlen(s), 0, err)) {
        if (!b.data)
            asw_err_set(err, ASW_ENOMEM, "config", "out of memory");
        asw_buf_free(&b);
        return NULL;
    }
    return b.data;
}

struct parse_ctx {
    struct asw_config *cfg;
    struct asw_err *err;
    const char *path;
    int line_no;
    int failed;
};

static int parse_bool(const char *v, int *out)
{
    static const char *t[] = {"1", "true", "yes", "on"};
    static const char *f[] = {"0", "false", "no", "off"};
    for (int i = 0; i < 4; i++) {
        if (strcasecmp(v, t[i]) == 0)
            return *out = 1, 0;
        if (strcasecmp(v, f[i]) == 0)
            return *out = 0, 0;
    }
    return -1;
}

static int parse_long(const char *v, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno || end == v || *end || x < lo || x > hi)
        return -1;
    *out = x;
    return 0;
}

/* A byte count with an optional k, M, G or T suffix (powers of 1024). */
static int parse_bytes(const char *v, long long lo, long long *out)
{
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (errno || end == v || x < 0)
        return -1;
    const char *units = "kKmMgGtT";
    const char *u = *end ? strchr(units, *end) : NULL;
    int shift = u ? 10 * (1 + (int)(u - units) / 2) : 0;
    if (shift)
        end++;
    if (*end || x > (LLONG_MAX >> shift) || (x << shift) < lo)
        return -1;
    *out = x << shift;
    return 0;
}

static int set_str(char **dst, const char *v)
{
    free(*dst);
    *dst = strdup(v);
    return *dst ? 0 : -1;
}

/* Validate list values that reach ADQL: the quoting function makes them
 * harmless, but a band "x" or cycle "20a9" is a user error to report. */
static int check_bands(const struct asw_strlist *l, const char **bad)
{
    for (size_t i = 0; i < l->n; i++) {
        long b;
        if (parse_long(l->v[i], 1, 10, &b))
            return *bad = l->v[i], -1;
    }
    return 0;
}

static int check_cycles(const struct asw_strlist *l, const char **bad)
{
    for (size_t i = 0; i < l->n; i++) {
        long y;
        if (strlen(l->v[i]) != 4 || parse_long(l->v[i], 2011, 2100, &y))
            return *bad = l->v[i], -1;
    }
    return 0;
}

static int parse_double(const char *v, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    while (end && isspace((unsigned char)*end))
        end++;
    if (errno || end == v || *end || !(x >= lo && x <= hi))
        return -1;
    *out = x;
    return 0;
}

/* YYYY-MM-DD (UTC midnight) to MJD; days_after 1 gives the next midnight,
 * so that date_to includes its whole day. */
static int parse_date_mjd(const char *v, int days_after, double *out)
{
    int y, m, d, n = 0;
    if (strlen(v) != 10 || sscanf(v, "%4d-%2d-%2d%n", &y, &m, &d, &n) != 3 ||
        n != 10 || y < 1990 || y > 2200 || m < 1 || m > 12 || d < 1)
        return -1;
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (d > mdays[m - 1] + (m == 2 && leap))
        return -1;
    /* Days from civil (Howard Hinnant's algorithm), then MJD. */
    int yy = y - (m <= 2);
    int era = yy / 400;
    int yoe = yy - era * 400;
    int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    long days_1970 = (long)era * 146097 + doe - 719468;
    *out = (double)(days_1970 + 40587 + days_after);
    return 0;
}

/* "ra, dec, radius" in degrees. */
static int parse_cone(const char *v, struct asw_config *cfg)
{
    struct asw_strlist l = {0};
    int rc = asw_strlist_split(&l, v);
    if (!rc && (l.n != 3 || parse_double(l.v[0], 0, 360, &cfg->cone_ra_deg) ||
                parse_double(l.v[1], -90, 90, &cfg->cone_dec_deg) ||
                parse_double(l.v[2], 0, 180, &cfg->cone_radius_deg) ||
                !(cfg->cone_radius_deg > 0)))
        rc = -1;
    asw_strlist_free(&l);
    cfg->has_cone = rc == 0;
    return rc;
}

/* Names of environment variables: letters, digits and '_'. */
static int check_env_name(const char *v)
{
    if (!*v || isdigit((unsigned char)*v))
        return -1;
    for (const char *p = v; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '_')
            return -1;
    return 0;
}

/*
 * [download] ca_file: made absolute now, because extraction may change the
 * working directory while libcurl opens the file; a file that cannot be
 * read is reported here, naming the line, not as a TLS failure of every
 * unit. Returns 0, or -1 with the error set and c->failed.
 */
static int set_ca_file(struct parse_ctx *c, struct asw_config *cfg,
                       const char *v, int lineno)
{
    char abs[PATH_MAX];
    struct stat sb;
    const char *why = NULL;
    if (!realpath(v, abs) || access(abs, R_OK) != 0)
        why = strerror(errno);
    else if (stat(abs, &sb) != 0 || !S_ISREG(sb.st_mode))
        why = "not a regular file";
    if (why) {
        asw_err_set(c->err, ASW_ECONFIG, "config",
                    "%s:%d: bad value for [download] ca_file: cannot read "
                    "'%s': %s",
                    c->path, lineno, v, why);
        c->failed = 1;
        return -1;
    }
    if (set_str(&cfg->ca_file, abs)) {
        asw_err_set(c->err, ASW_ENOMEM, "config", "out of memory");
        c->failed = 1;
        return -1;
    }
    return 0;
}

static int handler(void *user, const char *section, const char *key,
                   const char *raw, int lineno)
{
    struct parse_ctx *c = user;
    struct asw_config *cfg = c->cfg;
    const char *bad = NULL;
    const char *want = NULL; /* the allowed values, for the message */
    long n;
    int ok = 1;
    if (c->failed)
        return 0;
    char *v = asw_config_expand(raw, c->err);
    if (!v) {
        char msg[ASW_ERR_MSG_MAX];
        snprintf(msg, sizeof msg, "%s", c->err ? c->err->msg : "");
        asw_err_set(c->err, ASW_ECONFIG, "config", "%s:%d: [%s] %s: %s",
                    c->path, lineno, section, key, msg);
        c->failed = 1;
        return 0;
    }
#define IS(s, k) (strcmp(section, s) == 0 && strcmp(key, k) == 0)
    if (IS("archive", "mirrors")) {
        ok = !asw_strlist_split(&cfg->mirrors, v);
        for (size_t i = 0; ok && i < cfg->mirrors.n; i++)
            if (strncmp(cfg->mirrors.v[i], "http://", 7) &&
                strncmp(cfg->mirrors.v[i], "https://", 8))
                ok = 0, bad = cfg->mirrors.v[i];
    } else if (IS("archive", "targets")) {
        ok = !asw_strlist_split_commas(&cfg->targets, v);
    } else if (IS("archive", "bands")) {
        ok = !asw_strlist_split(&cfg->bands, v) &&
             !check_bands(&cfg->bands, &bad);
    } else if (IS("archive", "cycles")) {
        ok = !asw_strlist_split(&cfg->cycles, v) &&
             !check_cycles(&cfg->cycles, &bad);
    } else if (IS("archive", "projects")) {
        ok = !asw_strlist_split_commas(&cfg->projects, v);
    } else if (IS("archive", "public_only")) {
        ok = !parse_bool(v, &cfg->public_only);
    } else if (IS("archive", "include_7m")) {
        ok = !parse_bool(v, &cfg->include_7m);
    } else if (IS("archive", "maxrec")) {
        ok = !parse_long(v, 0, 100000000, &cfg->maxrec);
    } else if (IS("archive", "max_rows_per_query")) {
        ok = !parse_long(v, 0, 100000000, &cfg->max_rows_per_query);
    } else if (IS("archive", "date_from")) {
        ok = !*v || !parse_date_mjd(v, 0, &cfg->mjd_from);
    } else if (IS("archive", "date_to")) {
        ok = !*v || !parse_date_mjd(v, 1, &cfg->mjd_to);
    } else if (IS("archive", "cone")) {
        ok = !*v || !parse_cone(v, cfg);
    } else if (IS("archive", "freq_min_ghz")) {
        ok = !*v || !parse_double(v, 0, 10000, &cfg->freq_min_ghz);
    } else if (IS("archive", "freq_max_ghz")) {
        ok = !*v || !parse_double(v, 0, 10000, &cfg->freq_max_ghz);
    } else if (IS("archive", "velocity_resolution_max")) {
        ok = !*v || !parse_double(v, 0, 1e9, &cfg->velocity_res_max_ms);
    } else if (IS("archive", "credentials")) {
        ok = strcmp(v, "none") == 0 || strcmp(v, "netrc") == 0 ||
             strcmp(v, "env") == 0;
        free(cfg->credentials);
        cfg->credentials = NULL;
        if (ok && strcmp(v, "none"))
            ok = !set_str(&cfg->credentials, v);
    } else if (IS("archive", "user_env")) {
        ok = !check_env_name(v) && !set_str(&cfg->user_env, v);
    } else if (IS("archive", "password_env")) {
        ok = !check_env_name(v) && !set_str(&cfg->password_env, v);
    } else if (IS("archive", "retries")) {
        ok = !parse_long(v, 0, 20, &n);
        cfg->archive_retries = (int)n;
    } else if (IS("pipeline", "mode")) {
        ok = (strcmp(v, "products") == 0 || strcmp(v, "casa") == 0) &&
             !set_str(&cfg->mode, v);
    } else if (IS("scratch", "dir")) {
        ok = *v && !set_str(&cfg->scratch_dir, v);
    } else if (IS("scratch", "keep")) {
        ok = !parse_bool(v, &cfg->keep_files);
    } else if (IS("scratch", "reserve")) {
        ok = !parse_bytes(v, 0, &cfg->scratch_reserve_bytes);
    } else if (IS("output", "catalogue")) {
        ok = *v && !set_str(&cfg->catalogue, v);
    } else if (IS("output", "checkpoint_s")) {
        ok = !parse_double(v, 0, 86400, &cfg->checkpoint_s);
    } else if (IS("output", "journal_fsync")) {
        ok = !parse_bool(v, &cfg->journal_fsync);
    } else if (IS("output", "pair_days")) {
        ok = !parse_double(v, 0, 3650, &cfg->pair_days);
    } else if (IS("run", "resume")) {
        ok = !parse_bool(v, &cfg->resume);
    } else if (IS("run", "max_attempts")) {
        ok = !parse_long(v, 1, 100, &n);
        cfg->max_attempts = (int)n;
    } else if (IS("run", "log_level")) {
        ok = (strcmp(v, "error") == 0 || strcmp(v, "warn") == 0 ||
              strcmp(v, "info") == 0 || strcmp(v, "debug") == 0) &&
             !set_str(&cfg->log_level, v);
    } else if (IS("download", "retries")) {
        ok = !parse_long(v, 0, 100, &n);
        cfg->retries = (int)n;
    } else if (IS("download", "backoff")) {
        want = "seconds, more than 0 and at most 3600";
        ok = !parse_double(v, 0, 3600, &cfg->backoff_s) && cfg->backoff_s > 0;
    } else if (IS("download", "backoff_max")) {
        want = "seconds, more than 0 and at most 86400";
        ok = !parse_double(v, 0, 86400, &cfg->backoff_max_s) &&
             cfg->backoff_max_s > 0;
    } else if (IS("download", "connect_timeout")) {
        want = "whole seconds, 1 to 3600";
        ok = !parse_long(v, 1, 3600, &cfg->connect_timeout_s);
    } else if (IS("download", "low_speed_limit")) {
        /* 0 would switch the stall detection off: a stalled transfer
         * would then hold its unit for ever. */
        want = "bytes per second, at least 1; k, M, G suffixes";
        ok = !parse_bytes(v, 1, &cfg->low_speed_limit_bps) &&
             cfg->low_speed_limit_bps <= LONG_MAX;
    } else if (IS("download", "low_speed_time")) {
        want = "whole seconds, 1 to 86400";
        ok = !parse_long(v, 1, 86400, &cfg->low_speed_time_s);
    } else if (IS("download", "ca_file")) {
        free(cfg->ca_file);
        cfg->ca_file = NULL;
        if (*v && set_ca_file(c, cfg, v, lineno)) {
            free(v);
            return 0;
        }
    } else if (IS("download", "segments")) {
        ok = !parse_long(v, 1, 32, &n);
        cfg->segments = (int)n;
    } else if (IS("download", "min_segment")) {
        ok = !parse_bytes(v, 1, &cfg->min_segment_bytes);
    } else if (IS("download", "max_transfers")) {
        ok = !parse_long(v, 1, 32, &n);
        cfg->max_transfers = (int)n;
    } else if (IS("download", "extract")) {
        ok = strcmp(v, "after") == 0 || strcmp(v, "during") == 0;
        cfg->extract_during = strcmp(v, "during") == 0;
    } else if (strcmp(section, "casa") == 0 &&
               (ok = asw_casa_config_set(&cfg->casa, key, v)) >= 0) {
        /* [casa]: src/config_casa.c */
    } else if ((ok = asw_sched_config_set(&cfg->sched, section, key, v)) >= 0) {
        /* [scheduler] and [run] progress: src/config_sched.c */
    } else {
        asw_err_set(c->err, ASW_ECONFIG, "config",
                    "%s:%d: unknown key '%s' in section [%s] (see "
                    "docs/config.md for the keys)",
                    c->path, lineno, key, section);
        c->failed = 1;
        free(v);
        return 0;
    }
#undef IS
    if (!ok) {
        asw_err_set(c->err, ASW_ECONFIG, "config",
                    "%s:%d: bad value for [%s] %s: '%s'%s%s%s", c->path, lineno,
                    section, key, bad ? bad : v, want ? " (" : "",
                    want ? want : "", want ? ")" : "");
        c->failed = 1;
    }
    free(v);
    return ok;
}

/* Debian's inih is built without line numbers in the handler, so the
 * reader counts them: the handler always runs for the line just read. */
struct line_reader {
    const char *p;
    struct parse_ctx *ctx;
};

static char *read_line(char *str, int num, void *stream)
{
    struct line_reader *r = stream;
    if (!*r->p || num < 2)
        return NULL;
    int i = 0;
    while (i < num - 1 && r->p[i] && r->p[i] != '\n')
        i++;
    if (i == num - 1 && r->p[i]) {
        /* inih's line buffer is fixed (INI_MAX_LINE); a longer line would
         * be cut silently. Say so instead. */
        r->ctx->line_no++;
        asw_err_set(r->ctx->err, ASW_ECONFIG, "config",
                    "%s:%d: line longer than %d characters; split long lists "
                    "over indented continuation lines",
                    r->ctx->path, r->ctx->line_no, num - 2);
        r->ctx->failed = 1;
        return NULL;
    }
    if (r->p[i] == '\n')
        i++; /* i <= num - 1 here: room for the NUL */
    memcpy(str, r->p, (size_t)i);
    str[i] = '\0';
    r->p += i;
    r->ctx->line_no++;
    return str;
}

static int handler_compat(void *user, const char *section, const char *key,
                          const char *value)
{
    struct parse_ctx *c = user;
    return handler(user, section, key, value, c->line_no);
}

static void set_defaults(struct asw_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->public_only = -1; /* resolved after parsing (credentials) */
    cfg->mjd_from = NAN;
    cfg->mjd_to = NAN;
    cfg->freq_min_ghz = NAN;
    cfg->freq_max_ghz = NAN;
    cfg->velocity_res_max_ms = NAN;
    cfg->archive_retries = 3;
    cfg->resume = 1;
    cfg->max_attempts = 3;
    cfg->checkpoint_s = 60;
    cfg->journal_fsync = 1;
    cfg->pair_days = 14;
    cfg->retries = 5;
    cfg->backoff_s = 1;
    cfg->backoff_max_s = 60;
    cfg->connect_timeout_s = 30;
    cfg->low_speed_limit_bps = 1;
    cfg->low_speed_time_s = 120;
    cfg->segments = 4;
    cfg->min_segment_bytes = 64LL << 20;
    cfg->max_transfers = 4;
    cfg->extract_during = 1; /* docs/benchmarks.md: it wins */
    cfg->scratch_reserve_bytes = 1LL << 30;
}

/* Cross-key checks and defaults of [archive], after every key was read. */
static int check_archive(struct asw_config *cfg, struct asw_err *err)
{
    if (cfg->public_only < 0)
        cfg->public_only = cfg->credentials == NULL;
    if (cfg->credentials && strcmp(cfg->credentials, "env") == 0) {
        if ((!cfg->user_env && set_str(&cfg->user_env, "ALMA_USER")) ||
            (!cfg->password_env &&
             set_str(&cfg->password_env, "ALMA_PASSWORD")))
            return asw_err_set(err, ASW_ENOMEM, "config", "out of memory");
    }
    if (!isnan(cfg->mjd_from) && !isnan(cfg->mjd_to) &&
        cfg->mjd_to <= cfg->mjd_from)
        return asw_err_set(err, ASW_ECONFIG, "config",
                           "%s: [archive] date_to is before date_from",
                           cfg->path);
    if (!isnan(cfg->freq_min_ghz) && !isnan(cfg->freq_max_ghz) &&
        cfg->freq_max_ghz < cfg->freq_min_ghz)
        return asw_err_set(err, ASW_ECONFIG, "config",
                           "%s: [archive] freq_max_ghz is below freq_min_ghz",
                           cfg->path);
    return 0;
}

/* Cross-key checks of [download]. */
static int check_download(const struct asw_config *cfg, struct asw_err *err)
{
    if (cfg->backoff_max_s < cfg->backoff_s)
        return asw_err_set(err, ASW_ECONFIG, "config",
                           "%s: [download] backoff_max (%g s) is below "
                           "backoff (%g s)",
                           cfg->path, cfg->backoff_max_s, cfg->backoff_s);
    return 0;
}

int asw_config_parse(const char *text, const char *path, struct asw_config *cfg,
                     struct asw_err *err)
{
    set_defaults(cfg);
    struct parse_ctx ctx = {cfg, err, path ? path : "<config>", 0, 0};
    if (asw_casa_config_defaults(&cfg->casa))
        goto nomem;
    asw_sched_config_defaults(&cfg->sched);
    cfg->path = strdup(ctx.path);
    cfg->text = strdup(text);
    struct line_reader rd = {text, &ctx};
    int rc = ini_parse_stream(read_line, &rd, handler_compat, &ctx);
    if (ctx.failed)
        goto fail;
    if (rc > 0) {
        asw_err_set(err, ASW_ECONFIG, "config", "%s:%d: syntax error", ctx.path,
                    rc);
        goto fail;
    }
    if (rc < 0) {
        asw_err_set(err, ASW_ENOMEM, "config", "out of memory");
        goto fail;
    }
    if (!cfg->mirrors.n) {
        asw_err_set(err, ASW_ECONFIG, "config",
                    "%s: [archive] mirrors is required, e.g. "
                    "https://almascience.eso.org",
                    ctx.path);
        goto fail;
    }
    if (check_archive(cfg, err) || check_download(cfg, err))
        goto fail;
    if (!cfg->mode && set_str(&cfg->mode, "products"))
        goto nomem;
    if (!cfg->catalogue && set_str(&cfg->catalogue, "almasweep.h5"))
        goto nomem;
    if (!cfg->log_level && set_str(&cfg->log_level, "info"))
        goto nomem;
    if (!cfg->scratch_dir) {
        char *d = asw_config_expand("${SLURM_TMPDIR:-${TMPDIR:-/tmp}}", err);
        if (!d)
            goto fail;
        cfg->scratch_dir = d;
    }
    return 0;
nomem:
    asw_err_set(err, ASW_ENOMEM, "config", "out of memory");
fail:
    asw_config_free(cfg);
    return err ? err->code : ASW_ECONFIG;
}

int asw_config_load(const char *path, struct asw_config *cfg,
                    struct asw_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return asw_err_set(err, ASW_EIO, "config", "cannot open %s: %s", path,
                           strerror(errno));
    struct asw_buf b;
    asw_buf_init(&b, MAX_CONFIG_BYTES);
    char chunk[4096];
    size_t n;
    int rc = 0;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        if ((rc = asw_buf_append(&b, chunk, n)))
            break;
    fclose(f);
    if (rc) {
        asw_buf_free(&b);
        return asw_err_set(err, rc, "config", "%s: larger than %d bytes", path,
                           MAX_CONFIG_BYTES);
    }
    rc = asw_config_parse(b.data ? b.data : "", path, cfg, err);
    asw_buf_free(&b);
    return rc;
}

void asw_config_free(struct asw_config *cfg)
{
    if (!cfg)
        return;
    free(cfg->path);
    free(cfg->text);
    asw_strlist_free(&cfg->mirrors);
    asw_strlist_free(&cfg->targets);
    asw_strlist_free(&cfg->bands);
    asw_strlist_free(&cfg->cycles);
    asw_strlist_free(&cfg->projects);
    free(cfg->credentials);
    free(cfg->user_env);
    free(cfg->password_env);
    free(cfg->mode);
    free(cfg->scratch_dir);
    free(cfg->catalogue);
    free(cfg->log_level);
    free(cfg->ca_file);
    asw_casa_config_free(&cfg->casa);
    asw_sched_config_free(&cfg->sched);
    memset(cfg, 0, sizeof *cfg);
}
