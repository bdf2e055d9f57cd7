/*
 * err.h - error codes and the error carrier shared by every module.
 *
 * Functions return 0 or a negative ASW_E* code and, when given a non-NULL
 * struct asw_err, fill it with the module and a human-readable message.
 * Library errors (curl, libarchive, cfitsio, HDF5) are translated into this
 * form once, at the edge, inside io/.
 */
#ifndef ASW_ERR_H
#define ASW_ERR_H

#include <stddef.h>

enum asw_errcode {
    ASW_OK = 0,
    ASW_ENOMEM = -1,     /* out of memory */
    ASW_EINVAL = -2,     /* bad argument or bad input value */
    ASW_EIO = -3,        /* local file-system error */
    ASW_ENET = -4,       /* network error (connect, reset, timeout) */
    ASW_EHTTP = -5,      /* HTTP status that is an error */
    ASW_EPARSE = -6,     /* malformed document (XML, JSON, INI, FITS) */
    ASW_EPROTO = -7,     /* protocol violation (TAP/DataLink/MPI) */
    ASW_ENOTFOUND = -8,  /* the thing asked for does not exist */
    ASW_ETOOBIG = -9,    /* a cap on outside input was exceeded */
    ASW_EFITS = -10,     /* cfitsio error */
    ASW_EHDF5 = -11,     /* HDF5 error */
    ASW_EARCHIVE = -12,  /* libarchive error or unsafe tar entry */
    ASW_ENOSPC = -13,    /* scratch full */
    ASW_EINTR = -14,     /* interrupted by a signal */
    ASW_ECONFIG = -15,   /* bad configuration */
    ASW_EAUTH = -16,     /* authentication refused */
    ASW_EQUERY = -17,    /* the archive reported a query error */
    ASW_EOVERFLOW = -18, /* the archive truncated a result */
    ASW_ETIMEOUT = -19,  /* a wall-time limit was hit */
    ASW_ECHILD = -20,    /* a subprocess failed */
};

#define ASW_ERR_MODULE_MAX 16
#define ASW_ERR_MSG_MAX    512

struct asw_err {
    int code;
    char module[ASW_ERR_MODULE_MAX];
    char msg[ASW_ERR_MSG_MAX];
};

/*
 * Record an error in *e (which may be NULL) and return code, so that
 * callers can write `return asw_err_set(err, ASW_EIO, "fits", "...")`.
 */
int asw_err_set(struct asw_err *e, int code, const char *module,
                const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Reset *e to "no error". Accepts NULL. */
void asw_err_clear(struct asw_err *e);

/* A short constant name for a code, e.g. "ENOSPC". */
const char *asw_errname(int code);

/* A constant English description of a code. */
const char *asw_strerror(int code);

/*
 * Format e as "module:code:text" (the result contract of ARCHITECTURE.md)
 * into buf of size n. Returns buf.
 */
char *asw_err_format(const struct asw_err *e, char *buf, size_t n);

#endif
