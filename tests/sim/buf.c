/* Growing byte buffer with a cap, XML/URL escaping, request parameters and
 * the reply helpers shared by the endpoints. */
#include "sim.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

void asw_sim_buf_init(struct asw_sim_buf *b, size_t max)
{
    memset(b, 0, sizeof(*b));
    b->max = max ? max : ASW_SIM_MAX_REPLY_BYTES;
}

static int reserve(struct asw_sim_buf *b, size_t extra)
{
    if (b->toobig || b->oom)
        return -1;
    if (extra > b->max || b->len + extra > b->max) {
        b->toobig = 1;
        return -1;
    }
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap *= 2;
    char *p = realloc(b->data, cap);
    if (!p) {
        b->oom = 1;
        return -1;
    }
    b->data = p;
    b->cap = cap;
    return 0;
}

int asw_sim_buf_add(struct asw_sim_buf *b, const char *s, size_t n)
{
    if (reserve(b, n))
        return -1;
    if (n)
        memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int asw_sim_buf_puts(struct asw_sim_buf *b, const char *s)
{
    return asw_sim_buf_add(b, s, strlen(s));
}

int asw_sim_buf_printf(struct asw_sim_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || reserve(b, (size_t)n))
        return -1;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 if invalid.
 * Overlong forms and surrogates are rejected like a strict XML parser
 * would. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len;
    unsigned min;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
        min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        min = 0x10000;
    } else {
        return 0;
    }
    if (len > n)
        return 0;
    unsigned cp = c & (0xff >> (len + 1));
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

int asw_sim_buf_xml(struct asw_sim_buf *b, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, run = 0;
    while (i < n) {
        unsigned c = u[i];
        const char *rep = NULL;
        size_t len = 1;
        switch (c) {
        case '&':
            rep = "&amp;";
            break;
        case '<':
            rep = "&lt;";
            break;
        case '>':
            rep = "&gt;";
            break;
        case '"':
            rep = "&quot;";
            break;
        case '\'':
            rep = "&apos;";
            break;
        default:
            if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') ||
                c == 0x7f) {
                rep = "?";
            } else if (c >= 0x80) {
                len = utf8_len(u + i, n - i);
                if (len == 0) {
                    rep = "?";
                    len = 1;
                }
            }
        }
        if (rep) {
            if (asw_sim_buf_add(b, s + run, i - run) ||
                asw_sim_buf_puts(b, rep))
                return -1;
            run = i + len;
        }
        i += len;
    }
    return asw_sim_buf_add(b, s + run, n - run);
}

int asw_sim_buf_urlenc(struct asw_sim_buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        unsigned c = *p;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
            (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
            c == '~') {
            char ch = (char)c;
            if (asw_sim_buf_add(b, &ch, 1))
                return -1;
        } else {
            char esc[3] = {'%', hex[c >> 4], hex[c & 15]};
            if (asw_sim_buf_add(b, esc, 3))
                return -1;
        }
    }
    return 0;
}

char *asw_sim_buf_steal(struct asw_sim_buf *b, size_t *len)
{
    char *p = b->data;
    if (len)
        *len = b->len;
    if (!p)
        p = calloc(1, 1);
    size_t max = b->max;
    memset(b, 0, sizeof(*b));
    b->max = max;
    return p;
}

void asw_sim_buf_free(struct asw_sim_buf *b)
{
    if (!b)
        return;
    free(b->data);
    size_t max = b->max;
    memset(b, 0, sizeof(*b));
    b->max = max;
}

int asw_sim_params_add(struct asw_sim_params *p, const char *key,
                       const char *val, size_t len, int append)
{
    if (p->bytes + len > ASW_SIM_MAX_FORM_BYTES)
        return -1;
    if (append && p->n && strcasecmp(p->v[p->n - 1].key, key) == 0) {
        struct asw_sim_param *last = &p->v[p->n - 1];
        char *nv = realloc(last->val, last->val_len + len + 1);
        if (!nv)
            return -1;
        memcpy(nv + last->val_len, val, len);
        last->val_len += len;
        nv[last->val_len] = '\0';
        last->val = nv;
        p->bytes += len;
        return 0;
    }
    if (p->n >= ASW_SIM_MAX_PARAMS)
        return -1;
    if (p->n == p->cap) {
        size_t cap = p->cap ? 2 * p->cap : 8;
        struct asw_sim_param *nv = realloc(p->v, cap * sizeof(*nv));
        if (!nv)
            return -1;
        p->v = nv;
        p->cap = cap;
    }
    char *k = strdup(key);
    char *v = malloc(len + 1);
    if (!k || !v) {
        free(k);
        free(v);
        return -1;
    }
    if (len)
        memcpy(v, val, len);
    v[len] = '\0';
    p->v[p->n].key = k;
    p->v[p->n].val = v;
    p->v[p->n].val_len = len;
    p->n++;
    p->bytes += len;
    return 0;
}

const char *asw_sim_params_get(const struct asw_sim_params *p, const char *key)
{
    for (size_t i = 0; i < p->n; i++)
        if (strcasecmp(p->v[i].key, key) == 0)
            return p->v[i].val;
    return NULL;
}

void asw_sim_params_free(struct asw_sim_params *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++) {
        free(p->v[i].key);
        free(p->v[i].val);
    }
    free(p->v);
    memset(p, 0, sizeof(*p));
}

void asw_sim_reply_init(struct asw_sim_reply *r)
{
    memset(r, 0, sizeof(*r));
    r->fd = -1;
}

void asw_sim_reply_clear(struct asw_sim_reply *r)
{
    if (!r)
        return;
    free(r->body);
    free(r->filename);
    if (r->fd >= 0)
        close(r->fd);
    asw_sim_reply_init(r);
}

int asw_sim_reply_text(struct asw_sim_reply *r, unsigned status,
                       const char *fmt, ...)
{
    struct asw_sim_buf b;
    asw_sim_buf_init(&b, 1u << 16);
    va_list ap;
    va_start(ap, fmt);
    char tmp[4096];
    vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (asw_sim_buf_puts(&b, tmp) || asw_sim_buf_puts(&b, "\n")) {
        asw_sim_buf_free(&b);
        return -1;
    }
    free(r->body);
    r->body = asw_sim_buf_steal(&b, &r->body_len);
    r->status = status;
    r->content_type = "text/plain; charset=utf-8";
    return 0;
}
