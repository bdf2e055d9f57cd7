/*
 * pyquote.h - the one way text reaches generated CASA Python: as a Python
 * string literal (STYLE.md, "Text that reaches ADQL or generated CASA Python
 * is quoted for that language by one function each").
 */
#ifndef ASW_PYQUOTE_H
#define ASW_PYQUOTE_H

#include "src/buf.h"
#include "src/err.h"

#include <stddef.h>

/*
 * Append to out a Python 3 string literal whose value is the UTF-8 text
 * s[0..len). The literal is single-quoted and pure printable ASCII: quotes
 * of both kinds and the backslash are escaped, control characters become
 * \n, \t, \r or \xHH, and every non-ASCII character becomes \uXXXX or
 * \UXXXXXXXX, so the literal cannot end early, span lines, or change
 * meaning with the file's encoding, whatever s holds. Returns 0; ASW_EINVAL
 * (with err) if s holds a NUL byte or is not valid UTF-8 (overlong forms,
 * surrogates and code points above U+10FFFF included), leaving out
 * unchanged; or ASW_ENOMEM / ASW_ETOOBIG from the buffer.
 */
int asw_py_quote(struct asw_buf *out, const char *s, size_t len,
                 struct asw_err *err);

/* asw_py_quote of a NUL-terminated string. */
int asw_py_quote_str(struct asw_buf *out, const char *s, struct asw_err *err);

/*
 * A writer of nested Python literals (dicts, lists, strings, numbers,
 * booleans, None) into a buffer: how C hands the parameters of a step to a
 * CASA script template. Every string, dict keys included, goes through
 * asw_py_quote. The first error sticks: later calls do nothing and
 * asw_pyw_finish returns it.
 */
#define ASW_PYW_MAX_DEPTH 16
struct asw_pywriter {
    struct asw_buf *out; /* borrowed */
    struct asw_err *err; /* borrowed, may be NULL */
    int rc;
    int depth;
    int after_key;
    unsigned char first[ASW_PYW_MAX_DEPTH];
};

void asw_pyw_init(struct asw_pywriter *w, struct asw_buf *out,
                  struct asw_err *err);
void asw_pyw_begin_dict(struct asw_pywriter *w);
void asw_pyw_end_dict(struct asw_pywriter *w);
void asw_pyw_begin_list(struct asw_pywriter *w);
void asw_pyw_end_list(struct asw_pywriter *w);
/* Inside a dict: the key of the next value. */
void asw_pyw_key(struct asw_pywriter *w, const char *key);
void asw_pyw_str(struct asw_pywriter *w, const char *s);
void asw_pyw_int(struct asw_pywriter *w, long long v);
/* Finite values as float literals; NaN and infinities as float('...'). */
void asw_pyw_double(struct asw_pywriter *w, double v);
void asw_pyw_bool(struct asw_pywriter *w, int v);
void asw_pyw_none(struct asw_pywriter *w);
/* Returns 0, or the first error (with err filled); also an error if a
 * dict or list is left open. */
int asw_pyw_finish(struct asw_pywriter *w);

#endif
