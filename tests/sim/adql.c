/*
 * ADQL -> SQLite translation.
 *
 * Not a full ADQL parser: the query is tokenized (so string literals and
 * quoted identifiers are never touched) and a few token-level rewrites
 * turn it into SQLite. What SQLite already shares with ADQL (SELECT
 * syntax, comparison and boolean operators, ||, IN, BETWEEN, CAST,
 * functions such as SQRT, POWER, ABS, LOWER) passes through. Rewrites:
 *   ivoa.<table>        -> <table>        (schema prefix dropped)
 *   SELECT [DISTINCT] TOP n ...  -> SELECT [DISTINCT] ... LIMIT n
 *   ... OFFSET m        -> LIMIT n OFFSET m (LIMIT -1 without TOP)
 *   x ILIKE p           -> x MATCH p      (MATCH is our case-insensitive
 *                                          LIKE function)
 *   LOG(x)              -> LN(x)          (ADQL LOG is natural)
 * LIKE itself is not rewritten: asw_sim_adql_register() replaces SQLite's
 * like() with a case-sensitive one in which backslash escapes % and _.
 * Geometry functions are SQLite functions of the same names (geom.c).
 */
#include "sim.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_TOKENS 100000

enum kind { T_WORD, T_QIDENT, T_STRING, T_NUMBER, T_OP, T_LP, T_RP, T_DOT };

struct tok {
    enum kind kind;
    const char *s; /* token text */
    size_t n;
    const char *ws; /* whitespace before the token */
    size_t wsn;
    int drop;         /* emit only the whitespace */
    const char *repl; /* replacement text, or NULL */
    char ins[48];     /* text inserted before this token ("" = none) */
};

struct lexer {
    struct tok *t;
    size_t n, cap;
    char ins_end[48]; /* text appended after the last token */
};

static int is_word_start(int c)
{
    return isalpha(c) || c == '_';
}

static int is_word(int c)
{
    return isalnum(c) || c == '_';
}

static int push(struct lexer *lx, enum kind k, const char *s, size_t n,
                const char *ws, size_t wsn)
{
    if (lx->n >= MAX_TOKENS)
        return -1;
    if (lx->n == lx->cap) {
        size_t cap = lx->cap ? 2 * lx->cap : 64;
        struct tok *nt = realloc(lx->t, cap * sizeof(*nt));
        if (!nt)
            return -1;
        lx->t = nt;
        lx->cap = cap;
    }
    struct tok *t = &lx->t[lx->n++];
    memset(t, 0, sizeof(*t));
    t->kind = k;
    t->s = s;
    t->n = n;
    t->ws = ws;
    t->wsn = wsn;
    return 0;
}

static int lex(const char *q, struct lexer *lx, char *err, size_t errlen)
{
    const char *p = q;
    for (;;) {
        const char *ws = p;
        for (;;) {
            while (*p && isspace((unsigned char)*p))
                p++;
            if (p[0] == '-' && p[1] == '-') { /* ADQL comment */
                while (*p && *p != '\n')
                    p++;
                continue;
            }
            break;
        }
        size_t wsn = (size_t)(p - ws);
        if (!*p)
            return 0;
        const char *s = p;
        enum kind k;
        if (*p == '\'' || *p == '"') {
            char qc = *p++;
            for (;;) {
                if (!*p) {
                    snprintf(
                        err, errlen, "unterminated %s starting at: %.40s",
                        qc == '\'' ? "string literal" : "quoted identifier", s);
                    return -1;
                }
                if (*p == qc) {
                    if (p[1] == qc) {
                        p += 2;
                        continue;
                    }
                    p++;
                    break;
                }
                p++;
            }
            k = qc == '\'' ? T_STRING : T_QIDENT;
        } else if (is_word_start((unsigned char)*p)) {
            while (is_word((unsigned char)*p))
                p++;
            k = T_WORD;
        } else if (isdigit((unsigned char)*p) ||
                   (*p == '.' && isdigit((unsigned char)p[1]))) {
            while (isdigit((unsigned char)*p) || *p == '.')
                p++;
            if ((*p == 'e' || *p == 'E') && (isdigit((unsigned char)p[1]) ||
                                             ((p[1] == '+' || p[1] == '-') &&
                                              isdigit((unsigned char)p[2])))) {
                p += 2;
                while (isdigit((unsigned char)*p))
                    p++;
            }
            k = T_NUMBER;
        } else if (*p == '(') {
            p++;
            k = T_LP;
        } else if (*p == ')') {
            p++;
            k = T_RP;
        } else if (*p == '.') {
            p++;
            k = T_DOT;
        } else {
            static const char *two[] = {"<=", ">=", "<>", "!=", "||", NULL};
            k = T_OP;
            size_t len = 1;
            for (int i = 0; two[i]; i++)
                if (strncmp(p, two[i], 2) == 0)
                    len = 2;
            p += len;
        }
        if (push(lx, k, s, (size_t)(p - s), ws, wsn)) {
            snprintf(err, errlen, "query too long");
            return -1;
        }
    }
}

