/*
 * buf.h - a growable byte buffer with a hard cap, for everything that grows
 * from outside input (response bodies, captured output, payloads).
 */
#ifndef ASW_BUF_H
#define ASW_BUF_H

#include <stddef.h>

struct asw_buf {
    char *data; /* always NUL-terminated when non-NULL */
    size_t len;
    size_t cap;
    size_t max; /* appending past this fails with ASW_ETOOBIG */
};

/* Initialise an empty buffer that may grow to max bytes. */
void asw_buf_init(struct asw_buf *b, size_t max);

/* Append n bytes. Returns 0, ASW_ENOMEM or ASW_ETOOBIG (b unchanged). */
int asw_buf_append(struct asw_buf *b, const void *p, size_t n);

/* Append a NUL-terminated string. */
int asw_buf_puts(struct asw_buf *b, const char *s);

/* Append printf-formatted text. */
int asw_buf_printf(struct asw_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Drop the contents, keep the allocation. */
void asw_buf_reset(struct asw_buf *b);

/* Free the storage. Accepts NULL. */
void asw_buf_free(struct asw_buf *b);

#endif
