#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int asw_err_set(struct asw_err *e, int code, const char *module,
                const char *fmt, ...)
{
    if (!e)
        return code;
    e->code = code;
    snprintf(e->module, sizeof e->module, "%s", module ? module : "?");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    return code;
}

void asw_err_clear(struct asw_err *e)
{
    if (!e)
        return;
    e->code = 0;
    e->module[0] = '\0';
    e->msg[0] = '\0';
}

static const struct {
    int code;
    const char *name;
    const char *text;
} table[] = {
    {ASW_OK, "OK", "success"},
    {ASW_ENOMEM, "ENOMEM", "out of memory"},
    {ASW_EINVAL, "EINVAL", "invalid argument"},
    {ASW_EIO, "EIO", "file-system error"},
    {ASW_ENET, "ENET", "network error"},
    {ASW_EHTTP, "EHTTP", "HTTP error"},
    {ASW_EPARSE, "EPARSE", "malformed document"},
    {ASW_EPROTO, "EPROTO", "protocol violation"},
    {ASW_ENOTFOUND, "ENOTFOUND", "not found"},
    {ASW_ETOOBIG, "ETOOBIG", "input exceeds a size cap"},
    {ASW_EFITS, "EFITS", "FITS error"},
    {ASW_EHDF5, "EHDF5", "HDF5 error"},
    {ASW_EARCHIVE, "EARCHIVE", "archive (tar) error"},
    {ASW_ENOSPC, "ENOSPC", "scratch full"},
    {ASW_EINTR, "EINTR", "interrupted"},
    {ASW_ECONFIG, "ECONFIG", "configuration error"},
    {ASW_EAUTH, "EAUTH", "authentication refused"},
    {ASW_EQUERY, "EQUERY", "archive query error"},
    {ASW_EOVERFLOW, "EOVERFLOW", "result truncated by the archive"},
    {ASW_ETIMEOUT, "ETIMEOUT", "time limit exceeded"},
    {ASW_ECHILD, "ECHILD", "subprocess failed"},
};

const char *asw_errname(int code)
{
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (table[i].code == code)
            return table[i].name;
    return "EUNKNOWN";
}

const char *asw_strerror(int code)
{
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (table[i].code == code)
            return table[i].text;
    return "unknown error";
}

char *asw_err_format(const struct asw_err *e, char *buf, size_t n)
{
    if (!e || !e->code)
        snprintf(buf, n, "%s", "");
    else
        snprintf(buf, n, "%s:%s:%s", e->module, asw_errname(e->code), e->msg);
    return buf;
}
