/*
 * asw-gen - write a synthetic ALMA archive directory for the simulator and
 * the tests (docs/sim-archive-layout.md). Thin main over gen_*.c.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gen_archive.h"
#include "gen_plan.h"

static void usage(FILE *fp)
{
    fprintf(fp,
            "usage: asw-gen --out DIR [--seed N] [--preset demo|small|tiny]"
            " [--npix N] [--min-snr S]\n"
            "\n"
            "Write a synthetic ALMA archive into DIR: archive.sqlite (tables\n"
            "obscore, datalink, access), dataPortal/<files> and truth.json.\n"
            "The output is a pure function of preset, seed and npix.\n"
            "\n"
            "  --out DIR      output directory (created if missing)\n"
            "  --seed N       random seed (default 1)\n"
            "  --preset NAME  demo: 7 member OUSs over 5 projects;\n"
            "                 small: 4 member OUSs; tiny: 1 member OUS,\n"
            "                 2 calibrator images (default demo)\n"
            "  --npix N       image side in pixels, %d..%d (default %d)\n"
            "  --min-snr S    lowest calibrator peak S/N (default 30)\n"
            "  --help         show this text\n",
            ASW_GEN_NPIX_MIN, ASW_GEN_NPIX_MAX, ASW_GEN_NPIX_DEFAULT);
}

static int parse_ulong(const char *s, unsigned long *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-')
        return -1;
    *out = v;
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"out", required_argument, NULL, 'o'},
        {"seed", required_argument, NULL, 's'},
        {"preset", required_argument, NULL, 'p'},
        {"npix", required_argument, NULL, 'n'},
        {"min-snr", required_argument, NULL, 'm'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    const char *out = NULL, *preset = "demo";
    unsigned long seed = 1, npix = ASW_GEN_NPIX_DEFAULT;
    int c;

    while ((c = getopt_long(argc, argv, "o:s:p:n:m:h", opts, NULL)) != -1) {
        switch (c) {
        case 'o':
            out = optarg;
            break;
        case 's':
            if (parse_ulong(optarg, &seed)) {
                fprintf(stderr, "asw-gen: bad --seed '%s'\n", optarg);
                return 2;
            }
            break;
        case 'p':
            preset = optarg;
            break;
        case 'n':
            if (parse_ulong(optarg, &npix) || npix > ASW_GEN_NPIX_MAX) {
                fprintf(stderr, "asw-gen: bad --npix '%s'\n", optarg);
                return 2;
            }
            break;
        case 'm': {
            char *end;
            double v = strtod(optarg, &end);
            if (end == optarg || *end || !(v >= 1.0 && v < 2000.0)) {
                fprintf(stderr, "asw-gen: bad --min-snr '%s'\n", optarg);
                return 2;
            }
            asw_gen_plan_set_min_snr(v);
            break;
        }
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (!out || optind < argc) {
        usage(stderr);
        return 2;
    }

    struct asw_err err = {0};
    struct asw_gen_plan *plan = NULL;
    struct asw_gen_stats st;
    char msg[ASW_ERR_MSG_MAX + 64];
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);

    int rc = asw_gen_plan_build(&plan, preset, seed, (int)npix, &err);
    if (!rc)
        rc = asw_gen_archive_write(plan, out, &st, &err);
    if (rc) {
        fprintf(stderr, "asw-gen: %s\n", asw_err_format(&err, msg, sizeof msg));
        asw_gen_plan_free(plan);
        return 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("asw-gen: preset %s seed %lu npix %lu: %d MOUS, %d calibrator + "
           "%d science images, %d obscore rows, %d datalink rows, %d files, "
           "%lld bytes in %.2f s -> %s\n",
           preset, seed, npix, plan->n_mous, st.n_cal_images, st.n_sci_images,
           st.n_obscore_rows, st.n_datalink_rows, st.n_files, st.total_bytes,
           (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (t1.tv_nsec - t0.tv_nsec),
           out);
    asw_gen_plan_free(plan);
    return 0;
}