static int is_kw(const struct tok *t, const char *kw)
{
    return t->kind == T_WORD && strlen(kw) == t->n &&
           strncasecmp(t->s, kw, t->n) == 0;
}

/* One SELECT scope at a parenthesis depth, for TOP and OFFSET. */
struct scope {
    int depth;
    char top[32];    /* "" = no TOP */
    long offset_tok; /* index of the OFFSET token, -1 = none */
};

static void close_scope(struct lexer *lx, const struct scope *sc, size_t at)
{
    char *dst;
    if (sc->offset_tok >= 0)
        dst = lx->t[sc->offset_tok].ins;
    else if (at < lx->n)
        dst = lx->t[at].ins;
    else
        dst = lx->ins_end;
    if (sc->top[0])
        snprintf(dst, sizeof(lx->ins_end), " LIMIT %s", sc->top);
    else if (sc->offset_tok >= 0)
        snprintf(dst, sizeof(lx->ins_end), " LIMIT -1");
}

static int rewrite(struct lexer *lx, char *err, size_t errlen)
{
    struct scope st[64];
    int nst = 0, depth = 0;
    size_t n = lx->n;

    /* Trailing semicolons are tolerated; any other one makes a second
     * statement, which prepare() then refuses. */
    while (n > 0 && lx->t[n - 1].kind == T_OP && lx->t[n - 1].s[0] == ';')
        lx->t[--n].drop = 1;
    if (n == 0) {
        snprintf(err, errlen, "empty query");
        return -1;
    }
    if (!is_kw(&lx->t[0], "SELECT") && !is_kw(&lx->t[0], "WITH")) {
        snprintf(err, errlen, "only SELECT queries are supported");
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        struct tok *t = &lx->t[i];
        if (t->kind == T_LP) {
            depth++;
            continue;
        }
        if (t->kind == T_RP) {
            if (nst > 0 && st[nst - 1].depth == depth)
                close_scope(lx, &st[--nst], i);
            depth--;
            if (depth < 0) {
                snprintf(err, errlen, "unbalanced parentheses");
                return -1;
            }
            continue;
        }
        if (t->kind != T_WORD)
            continue;
        if (is_kw(t, "SELECT")) {
            /* A second SELECT at the same depth is a UNION member: SQLite
             * only takes one LIMIT for the whole compound. */
            int same = nst > 0 && st[nst - 1].depth == depth;
            if (!same) {
                if (nst == 64) {
                    snprintf(err, errlen, "query nested too deeply");
                    return -1;
                }
                st[nst].depth = depth;
                st[nst].top[0] = '\0';
                st[nst].offset_tok = -1;
                nst++;
            }
            struct scope *sc = &st[nst - 1];
            for (size_t j = i + 1; j < n && j <= i + 3; j++) {
                if (is_kw(&lx->t[j], "DISTINCT") || is_kw(&lx->t[j], "ALL"))
                    continue;
                if (is_kw(&lx->t[j], "TOP")) {
                    if (j + 1 >= n || lx->t[j + 1].kind != T_NUMBER ||
                        lx->t[j + 1].n >= sizeof(sc->top)) {
                        snprintf(err, errlen, "TOP needs an integer");
                        return -1;
                    }
                    if (!sc->top[0]) {
                        memcpy(sc->top, lx->t[j + 1].s, lx->t[j + 1].n);
                        sc->top[lx->t[j + 1].n] = '\0';
                    }
                    lx->t[j].drop = lx->t[j + 1].drop = 1;
                }
                break;
            }
        } else if (is_kw(t, "OFFSET")) {
            if (nst > 0 && st[nst - 1].depth == depth)
                st[nst - 1].offset_tok = (long)i;
        } else if (is_kw(t, "ivoa") && i + 2 < n &&
                   lx->t[i + 1].kind == T_DOT &&
                   (lx->t[i + 2].kind == T_WORD ||
                    lx->t[i + 2].kind == T_QIDENT)) {
            t->repl = "";
            lx->t[i + 1].drop = 1;
        } else if (is_kw(t, "ILIKE")) {
            t->repl = "MATCH";
        } else if (is_kw(t, "LOG") && i + 1 < n && lx->t[i + 1].kind == T_LP &&
                   (i == 0 || lx->t[i - 1].kind != T_DOT)) {
            t->repl = "LN";
        }
    }
    if (depth != 0) {
        snprintf(err, errlen, "unbalanced parentheses");
        return -1;
    }
    while (nst > 0)
        close_scope(lx, &st[--nst], lx->n);
    return 0;
}

