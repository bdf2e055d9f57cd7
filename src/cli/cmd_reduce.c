/* almasweep reduce: see the help text below. */
#include "cli.h"
#include "cli_util.h"

#include "jobs/measure.h"
#include "src/exitcodes.h"
#include "src/reduce/fluxcat.h"
#include "src/result.h"
#include "src/schema.h"

#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char reduce_help[] =
    "usage: almasweep reduce FITS... [--pb PB.fits]... [--flux-csv CSV]...\n"
    "                        [--rms-theory JY] [--format json]\n"
    "\n"
    "Measure calibrator images and cubes (docs/science.md): the peak near\n"
    "the phase centre, robust noise (1.4826 x MAD; the 0.2 < PB < 0.3\n"
    "annulus when a primary beam is known), an elliptical Gaussian fit with\n"
    "Condon (1997) errors (integrated flux, position, size), the flux error\n"
    "budget (statistical and the band's calibration fraction), QA bits and\n"
    "score; per source and observation the spectral index over the spws;\n"
    "for cubes the spectrum toward the source and its absorption lines.\n"
    "Source, intent and spw come from the ALMA pipeline's file naming or\n"
    "image keywords.\n"
    "\n"
    "Prints one JSON object: 'images' (one per FITS; an image that cannot\n"
    "be measured has a non-empty 'error'), 'seds', 'lines' and 'spectra'.\n"
    "\n"
    "options:\n"
    "  --pb FILE         primary beam: once for all images, or once per\n"
    "                    image in order (default: the pipeline's\n"
    "                    .pb.fits.gz next to a .pbcor.fits)\n"
    "  --flux-csv FILE   the pipeline's flux.csv, for cat_flux_jy\n"
    "                    (default: member.<ous>.flux.csv next to the image)\n"
    "  --rms-theory JY   theoretical noise, for the rms QA\n"
    "  --format json     the only output format\n"
    "\n"
    "example:\n"
    "  almasweep reduce member.uid___A001_X1_X2.J1924-2914_bp.spw16.mfs.I."
    "pbcor.fits\n"
    "\n"
    "Exit codes: 0 all measured, 1 usage, 6 some image could not be "
    "measured.\n";

#define MAX_OPT_FILES 4096

/* NULL (a spectrum without that array) prints as n nulls. */
static json_t *darray(const double *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        json_array_append_new(a, v && isfinite(v[i]) ? json_real(v[i])
                                                     : json_null());
    return a;
}

static json_t *rows_json(const struct asw_schema *s, const void *rows, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++) {
        json_t *o = asw_row_to_json(s, (const char *)rows + i * s->rowsize);
        if (!o) { /* out of memory: the caller fails on the NULL */
            json_decref(a);
            return NULL;
        }
        json_object_del(o, "unit_id");
        json_array_append_new(a, o);
    }
    return a;
}

/* The flux.csv of a pipeline image, next to it: member.<ous>.flux.csv. */
static void load_sibling_csv(const char *path, struct asw_fluxcat *cat)
{
    struct asw_product_name pn;
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    if (asw_product_name_parse(base, &pn))
        return;
    char csv[4096];
    snprintf(csv, sizeof csv, "%.*smember.%s.flux.csv",
             (int)(slash ? slash - path + 1 : 0), path, pn.mous);
    struct asw_err e = {0};
    FILE *f = fopen(csv, "r");
    if (!f)
        return;
    fclose(f);
    /* the same file for several images is loaded once */
    static char loaded[16][4096];
    static int nloaded;
    for (int i = 0; i < nloaded; i++)
        if (!strcmp(loaded[i], csv))
            return;
    if (nloaded < 16)
        snprintf(loaded[nloaded++], sizeof loaded[0], "%s", csv);
    if (asw_fluxcat_load(csv, cat, &e))
        fprintf(stderr, "almasweep reduce: %s\n", e.msg);
}

