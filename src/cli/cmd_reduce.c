/* almasweep reduce: see the help text below. */
#include "cli.h"
#include "cli_util.h"

#include "jobs/measure.h"
#include "src/result.h"
#include <jansson.h>
#include "src/exitcodes.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
static const char reduce_help[] =
    "usage: almasweep reduce FITS... [--format json]\n"
    "\n"
    "Measure calibrator images: peak near the phase centre (Jy/beam,\n"
    "sub-pixel), robust rms (1.4826 x MAD in an annulus around the source),\n"
    "SNR, beam, frequency and date; source, intent and spw from the ALMA\n"
    "pipeline's file naming. Prints one JSON object with an 'images' array;\n"
    "an image that cannot be measured gets an 'error' member instead.\n"
    "\n"
    "example:\n"
    "  almasweep reduce member.uid___A001_X1_X2.J1924-2914_bp.spw16.mfs.I."
    "pbcor.fits\n"
    "\n"
    "Exit codes: 0 all measured, 6 some image could not be measured.\n";

int asw_cmd_reduce(int argc, char **argv)
{
    if (asw_cli_want_help(argc, argv)) {
        fputs(reduce_help, stdout);
        return ASW_EXIT_OK;
    }
    static const struct option opts[] = {{"format", required_argument, 0, 'f'},
                                         {0, 0, 0, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "f:", opts, NULL)) != -1) {
        if (c != 'f' || strcmp(optarg, "json"))
            return asw_cli_bad_usage("reduce",
                                     "only --format json is supported");
    }
    if (optind >= argc)
        return asw_cli_bad_usage("reduce", "give at least one FITS file");
    json_t *imgs = json_array();
    int failed = 0;
    for (int i = optind; i < argc; i++) {
        struct asw_image row;
        struct asw_err err = {0};
        if (asw_measure_file(argv[i], &row, &err)) {
            json_array_append_new(imgs, json_pack("{s:s, s:s}", "file", argv[i],
                                                  "error", err.msg));
            failed++;
            continue;
        }
        json_t *o = asw_image_to_json_obj(&row);
        json_object_del(o, "unit_id");
        json_object_set_new(o, "file", json_string(argv[i]));
        json_array_append_new(imgs, o);
    }
    json_t *out = json_pack("{s:o}", "images", imgs);
    json_dumpf(out, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
    fputc('\n', stdout);
    json_decref(out);
    return failed ? ASW_EXIT_INPUT : ASW_EXIT_OK;
}
