#include "config_casa.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int set_str(char **dst, const char *v)
{
    char *s = strdup(v);
    if (!s)
        return 0;
    free(*dst);
    *dst = s;
    return 1;
}

static int set_opt_str(char **dst, const char *v)
{
    if (!*v) {
        free(*dst);
        *dst = NULL;
        return 1;
    }
    return set_str(dst, v);
}

static int set_bool(int *dst, const char *v)
{
    static const char *t[] = {"1", "true", "yes", "on"};
    static const char *f[] = {"0", "false", "no", "off"};
    for (int i = 0; i < 4; i++) {
        if (strcasecmp(v, t[i]) == 0)
            return *dst = 1, 1;
        if (strcasecmp(v, f[i]) == 0)
            return *dst = 0, 1;
    }
    return 0;
}

static int set_long(long *dst, const char *v, long lo, long hi)
{
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno || end == v || *end || x < lo || x > hi)
        return 0;
    *dst = x;
    return 1;
}

static int set_int(int *dst, const char *v, long lo, long hi)
{
    long x;
    if (!set_long(&x, v, lo, hi))
        return 0;
    *dst = (int)x;
    return 1;
}

static int set_double(double *dst, const char *v, double lo, double hi)
{
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    if (errno || end == v || *end || !isfinite(x) || x < lo || x > hi)
        return 0;
    *dst = x;
    return 1;
}

static int one_of(const char *v, const char *const *set)
{
    for (; *set; set++)
        if (strcmp(v, *set) == 0)
            return 1;
    return 0;
}

/* A comma/space separated list of names, each mapped to a bit. */
static int set_bits(int *dst, const char *v, const char *const *names,
                    const int *bits)
{
    int out = 0;
    const char *p = v;
    while (*p) {
        while (*p && (*p == ',' || isspace((unsigned char)*p)))
            p++;
        const char *w = p;
        while (*p && *p != ',' && !isspace((unsigned char)*p))
            p++;
        size_t k = (size_t)(p - w);
        if (!k)
            continue;
        int found = 0;
        for (int i = 0; names[i]; i++)
            if (strlen(names[i]) == k && strncmp(w, names[i], k) == 0)
                out |= bits[i], found = 1;
        if (!found)
            return 0;
    }
    if (!out)
        return 0;
    *dst = out;
    return 1;
}

int asw_casa_config_defaults(struct asw_casa_config *c)
{
    memset(c, 0, sizeof *c);
    const char *py = getenv("ASW_CASA_PYTHON");
    c->ranks = 1;
    c->modes = ASW_CASA_MFS | ASW_CASA_MFS_SPW;
    c->intents =
        ASW_CASA_BP | ASW_CASA_PH | ASW_CASA_AMP | ASW_CASA_CH | ASW_CASA_POL;
    c->robust = 0.5;
    c->niter = 1000;
    c->nsigma = 3.0;
    c->selfcal_minsnr = 3.0;
    c->max_imsize = 1024;
    c->import_bdfflags = 1;
    c->import_lazy = 0;
    c->export_fits = 1;
    c->step_time_limit_s = 6 * 3600;
    if (!set_str(&c->launcher, "{python} {script}") ||
        !set_str(&c->python, py && *py ? py : "python3") ||
        !set_str(&c->casa, "casa") || !set_str(&c->calibration, "builtin") ||
        !set_str(&c->weighting, "natural") ||
        !set_str(&c->selfcal_solint, "inf") ||
        !set_str(&c->import_asis, "Antenna Station Receiver Source "
                                  "CalAtmosphere CalWVR CorrelatorMode "
                                  "SBSummary"))
        return -1;
    return 0;
}

int asw_casa_config_set(struct asw_casa_config *c, const char *key,
                        const char *v)
{
    static const char *const calib[] = {"restore", "generate", "builtin",
                                        "none", NULL};
    static const char *const weights[] = {"natural", "briggs", "uniform", NULL};
    static const char *const mode_names[] = {"mfs", "mfs_spw", "cube", NULL};
    static const int mode_bits[] = {ASW_CASA_MFS, ASW_CASA_MFS_SPW,
                                    ASW_CASA_CUBE};
    static const char *const intent_names[] = {"bp", "ph",  "amp",
                                               "ch", "pol", NULL};
    static const int intent_bits[] = {ASW_CASA_BP, ASW_CASA_PH, ASW_CASA_AMP,
                                      ASW_CASA_CH, ASW_CASA_POL};
#define K(s) (strcmp(key, s) == 0)
    if (K("launcher"))
        return *v && set_str(&c->launcher, v);
    if (K("python"))
        return *v && set_str(&c->python, v);
    if (K("casa"))
        return *v && set_str(&c->casa, v);
    if (K("ranks"))
        return set_int(&c->ranks, v, 1, 100000);
    if (K("calibration"))
        return one_of(v, calib) && set_str(&c->calibration, v);
    if (K("flux_csv"))
        return set_opt_str(&c->flux_csv, v);
    if (K("analysis_utils"))
        return set_opt_str(&c->analysis_utils, v);
    if (K("tclean_modes"))
        return set_bits(&c->modes, v, mode_names, mode_bits);
    if (K("intents"))
        return set_bits(&c->intents, v, intent_names, intent_bits);
    if (K("weighting"))
        return one_of(v, weights) && set_str(&c->weighting, v);
    if (K("robust"))
        return set_double(&c->robust, v, -2.0, 2.0);
    if (K("niter"))
        return set_int(&c->niter, v, 0, 10000000);
    if (K("nsigma"))
        return set_double(&c->nsigma, v, 0.0, 1000.0);
    if (K("selfcal"))
        return set_bool(&c->selfcal, v);
    if (K("selfcal_solint"))
        return *v && strlen(v) < 32 && set_str(&c->selfcal_solint, v);
    if (K("selfcal_minsnr"))
        return set_double(&c->selfcal_minsnr, v, 0.0, 1000.0);
    if (K("max_imsize"))
        return set_int(&c->max_imsize, v, 16, 16384);
    if (K("import_asis"))
        return set_str(&c->import_asis, v);
    if (K("import_bdfflags"))
        return set_bool(&c->import_bdfflags, v);
    if (K("import_lazy"))
        return set_bool(&c->import_lazy, v);
    if (K("export_fits"))
        return set_bool(&c->export_fits, v);
    if (K("remove_asdm"))
        return set_bool(&c->remove_asdm, v);
    if (K("remove_intermediate"))
        return set_bool(&c->remove_intermediate, v);
    if (K("remove_casa_images"))
        return set_bool(&c->remove_casa_images, v);
    if (K("step_time_limit"))
        return set_long(&c->step_time_limit_s, v, 1, 30L * 86400);
    if (K("output_dir"))
        return set_opt_str(&c->output_dir, v);
#undef K
    return -1;
}

void asw_casa_config_free(struct asw_casa_config *c)
{
    if (!c)
        return;
    free(c->launcher);
    free(c->python);
    free(c->casa);
    free(c->calibration);
    free(c->flux_csv);
    free(c->analysis_utils);
    free(c->weighting);
    free(c->selfcal_solint);
    free(c->import_asis);
    free(c->output_dir);
    memset(c, 0, sizeof *c);
}
