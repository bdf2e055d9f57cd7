/*
 * gen_tar.h - write the archive's tar files (products, auxiliary, ASDM).
 *
 * POSIX pax (restricted) format, so long ALMA paths survive; every entry
 * gets the same owner and mtime so the bytes depend only on the content.
 */
#ifndef ASW_GEN_TAR_H
#define ASW_GEN_TAR_H

#include <stddef.h>

#include "err.h"

struct asw_gen_tar; /* opaque */

/*
 * Create the tar file path (replacing it). mtime is the Unix time stamped
 * on every entry. On success *out is a handle the caller finishes with
 * asw_gen_tar_close. Returns 0, ASW_ENOMEM or ASW_EARCHIVE.
 */
int asw_gen_tar_open(struct asw_gen_tar **out, const char *path, long mtime,
                     struct asw_err *err);

/*
 * Add every directory leading to entry name (each once per tar, in
 * order), then a regular file holding len bytes of data. Returns 0,
 * ASW_ENOMEM, ASW_EINVAL (path over 1 KiB), ASW_ETOOBIG (over 64
 * directories) or ASW_EARCHIVE.
 */
int asw_gen_tar_add_mem(struct asw_gen_tar *t, const char *name,
                        const void *data, size_t len, struct asw_err *err);

/*
 * As asw_gen_tar_add_mem, with the content of the local file src. Returns
 * 0, ASW_EIO, ASW_ENOMEM or ASW_EARCHIVE.
 */
int asw_gen_tar_add_file(struct asw_gen_tar *t, const char *name,
                         const char *src, struct asw_err *err);

/*
 * Finish the tar and free t (which may be NULL). Returns 0 or
 * ASW_EARCHIVE if the last blocks could not be written.
 */
int asw_gen_tar_close(struct asw_gen_tar *t, struct asw_err *err);

#endif