int asw_cmd_reduce(int argc, char **argv)
{
    if (asw_cli_want_help(argc, argv)) {
        fputs(reduce_help, stdout);
        return ASW_EXIT_OK;
    }
    static const struct option opts[] = {
        {"format", required_argument, 0, 'f'},
        {"pb", required_argument, 0, 'p'},
        {"flux-csv", required_argument, 0, 'c'},
        {"rms-theory", required_argument, 0, 'r'},
        {0, 0, 0, 0}};
    const char *pbs[MAX_OPT_FILES];
    int npb = 0;
    struct asw_fluxcat cat = {0};
    double rms_theory = NAN;
    int c, usage = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "f:p:c:r:", opts, NULL)) != -1) {
        struct asw_err e = {0};
        char *end;
        switch (c) {
        case 'f':
            if (strcmp(optarg, "json"))
                usage = asw_cli_bad_usage("reduce",
                                          "only --format json is supported");
            break;
        case 'p':
            if (npb >= MAX_OPT_FILES)
                usage = asw_cli_bad_usage("reduce", "too many --pb");
            else
                pbs[npb++] = optarg;
            break;
        case 'c':
            if (asw_fluxcat_load(optarg, &cat, &e)) {
                fprintf(stderr, "almasweep reduce: %s\n", e.msg);
                usage = ASW_EXIT_USAGE;
            }
            break;
        case 'r':
            rms_theory = strtod(optarg, &end);
            if (*end || !(rms_theory > 0) || !isfinite(rms_theory))
                usage =
                    asw_cli_bad_usage("reduce", "--rms-theory wants a positive "
                                                "number (Jy/beam)");
            break;
        default:
            usage = asw_cli_bad_usage("reduce", "unknown option");
        }
        if (usage)
            break;
    }
    int nfits = argc - optind;
    if (!usage && nfits < 1)
        usage = asw_cli_bad_usage("reduce", "give at least one FITS file");
    if (!usage && npb > 1 && npb != nfits)
        usage = asw_cli_bad_usage("reduce",
                                  "give --pb once, or once per FITS file");
    if (usage) {
        asw_fluxcat_free(&cat);
        return ASW_EXIT_USAGE;
    }
    int own_cat = cat.n == 0; /* no --flux-csv: look next to the images */
    for (int i = optind; own_cat && i < argc; i++)
        load_sibling_csv(argv[i], &cat);

    struct asw_measure_opts mo;
    asw_measure_opts_init(&mo);
    mo.cat = &cat;
    mo.rms_theory_jy = rms_theory;
    struct asw_result res;
    memset(&res, 0, sizeof res);
    json_t *spectra = json_array();
    int failed = 0, rc = ASW_EXIT_OK;
    for (int i = optind; i < argc; i++) {
        struct asw_err err = {0};
        mo.pb_path = npb == 1 ? pbs[0] : npb > 1 ? pbs[i - optind] : NULL;
        size_t nsp = res.n_spectra;
        int mrc = asw_measure_into(argv[i], &mo, &res, &err);
        if (mrc == ASW_ENOMEM) {
            fprintf(stderr, "almasweep reduce: out of memory\n");
            rc = ASW_EXIT_INPUT;
            goto out;
        }
        if (mrc) {
            fprintf(stderr, "almasweep reduce: %s\n", err.msg);
            failed++;
        }
        if (res.n_images) { /* the path as given, not just the base name */
            char *f = res.images[res.n_images - 1].file;
            snprintf(f, sizeof res.images[0].file, "%s", argv[i]);
            for (; *f; f++) /* JSON wants UTF-8; paths are bytes */
                if ((unsigned char)*f < 0x20 || (unsigned char)*f > 0x7e)
                    *f = '?';
        }
        if (res.n_spectra > nsp) {
            const struct asw_spectrum *sp = &res.spectra[nsp];
            json_t *o = json_pack(
                "{s:s, s:s, s:i, s:o, s:o, s:o, s:o, s:o, s:o}", "file",
                res.images[res.n_images - 1].file, "source", sp->source, "spw",
                (int)sp->spw, "freq_hz", darray(sp->freq_hz, sp->n_chan),
                "flux_jy", darray(sp->flux_jy, sp->n_chan), "ap_flux_jy",
                darray(sp->ap_flux_jy, sp->n_chan), "noise_jy",
                darray(sp->noise_jy, sp->n_chan), "cont_jy",
                darray(sp->cont_jy, sp->n_chan), "tau",
                darray(sp->tau, sp->n_chan));
            json_array_append_new(spectra, o);
        }
    }
    struct asw_err serr = {0};
    if (asw_measure_seds(&res, 0, &serr)) {
        fprintf(stderr, "almasweep reduce: %s\n", serr.msg);
        rc = ASW_EXIT_INPUT;
        goto out;
    }
    json_t *out =
        json_pack("{s:o, s:o, s:o, s:O}", "images",
                  rows_json(&asw_schema_images, res.images, res.n_images),
                  "seds", rows_json(&asw_schema_seds, res.seds, res.n_seds),
                  "lines", rows_json(&asw_schema_lines, res.lines, res.n_lines),
                  "spectra", spectra);
    if (!out) {
        fprintf(stderr, "almasweep reduce: out of memory\n");
        rc = ASW_EXIT_INPUT;
        goto out;
    }
    json_dumpf(out, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
    fputc('\n', stdout);
    json_decref(out);
    rc = failed ? ASW_EXIT_INPUT : ASW_EXIT_OK;
out:
    json_decref(spectra);
    asw_result_clear(&res);
    asw_fluxcat_free(&cat);
    return rc;
}
