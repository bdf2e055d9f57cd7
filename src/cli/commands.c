/*
 * commands.c - the subcommands. Each parses its options with getopt_long,
 * answers --help, and returns an ASW_EXIT_* code.
 */
#include "cli.h"

#include "io/archive.h"
#include "io/catalogue.h"
#include "io/download.h"
#include "io/votable.h"
#include "jobs/measure.h"
#include "mpi/sweep.h"
#include "src/config.h"
#include "src/exitcodes.h"
#include "src/log.h"
#include "src/result.h"

#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int want_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return 1;
    return 0;
}

static int bad_usage(const char *cmd, const char *msg)
{
    fprintf(stderr, "almasweep %s: %s (see 'almasweep %s --help')\n", cmd, msg,
            cmd);
    return ASW_EXIT_USAGE;
}

/* ---- run ------------------------------------------------------------ */

static const char run_help[] =
    "usage: almasweep run --config FILE\n"
    "\n"
    "Run a sweep: query the archive for the selection in FILE, process every\n"
    "unit not yet done in the catalogue, and write the results to it.\n"
    "Start it under MPI for many ranks (rank 0 is the master, the others\n"
    "work), or as one process (which then does the work itself).\n"
    "\n"
    "options:\n"
    "  -c, --config FILE   the sweep configuration (docs/config.md)\n"
    "  -h, --help          this text\n"
    "\n"
    "examples:\n"
    "  almasweep run --config sweep.ini\n"
    "  mpirun -n 64 almasweep run --config sweep.ini\n"
    "\n"
    "A rerun with the same configuration continues where the last one\n"
    "stopped ([run] resume, on by default). Exit codes: 0 all units done,\n"
    "1 bad configuration, 2 archive query failed, 3 some units failed,\n"
    "5 catalogue error.\n";

int asw_cmd_run(int argc, char **argv)
{
    if (want_help(argc, argv)) {
        fputs(run_help, stdout);
        return ASW_EXIT_OK;
    }
    static const struct option opts[] = {{"config", required_argument, 0, 'c'},
                                         {0, 0, 0, 0}};
    const char *config = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
        if (c == 'c')
            config = optarg;
        else
            return bad_usage("run", "unknown option");
    }
    if (!config)
        return bad_usage("run", "--config FILE is required");
    return asw_sweep_main(config, &argc, &argv);
}

/* ---- query ---------------------------------------------------------- */

static const char query_help[] =
    "usage: almasweep query --config FILE [--format table|json] "
    "[--show-adql]\n"
    "\n"
    "Ask the archive for the selection in FILE and print the work units a\n"
    "sweep would process (one process, no MPI needed).\n"
    "\n"
    "options:\n"
    "  -c, --config FILE     the sweep configuration (docs/config.md)\n"
    "  -f, --format FORMAT   table (default) or json: an array of units with\n"
    "                        id, kind, project, mous_uid, band, sources,\n"
    "                        bytes_total and files (name, url, bytes,\n"
    "                        semantics)\n"
    "      --show-adql       print the ADQL sent to the archive on stderr\n"
    "  -h, --help            this text\n"
    "\n"
    "example:\n"
    "  almasweep query --config sweep.ini --format json > units.json\n"
    "\n"
    "Exit codes: 0 ok, 1 bad usage or configuration, 2 archive error.\n";

static void human_bytes(double b, char *out, size_t n)
{
    const char *u[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    int i = 0;
    while (b >= 1024 && i < 5) {
        b /= 1024;
        i++;
    }
    snprintf(out, n, i ? "%.1f %s" : "%.0f %s", b, u[i]);
}

int asw_cmd_query(int argc, char **argv)
{
    if (want_help(argc, argv)) {
        fputs(query_help, stdout);
        return ASW_EXIT_OK;
    }
    static const struct option opts[] = {{"config", required_argument, 0, 'c'},
                                         {"format", required_argument, 0, 'f'},
                                         {"show-adql", no_argument, 0, 'a'},
                                         {0, 0, 0, 0}};
    const char *config = NULL, *format = "table";
    int show_adql = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:f:", opts, NULL)) != -1) {
        if (c == 'c')
            config = optarg;
        else if (c == 'f')
            format = optarg;
        else if (c == 'a')
            show_adql = 1;
        else
            return bad_usage("query", "unknown option");
    }
    if (!config)
        return bad_usage("query", "--config FILE is required");
    if (strcmp(format, "table") && strcmp(format, "json"))
        return bad_usage("query", "--format must be table or json");
    struct asw_config cfg;
    struct asw_err err = {0};
    if (asw_config_load(config, &cfg, &err)) {
        fprintf(stderr, "almasweep query: %s\n", err.msg);
        return ASW_EXIT_USAGE;
    }
    asw_log_set_level_name(cfg.log_level);
    asw_dl_global_init(NULL);
    struct asw_plan plan;
    int rc = asw_archive_plan(&cfg, &plan, &err);
    if (rc) {
        fprintf(stderr, "almasweep query: %s\n", err.msg);
        asw_config_free(&cfg);
        asw_dl_global_cleanup();
        return ASW_EXIT_ARCHIVE;
    }
    if (show_adql)
        fprintf(stderr, "ADQL sent to %s/tap/sync:\n%s\n", plan.mirror,
                plan.adql);
    if (strcmp(format, "json") == 0) {
        fputs("[", stdout);
        for (size_t i = 0; i < plan.n_units; i++) {
            char *j = asw_unit_to_json(&plan.units[i]);
            printf("%s%s", i ? ",\n " : "", j ? j : "null");
            free(j);
        }
        fputs("]\n", stdout);
    } else {
        printf("%-28s %-14s %-16s %-5s %6s %12s  %s\n", "id", "kind", "project",
               "band", "files", "size", "sources");
        double total = 0;
        for (size_t i = 0; i < plan.n_units; i++) {
            const struct asw_unit *u = &plan.units[i];
            char sz[32], srcs[256] = "";
            human_bytes((double)u->bytes_total, sz, sizeof sz);
            for (size_t s = 0; s < u->n_sources; s++) {
                size_t l = strlen(srcs);
                snprintf(srcs + l, sizeof srcs - l, "%s%s", s ? "," : "",
                         u->sources[s]);
            }
            printf("%-28s %-14s %-16s %-5s %6zu %12s  %s\n", u->id,
                   asw_unit_kind_name(u->kind), u->project, u->band, u->n_files,
                   sz, srcs);
            total += (double)u->bytes_total;
        }
        char sz[32];
        human_bytes(total, sz, sizeof sz);
        printf("total: %zu units, %s, from %zu member OUSs (%zu ObsCore "
               "rows)\n",
               plan.n_units, sz, plan.n_mous, plan.n_rows);
    }
    asw_plan_free(&plan);
    asw_config_free(&cfg);
    asw_dl_global_cleanup();
    return ASW_EXIT_OK;
}

