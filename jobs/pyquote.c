#include "pyquote.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Decode one UTF-8 sequence at s (n bytes left). Returns its length and
 * the code point in *cp, or 0 if the bytes are not well-formed UTF-8
 * (RFC 3629: no overlong forms, no surrogates, at most U+10FFFF). */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    size_t len;
    uint32_t c, min;
    if ((s[0] & 0xE0) == 0xC0) {
        len = 2, c = s[0] & 0x1F, min = 0x80;
    } else if ((s[0] & 0xF0) == 0xE0) {
        len = 3, c = s[0] & 0x0F, min = 0x800;
    } else if ((s[0] & 0xF8) == 0xF0) {
        len = 4, c = s[0] & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        c = (c << 6) | (s[i] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        return 0;
    *cp = c;
    return len;
}

int asw_py_quote(struct asw_buf *out, const char *s, size_t len,
                 struct asw_err *err)
{
    const unsigned char *p = (const unsigned char *)s;
    /* Validate first, so that a rejected string leaves out untouched. */
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        if (p[i] == 0)
            return asw_err_set(err, ASW_EINVAL, "pyquote",
                               "NUL byte at offset %zu of a string for "
                               "generated Python",
                               i);
        size_t k = utf8_decode(p + i, len - i, &cp);
        if (!k)
            return asw_err_set(err, ASW_EINVAL, "pyquote",
                               "invalid UTF-8 at offset %zu of a string for "
                               "generated Python",
                               i);
        i += k;
    }
    size_t mark = out->len;
    int rc = asw_buf_append(out, "'", 1);
    for (size_t i = 0; i < len && !rc;) {
        uint32_t cp;
        size_t k = utf8_decode(p + i, len - i, &cp);
        i += k;
        switch (cp) {
        case '\'':
            rc = asw_buf_puts(out, "\\'");
            break;
        case '"':
            rc = asw_buf_puts(out, "\\\"");
            break;
        case '\\':
            rc = asw_buf_puts(out, "\\\\");
            break;
        case '\n':
            rc = asw_buf_puts(out, "\\n");
            break;
        case '\r':
            rc = asw_buf_puts(out, "\\r");
            break;
        case '\t':
            rc = asw_buf_puts(out, "\\t");
            break;
        default:
            if (cp < 0x20 || cp == 0x7F)
                rc = asw_buf_printf(out, "\\x%02x", (unsigned)cp);
            else if (cp < 0x80) {
                char c = (char)cp;
                rc = asw_buf_append(out, &c, 1);
            } else if (cp < 0x10000)
                rc = asw_buf_printf(out, "\\u%04x", (unsigned)cp);
            else
                rc = asw_buf_printf(out, "\\U%08x", (unsigned)cp);
        }
    }
    if (!rc)
        rc = asw_buf_append(out, "'", 1);
    if (rc) {
        /* Never leave half a literal behind. */
        out->len = mark;
        if (out->data)
            out->data[mark] = '\0';
        return asw_err_set(err, rc, "pyquote",
                           "string for generated Python too long (%zu "
                           "bytes)",
                           len);
    }
    return 0;
}

int asw_py_quote_str(struct asw_buf *out, const char *s, struct asw_err *err)
{
    return asw_py_quote(out, s, strlen(s), err);
}

/* ---- nested literals ------------------------------------------------- */

void asw_pyw_init(struct asw_pywriter *w, struct asw_buf *out,
                  struct asw_err *err)
{
    memset(w, 0, sizeof *w);
    w->out = out;
    w->err = err;
    w->first[0] = 1;
}

static void fail(struct asw_pywriter *w, int rc, const char *what)
{
    if (!w->rc)
        w->rc = asw_err_set(w->err, rc, "pyquote", "%s", what);
}

/* The separator before a value or a key at the current depth. */
static void sep(struct asw_pywriter *w)
{
    if (w->rc)
        return;
    if (w->after_key) {
        w->after_key = 0;
        return;
    }
    if (!w->first[w->depth] && asw_buf_puts(w->out, ", "))
        fail(w, ASW_ENOMEM, "out of memory");
    w->first[w->depth] = 0;
}

static void open_(struct asw_pywriter *w, const char *c)
{
    sep(w);
    if (w->rc)
        return;
    if (w->depth + 1 >= ASW_PYW_MAX_DEPTH) {
        fail(w, ASW_EINVAL, "Python literal nested too deep");
        return;
    }
    if (asw_buf_puts(w->out, c)) {
        fail(w, ASW_ENOMEM, "out of memory");
        return;
    }
    w->first[++w->depth] = 1;
}

static void close_(struct asw_pywriter *w, const char *c)
{
    if (w->rc)
        return;
    if (w->depth == 0 || w->after_key) {
        fail(w, ASW_EINVAL, "unbalanced Python literal");
        return;
    }
    w->depth--;
    if (asw_buf_puts(w->out, c))
        fail(w, ASW_ENOMEM, "out of memory");
}

void asw_pyw_begin_dict(struct asw_pywriter *w)
{
    open_(w, "{");
}

void asw_pyw_end_dict(struct asw_pywriter *w)
{
    close_(w, "}");
}

void asw_pyw_begin_list(struct asw_pywriter *w)
{
    open_(w, "[");
}

void asw_pyw_end_list(struct asw_pywriter *w)
{
    close_(w, "]");
}

void asw_pyw_key(struct asw_pywriter *w, const char *key)
{
    sep(w);
    if (w->rc)
        return;
    int rc = asw_py_quote_str(w->out, key, w->err);
    if (rc) {
        w->rc = rc;
        return;
    }
    if (asw_buf_puts(w->out, ": ")) {
        fail(w, ASW_ENOMEM, "out of memory");
        return;
    }
    w->after_key = 1;
}

void asw_pyw_str(struct asw_pywriter *w, const char *s)
{
    sep(w);
    if (w->rc)
        return;
    int rc = asw_py_quote_str(w->out, s ? s : "", w->err);
    if (rc)
        w->rc = rc;
}

static void raw(struct asw_pywriter *w, const char *text)
{
    sep(w);
    if (!w->rc && asw_buf_puts(w->out, text))
        fail(w, ASW_ENOMEM, "out of memory");
}

void asw_pyw_int(struct asw_pywriter *w, long long v)
{
    char b[32];
    snprintf(b, sizeof b, "%lld", v);
    raw(w, b);
}

void asw_pyw_double(struct asw_pywriter *w, double v)
{
    char b[40];
    if (isnan(v))
        snprintf(b, sizeof b, "float('nan')");
    else if (isinf(v))
        snprintf(b, sizeof b, "float('%sinf')", v < 0 ? "-" : "");
    else {
        snprintf(b, sizeof b, "%.17g", v);
        /* Keep it a float: 2 -> 2.0. */
        if (!strpbrk(b, ".eE"))
            strcat(b, ".0");
    }
    raw(w, b);
}

void asw_pyw_bool(struct asw_pywriter *w, int v)
{
    raw(w, v ? "True" : "False");
}

void asw_pyw_none(struct asw_pywriter *w)
{
    raw(w, "None");
}

int asw_pyw_finish(struct asw_pywriter *w)
{
    if (!w->rc && (w->depth != 0 || w->after_key))
        fail(w, ASW_EINVAL, "unbalanced Python literal");
    return w->rc;
}
