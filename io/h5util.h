/*
 * h5util.h - the HDF5 helpers of the io/ files that read or write HDF5:
 * the catalogue (io/catalogue*.c) and the generic table reader
 * (io/cattable.c). Library errors are translated here, once (STYLE.md):
 * HDF5 never prints, and its error stack becomes the message of a struct
 * asw_err. Not part of asw_io's interface: nothing outside io/ includes it.
 */
#ifndef ASW_IO_H5UTIL_H
#define ASW_IO_H5UTIL_H

#include "src/err.h"

#include <hdf5.h>

/* Turn HDF5's automatic error printing off (this thread's default stack):
 * errors are reported through struct asw_err only. */
void asw_h5_quiet(void);

/*
 * Record an ASW_EHDF5 error of module: the context (printf-style), then
 * the outermost and innermost entries of the HDF5 error stack, which is
 * cleared. Returns ASW_EHDF5.
 */
int asw_h5_fail(struct asw_err *err, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Close an HDF5 id of any kind (file, group, dataset, dataspace, datatype,
 * attribute, property list) if it is valid; ignore anything else. */
void asw_h5_close(hid_t id);

#endif