/* ---- votable -------------------------------------------------------- */

static const char votable_help[] =
    "usage: almasweep votable FILE|URL [--format json|csv]\n"
    "\n"
    "Print the first results table of any VOTable (a file, or an http(s)\n"
    "URL fetched with GET) as JSON (an array of objects keyed by FIELD\n"
    "name, values typed by datatype: long as exact 64-bit integers,\n"
    "boolean as true/false, empty cells as null) or CSV.\n"
    "\n"
    "example:\n"
    "  almasweep votable alma-datalink.xml --format json\n"
    "\n"
    "Exit codes: 0 ok, 1 bad usage, 6 unreadable or malformed VOTable.\n";

int asw_cmd_votable(int argc, char **argv)
{
    if (want_help(argc, argv)) {
        fputs(votable_help, stdout);
        return ASW_EXIT_OK;
    }
    static const struct option opts[] = {{"format", required_argument, 0, 'f'},
                                         {0, 0, 0, 0}};
    const char *format = "json";
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "f:", opts, NULL)) != -1) {
        if (c == 'f')
            format = optarg;
        else
            return bad_usage("votable", "unknown option");
    }
    if (optind != argc - 1)
        return bad_usage("votable", "give exactly one FILE or URL");
    if (strcmp(format, "json") && strcmp(format, "csv"))
        return bad_usage("votable", "--format must be json or csv");
    const char *src = argv[optind];
    struct asw_vot_table *t = NULL;
    struct asw_err err = {0};
    int rc;
    if (strncmp(src, "http://", 7) == 0 || strncmp(src, "https://", 8) == 0) {
        rc = asw_archive_get_votable(src, &t, &err);
    } else {
        rc = asw_vot_parse_file(src, &t, &err);
    }
    if (!rc)
        rc = strcmp(format, "json") == 0 ? asw_vot_write_json(t, stdout, &err)
                                         : asw_vot_write_csv(t, stdout, &err);
    asw_vot_table_free(t);
    if (rc) {
        fprintf(stderr, "almasweep votable: %s: %s\n", src, err.msg);
        return ASW_EXIT_INPUT;
    }
    return ASW_EXIT_OK;
}

/* ---- reduce --------------------------------------------------------- */

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
    if (want_help(argc, argv)) {
        fputs(reduce_help, stdout);
        return ASW_EXIT_OK;
    }
    static const struct option opts[] = {{"format", required_argument, 0, 'f'},
                                         {0, 0, 0, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "f:", opts, NULL)) != -1) {
        if (c != 'f' || strcmp(optarg, "json"))
            return bad_usage("reduce", "only --format json is supported");
    }
    if (optind >= argc)
        return bad_usage("reduce", "give at least one FITS file");
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

/* ---- catalogue ------------------------------------------------------ */

static const char catalogue_help[] =
    "usage: almasweep catalogue summary FILE\n"
    "\n"
    "Inspect a catalogue written by 'almasweep run'.\n"
    "\n"
    "  summary FILE   units by status; images per source and band with\n"
    "                 their count, median peak and median SNR\n"
    "\n"
    "example:\n"
    "  almasweep catalogue summary sweep.h5\n"
    "\n"
    "Exit codes: 0 ok, 1 bad usage, 5 unreadable catalogue.\n";

int asw_cmd_catalogue(int argc, char **argv)
{
    if (want_help(argc, argv)) {
        fputs(catalogue_help, stdout);
        return ASW_EXIT_OK;
    }
    if (argc != 3 || strcmp(argv[1], "summary"))
        return bad_usage("catalogue", "expected 'summary FILE'");
    struct asw_err err = {0};
    if (asw_cat_summary(argv[2], stdout, &err)) {
        fprintf(stderr, "almasweep catalogue: %s: %s\n", argv[2], err.msg);
        return ASW_EXIT_CATALOGUE;
    }
    return ASW_EXIT_OK;
}