int asw_sim_adql_to_sql(const char *adql, char **out, char *err, size_t errlen)
{
    struct lexer lx = {0};
    struct asw_sim_buf b;
    int rc = -1;
    *out = NULL;
    asw_sim_buf_init(&b, 16u << 20);
    if (lex(adql, &lx, err, errlen) || rewrite(&lx, err, errlen))
        goto out;
    for (size_t i = 0; i < lx.n; i++) {
        struct tok *t = &lx.t[i];
        asw_sim_buf_puts(&b, t->ins);
        if (t->drop)
            continue; /* with its whitespace: TOP 5 leaves no gap */
        asw_sim_buf_add(&b, t->ws, t->wsn);
        if (t->repl)
            asw_sim_buf_puts(&b, t->repl);
        else
            asw_sim_buf_add(&b, t->s, t->n);
    }
    asw_sim_buf_puts(&b, lx.ins_end);
    if (b.toobig || b.oom) {
        snprintf(err, errlen, "query too long");
        goto out;
    }
    *out = asw_sim_buf_steal(&b, NULL);
    rc = 0;
out:
    asw_sim_buf_free(&b);
    free(lx.t);
    return rc;
}

/* ---- LIKE ---------------------------------------------------------------
 * ADQL LIKE is case-sensitive; astroquery escapes a literal % or _ with a
 * backslash. SQLite routes `x LIKE p` to like(p, x) and `x LIKE p ESCAPE e`
 * to like(p, x, e), so overriding like() covers both; MATCH (our ILIKE)
 * routes to match(p, x). */

static const unsigned char *next_char(const unsigned char *s)
{
    s++;
    while ((*s & 0xc0) == 0x80)
        s++;
    return s;
}

static int fold(int c, int nocase)
{
    return nocase && c < 0x80 ? tolower(c) : c;
}

/* Iterative matcher with one backtrack point: enough for % and _ since a
 * later % supersedes an earlier one. */
static int like_match(const unsigned char *p, const unsigned char *s, int esc,
                      int nocase)
{
    const unsigned char *star_p = NULL, *star_s = NULL;
    while (*s) {
        if (*p == '%') {
            while (*p == '%')
                p++;
            if (!*p)
                return 1;
            star_p = p;
            star_s = s;
            continue;
        }
        int ok;
        const unsigned char *pn;
        if (*p == '_') {
            ok = 1;
            pn = p + 1;
        } else if (esc >= 0 && *p == esc && p[1]) {
            /* Compare the escaped character byte-wise (it may be
             * multi-byte UTF-8). */
            const unsigned char *e = next_char(p + 1);
            size_t len = (size_t)(e - (p + 1));
            ok = strncmp((const char *)p + 1, (const char *)s, len) == 0 ||
                 (len == 1 && fold(p[1], nocase) == fold(*s, nocase));
            pn = e;
        } else if (*p) {
            const unsigned char *e = next_char(p);
            size_t len = (size_t)(e - p);
            ok = len == 1 ? fold(*p, nocase) == fold(*s, nocase)
                          : strncmp((const char *)p, (const char *)s, len) == 0;
            pn = e;
        } else {
            ok = 0;
            pn = p;
        }
        if (ok) {
            p = pn;
            s = next_char(s);
        } else if (star_p) {
            p = star_p;
            star_s = next_char(star_s);
            s = star_s;
        } else {
            return 0;
        }
    }
    while (*p == '%')
        p++;
    return *p == '\0';
}

static void like_impl(sqlite3_context *ctx, int argc, sqlite3_value **argv,
                      int nocase)
{
    const unsigned char *pat = sqlite3_value_text(argv[0]);
    const unsigned char *str = sqlite3_value_text(argv[1]);
    int esc = '\\';
    if (argc == 3) {
        const unsigned char *e = sqlite3_value_text(argv[2]);
        if (!e || !e[0] || e[1]) {
            sqlite3_result_error(ctx,
                                 "ESCAPE expression must be a single "
                                 "character",
                                 -1);
            return;
        }
        esc = e[0];
    }
    if (!pat || !str) {
        sqlite3_result_null(ctx);
        return;
    }
    sqlite3_result_int(ctx, like_match(pat, str, esc, nocase));
}

static void like_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    like_impl(ctx, argc, argv, 0);
}

static void match_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    like_impl(ctx, argc, argv, 1);
}

/* ADQL TRUNCATE(x [, n]): x truncated towards zero to n decimals. */
static void truncate_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    if (sqlite3_value_type(argv[0]) == SQLITE_NULL) {
        sqlite3_result_null(ctx);
        return;
    }
    double x = sqlite3_value_double(argv[0]);
    int nd = argc > 1 ? sqlite3_value_int(argv[1]) : 0;
    double f = pow(10.0, nd);
    sqlite3_result_double(ctx, trunc(x * f) / f);
}

int asw_sim_adql_register(sqlite3 *db)
{
    const int flags = SQLITE_UTF8 | SQLITE_DETERMINISTIC;
    int rc = sqlite3_create_function(db, "like", 2, flags, NULL, like_fn, NULL,
                                     NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_create_function(db, "like", 3, flags, NULL, like_fn, NULL,
                                     NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_create_function(db, "match", 2, flags, NULL, match_fn,
                                     NULL, NULL);
    for (int n = 1; n <= 2 && rc == SQLITE_OK; n++)
        rc = sqlite3_create_function(db, "truncate", n, flags, NULL,
                                     truncate_fn, NULL, NULL);
    if (rc == SQLITE_OK)
        rc = asw_sim_geom_register(db);
    return rc;
}
