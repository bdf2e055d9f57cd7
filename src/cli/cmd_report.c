/* almasweep report: see the help text below. */
#include "cli.h"
#include "cli_util.h"

#include "asw_version.h"
#include "io/catalogue.h"
#include "io/cattable.h"
#include "src/exitcodes.h"
#include "src/report/report.h"

#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char report_help[] =
    "usage: almasweep report CATALOGUE -o DIR [options]\n"
    "\n"
    "Write a static HTML report about a catalogue written by 'almasweep run':\n"
    "DIR/index.html, with its plots in DIR/plots/ (PNG, drawn with cairo).\n"
    "Open it in any browser; it needs no server and no network.\n"
    "\n"
    "The page shows the run provenance (/runs); sweep statistics (units by\n"
    "status, wall time per stage, units per worker); the QA overview (images\n"
    "per QA flag, SNR, measured over catalogue flux); the distribution of\n"
    "spectral indices; the absorption lines; per source its flux history per\n"
    "band, its SED with the spectral index fitted per unit, and its\n"
    "absorption spectra on optical-depth and velocity axes; and the failed\n"
    "units with their reasons. Every plot lists the values it shows; a plot\n"
    "whose data the catalogue lacks says \"no data\" and why.\n"
    "\n"
    "options:\n"
    "  -o, --output DIR      where to write; created if missing. PNG files\n"
    "                        already in DIR/plots/ are removed first\n"
    "  -s, --source PATTERN  only sources matching the shell pattern, any "
    "case\n"
    "      --max-sources N   at most N source sections: those with the most\n"
    "                        images (default 200)\n"
    "      --max-rows N      read at most N rows of each table (default\n"
    "                        500000); the page says when it was cut\n"
    "      --title TEXT      page title (default: almasweep report: FILE)\n"
    "      --scale S         PNG pixels per CSS pixel, 1 to 4 (default 2,\n"
    "                        sharp on high-resolution screens)\n"
    "      --no-recover      report on the file as it is, without applying\n"
    "                        its journal first\n"
    "  -q, --quiet           print nothing when all went well\n"
    "\n"
    "Like the catalogue commands, report first applies the catalogue's\n"
    "journal (results stored since the last checkpoint) unless a running\n"
    "sweep holds the catalogue; then it reports on the last checkpoint and\n"
    "the page says so. Reporting on a running sweep is fine.\n"
    "\n"
    "examples:\n"
    "  almasweep report sweep.h5 -o report\n"
    "  almasweep report sweep.h5 -o j1924 --source 'J1924*'\n"
    "  almasweep report big.h5 -o report --max-sources 50 --scale 1\n"
    "  xdg-open report/index.html\n"
    "\n"
    "Exit codes: 0 written; 1 bad usage, or DIR cannot be created or\n"
    "written; 5 the catalogue is missing, not a catalogue, of another\n"
    "schema version, or unreadable. docs/report.md has the details.\n";

/* Parse a positive size; 0 on error. */
static size_t parse_count(const char *s)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-' || v == 0 ||
        v > (unsigned long long)SIZE_MAX)
        return 0;
    return (size_t)v;
}

/* The catalogue cannot be opened: say why and what to do next. */
static int open_failed(const char *path, int rc, int version,
                       const struct asw_err *err)
{
    if (rc == ASW_ENOTFOUND) {
        fprintf(stderr,
                "almasweep report: no catalogue at '%s'.\n"
                "  A sweep writes it: 'almasweep run --config sweep.ini' "
                "creates the file\n"
                "  named by [output] catalogue (docs/config.md). Check the "
                "path, or see\n"
                "  what a sweep would process with 'almasweep query --config "
                "sweep.ini'.\n",
                path);
    } else if (rc == ASW_EPARSE && version > 0) {
        fprintf(stderr,
                "almasweep report: '%s' has catalogue schema version %d; "
                "almasweep %s\n"
                "  reads version %d. Report with the almasweep that wrote it, "
                "or sweep again\n"
                "  with 'almasweep run' (docs/catalogue.md, \"Schema "
                "versions\").\n",
                path, version, ASW_VERSION, ASW_CAT_SCHEMA_VERSION);
    } else if (rc == ASW_EPARSE) {
        fprintf(stderr,
                "almasweep report: %s\n"
                "  Pass the .h5 catalogue written by 'almasweep run' (the "
                "file named by\n"
                "  [output] catalogue in its configuration).\n",
                err->msg);
    } else {
        fprintf(stderr,
                "almasweep report: cannot read '%s': %s\n"
                "  Check it with 'almasweep catalogue verify %s'.\n",
                path, err->msg, path);
    }
    return ASW_EXIT_CATALOGUE;
}

