/* h5util.c - HDF5 errors and ids (h5util.h). */
#include "h5util.h"

#include <stdarg.h>
#include <stdio.h>

void asw_h5_quiet(void)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

struct walk {
    unsigned n;
    char first[200]; /* outermost (API) entry */
    char last[240];  /* innermost entry: usually the real cause */
};

static herr_t walk_cb(unsigned n, const H5E_error2_t *e, void *data)
{
    (void)n;
    struct walk *w = data;
    char *dst = w->n == 0 ? w->first : w->last;
    size_t cap = w->n == 0 ? sizeof w->first : sizeof w->last;
    snprintf(dst, cap, "%s: %s", e->func_name ? e->func_name : "?",
             e->desc ? e->desc : "?");
    w->n++;
    return 0;
}

int asw_h5_fail(struct asw_err *err, const char *module, const char *fmt, ...)
{
    char ctx[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx, sizeof ctx, fmt, ap);
    va_end(ap);

    struct walk w = {0};
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, walk_cb, &w);
    H5Eclear2(H5E_DEFAULT);
    if (w.n == 0)
        return asw_err_set(err, ASW_EHDF5, module, "%s", ctx);
    if (w.n == 1)
        return asw_err_set(err, ASW_EHDF5, module, "%s: %s", ctx, w.first);
    return asw_err_set(err, ASW_EHDF5, module, "%s: %s (%s)", ctx, w.first,
                       w.last);
}

void asw_h5_close(hid_t id)
{
    if (id < 0)
        return;
    switch (H5Iget_type(id)) {
    case H5I_FILE:
        H5Fclose(id);
        break;
    case H5I_GROUP:
        H5Gclose(id);
        break;
    case H5I_DATASET:
        H5Dclose(id);
        break;
    case H5I_DATATYPE:
        H5Tclose(id);
        break;
    case H5I_DATASPACE:
        H5Sclose(id);
        break;
    case H5I_ATTR:
        H5Aclose(id);
        break;
    case H5I_GENPROP_LST:
        H5Pclose(id);
        break;
    default:
        break;
    }
}