int asw_cmd_report(int argc, char **argv)
{
    static const struct option opts[] = {
        {"output", required_argument, 0, 'o'},
        {"source", required_argument, 0, 's'},
        {"max-sources", required_argument, 0, 'M'},
        {"max-rows", required_argument, 0, 'R'},
        {"title", required_argument, 0, 'T'},
        {"scale", required_argument, 0, 'S'},
        {"no-recover", no_argument, 0, 'N'},
        {"quiet", no_argument, 0, 'q'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    struct asw_report_options o;
    const char *out = NULL;
    int c, recover = 1, quiet = 0;
    asw_report_options_default(&o);
    if (asw_cli_want_help(argc, argv)) {
        fputs(report_help, stdout);
        return ASW_EXIT_OK;
    }
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:s:q", opts, NULL)) != -1) {
        switch (c) {
        case 'o':
            out = optarg;
            break;
        case 's':
            o.source = optarg;
            break;
        case 'M':
            if (!(o.max_sources = parse_count(optarg)))
                return asw_cli_bad_usage("report",
                                         "--max-sources takes a positive "
                                         "number");
            break;
        case 'R':
            if (!(o.max_rows = parse_count(optarg)))
                return asw_cli_bad_usage("report",
                                         "--max-rows takes a positive number");
            break;
        case 'T':
            o.title = optarg;
            break;
        case 'S': {
            char *end;
            o.scale = strtod(optarg, &end);
            if (end == optarg || *end || !(o.scale >= 1 && o.scale <= 4))
                return asw_cli_bad_usage("report",
                                         "--scale takes a number from 1 to 4");
            break;
        }
        case 'N':
            recover = 0;
            break;
        case 'q':
            quiet = 1;
            break;
        default:
            return asw_cli_bad_usage("report", "unknown option");
        }
    }
    if (argc - optind != 1)
        return asw_cli_bad_usage("report", argc - optind > 1
                                               ? "expected one CATALOGUE"
                                               : "expected 'report CATALOGUE "
                                                 "-o DIR'");
    if (!out || !out[0])
        return asw_cli_bad_usage("report",
                                 "where should the report go? Add -o DIR");
    const char *path = argv[optind];
    o.cat_path = path;
    char title[512], note[512];
    if (!o.title) {
        char *copy = strdup(path);
        snprintf(title, sizeof title, "almasweep report: %s",
                 copy ? basename(copy) : path);
        free(copy);
        o.title = title;
    }

    struct asw_err err = {0};
    if (recover) {
        size_t applied = 0;
        int rc = asw_cat_recover(path, &applied, &err);
        if (rc == 1) {
            snprintf(note, sizeof note,
                     "A running sweep holds this catalogue: the page shows "
                     "its last checkpoint.");
            o.note = note;
            if (!quiet)
                fprintf(stderr,
                        "almasweep report: %s is held by a running sweep; "
                        "reporting on its last checkpoint\n",
                        path);
        } else if (rc == 0 && applied && !quiet) {
            fprintf(stderr,
                    "almasweep report: %s: applied %zu journal "
                    "records\n",
                    path, applied);
        } else if (rc < 0 && rc != ASW_ENOTFOUND && rc != ASW_EPARSE &&
                   rc != ASW_EHDF5) {
            fprintf(stderr,
                    "almasweep report: %s: journal not applied (%s); "
                    "reporting on the last checkpoint\n",
                    path, err.msg);
        }
        asw_err_clear(&err);
    }

    struct asw_ct *ct = NULL;
    int version = 0;
    int rc = asw_ct_open(path, &ct, &version, &err);
    if (rc)
        return open_failed(path, rc, version, &err);
    struct asw_report_stats st;
    rc = asw_report_write(ct, out, &o, &st, &err);
    asw_ct_close(ct);
    asw_report_cleanup();
    if (rc == ASW_EIO || rc == ASW_EINVAL) {
        fprintf(stderr,
                "almasweep report: %s\n"
                "  Choose a directory you can write with -o DIR.\n",
                err.msg);
        return ASW_EXIT_USAGE;
    }
    if (rc == ASW_ENOMEM) {
        fprintf(stderr,
                "almasweep report: %s\n"
                "  Read less: --max-rows N, or --source PATTERN for some "
                "sources.\n",
                err.msg);
        return ASW_EXIT_CATALOGUE;
    }
    if (rc)
        return open_failed(path, rc, 0, &err);
    if (!quiet) {
        printf("report: %s/index.html (%zu of %zu sources, %zu plots, %zu "
               "without data)\n",
               out, st.sources, st.sources_total, st.plots, st.plots_empty);
        if (st.units == 0)
            printf("note: the catalogue has no units yet: a sweep that has "
                   "just started, or\n  one whose query found nothing "
                   "('almasweep catalogue summary %s').\n",
                   path);
        if (st.notes)
            printf("note: the page lists %zu remark%s about the data (top "
                   "of the page)\n",
                   st.notes, st.notes == 1 ? "" : "s");
        printf("open it in a browser: xdg-open %s/index.html\n", out);
    }
    return ASW_EXIT_OK;
}
