/* almasweep catalogue: see the help texts below. */
#include "cli.h"
#include "cli_util.h"

#include "io/catalogue.h"
#include "src/exitcodes.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char catalogue_help[] =
    "usage: almasweep catalogue <command> FILE [options]\n"
    "\n"
    "Inspect, check, export and merge catalogues written by 'almasweep run'\n"
    "(docs/catalogue.md).\n"
    "\n"
    "commands:\n"
    "  summary FILE    runs, units by status, rows per table, and per source\n"
    "                  and band the flux history and spectral index\n"
    "  list FILE       the /images rows matching --source, --band, --since\n"
    "  verify FILE     check the catalogue; exit 0 only when consistent\n"
    "  export FILE     a table as CSV or VOTable (TOPCAT, astropy)\n"
    "  merge OUT IN... merge catalogues of separate sweeps into OUT\n"
    "\n"
    "Each command first applies the catalogue's journal (results stored\n"
    "since the last checkpoint, or left by a killed run) unless a running\n"
    "sweep holds the catalogue; it then reads the last checkpoint.\n"
    "Run 'almasweep catalogue <command> --help' for its options.\n"
    "\n"
    "examples:\n"
    "  almasweep catalogue summary sweep.h5\n"
    "  almasweep catalogue list sweep.h5 --source 'J1924*' --band 3\n"
    "  almasweep catalogue verify sweep.h5\n"
    "  almasweep catalogue export sweep.h5 --format votable -o images.vot\n"
    "  almasweep catalogue merge all.h5 part1.h5 part2.h5\n"
    "\n"
    "Exit codes: 0 ok, 1 bad usage, 5 catalogue unreadable or (verify)\n"
    "inconsistent, or (merge) held by a running sweep.\n";

static const char summary_help[] =
    "usage: almasweep catalogue summary FILE\n"
    "\n"
    "Print the catalogue's runs, its units by status, the rows of every\n"
    "table, and per (source, band) from /sources: images, epochs, first and\n"
    "last date, median / min / max flux density, and the spectral index to\n"
    "the nearest higher band with near-contemporaneous pairs.\n"
    "\n"
    "example:\n"
    "  almasweep catalogue summary sweep.h5\n"
    "\n"
    "Exit codes: 0 ok, 1 bad usage, 5 unreadable catalogue.\n";

static const char list_help[] =
    "usage: almasweep catalogue list FILE [--source PATTERN] [--band N]\n"
    "                                      [--since DATE|MJD] [--limit N]\n"
    "\n"
    "Print the /images rows that match every filter given, in file order:\n"
    "source, band, spw, date, MJD, frequency, peak, flux, SNR, QA flags,\n"
    "unit and file.\n"
    "\n"
    "options:\n"
    "  -s, --source PATTERN  calibrator name, shell pattern, any case\n"
    "  -b, --band N          ALMA band 1..10 (also B3); from the frequency\n"
    "                        when the row has none\n"
    "      --since DATE|MJD  observed on or after YYYY-MM-DD[Thh:mm[:ss]] UTC\n"
    "                        or an MJD\n"
    "  -n, --limit N         at most N rows\n"
    "\n"
    "examples:\n"
    "  almasweep catalogue list sweep.h5 --source J1924-2914 --band 3\n"
    "  almasweep catalogue list sweep.h5 --source 'J12*' --since 2019-10-01\n"
    "  almasweep catalogue list sweep.h5 --since 58800 --limit 20\n"
    "\n"
    "Exit codes: 0 ok (also when nothing matches), 1 bad usage, 5\n"
    "unreadable catalogue.\n";

static const char verify_help[] =
    "usage: almasweep catalogue verify FILE [--no-recover] [--quiet]\n"
    "\n"
    "Check the catalogue against its schema of record (docs/catalogue.md):\n"
    "root attributes and every table with its documented columns, units and\n"
    "astropy header; unit ids unique; every /images, /seds, /absorption and\n"
    "/spectra row belonging to a done unit; no duplicate rows; the /units\n"
    "counts (n_images, ...) equal to the rows; /spectra offsets covering\n"
    "/spectra_channels exactly; /runs ids unique; /sources equal to a fresh\n"
    "derivation from /images. Prints one line per problem.\n"
    "\n"
    "options:\n"
    "      --no-recover  check the file as it is, without applying the\n"
    "                    journal first\n"
    "  -q, --quiet       print nothing; the exit code says it\n"
    "\n"
    "examples:\n"
    "  almasweep catalogue verify sweep.h5 && echo consistent\n"
    "  almasweep catalogue verify --no-recover sweep.h5\n"
    "\n"
    "Exit codes: 0 consistent, 1 bad usage, 5 inconsistent (the reasons\n"
    "are printed) or unreadable.\n";

static const char export_help[] =
    "usage: almasweep catalogue export FILE [--table T] [--format F]\n"
    "                                        [-o OUT]\n"
    "\n"
    "Write one table: CSV (header line, RFC 4180 quoting, NaN as an empty\n"
    "field) or VOTable 1.4 TABLEDATA with units, UCDs and descriptions,\n"
    "which TOPCAT and astropy.io.votable read. Numbers keep full precision.\n"
    "\n"
    "options:\n"
    "  -t, --table T    units, runs, images (default), seds, absorption,\n"
    "                   spectra, spectra_channels or sources\n"
    "  -f, --format F   csv or votable (default: from OUT's extension\n"
    "                   .vot/.xml, else csv)\n"
    "  -o, --output OUT the file to write (default: standard output)\n"
    "\n"
    "examples:\n"
    "  almasweep catalogue export sweep.h5 -o images.csv\n"
    "  almasweep catalogue export sweep.h5 --table sources -o sources.vot\n"
    "  almasweep catalogue export sweep.h5 --format votable | topcat -f "
    "votable -\n"
    "\n"
    "Exit codes: 0 ok, 1 bad usage or unknown table, 5 unreadable catalogue\n"
    "or write error.\n";

static const char merge_help[] =
    "usage: almasweep catalogue merge OUT IN [IN...]\n"
    "\n"
    "Merge catalogues of sweeps run in separate allocations into OUT\n"
    "(created if missing; it may be one of the sweeps' own catalogues).\n"
    "Unit by unit: a done unit beats one that is not done, then the more\n"
    "recently stored one wins (ties keep what OUT has); a unit's images,\n"
    "SEDs, absorption lines and spectra follow it. Runs are added to /runs;\n"
    "/sources is derived again. Merging the same inputs twice changes\n"
    "nothing.\n"
    "\n"
    "examples:\n"
    "  almasweep catalogue merge all.h5 week1.h5 week2.h5\n"
    "  almasweep catalogue merge main.h5 rerun-failed.h5\n"
    "\n"
    "Exit codes: 0 ok, 1 bad usage, 5 an input unreadable, or OUT or an\n"
    "input held by a running sweep.\n";

/* Apply a pending journal before reading; say what happened. */
static void recover_first(const char *path)
{
    struct asw_err err = {0};
    size_t applied = 0;
    int rc = asw_cat_recover(path, &applied, &err);
    if (rc == 1)
        fprintf(stderr,
                "almasweep catalogue: %s is held by a running sweep; "
                "reading its last checkpoint\n",
                path);
    else if (rc == 0 && applied)
        fprintf(stderr,
                "almasweep catalogue: %s: applied %zu journal records\n", path,
                applied);
    else if (rc < 0 && rc != ASW_ENOTFOUND && rc != ASW_EPARSE &&
             rc != ASW_EHDF5)
        fprintf(stderr, "almasweep catalogue: %s: journal not applied: %s\n",
                path, err.msg);
}

static int fail(const char *path, const struct asw_err *err)
{
    fprintf(stderr, "almasweep catalogue: %s: %s\n", path, err->msg);
    return ASW_EXIT_CATALOGUE;
}

static int cmd_summary(int argc, char **argv)
{
    if (argc != 2)
        return asw_cli_bad_usage("catalogue", "expected 'summary FILE'");
    struct asw_err err = {0};
    recover_first(argv[1]);
    if (asw_cat_summary(argv[1], stdout, &err))
        return fail(argv[1], &err);
    return ASW_EXIT_OK;
}

static int parse_band(const char *s)
{
    char *end;
    if (*s == 'B' || *s == 'b')
        s++;
    long b = strtol(s, &end, 10);
    return end != s && !*end && b >= 1 && b <= 10 ? (int)b : -1;
}

static int cmd_list(int argc, char **argv)
{
    static const struct option opts[] = {{"source", required_argument, 0, 's'},
                                         {"band", required_argument, 0, 'b'},
                                         {"since", required_argument, 0, 'S'},
                                         {"limit", required_argument, 0, 'n'},
                                         {0, 0, 0, 0}};
    struct asw_cat_filter f = {NULL, 0, NAN, 0};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "s:b:n:", opts, NULL)) != -1) {
        char *end;
        switch (c) {
        case 's':
            f.source = optarg;
            break;
        case 'b':
            if ((f.band = parse_band(optarg)) < 0)
                return asw_cli_bad_usage("catalogue",
                                         "--band takes 1..10 (or B1..B10)");
            break;
        case 'S':
            f.since_mjd = asw_cat_parse_mjd(optarg);
            if (isnan(f.since_mjd))
                return asw_cli_bad_usage("catalogue",
                                         "--since takes YYYY-MM-DD or an MJD");
            break;
        case 'n':
            errno = 0;
            f.limit = strtoul(optarg, &end, 10);
            if (errno || end == optarg || *end || f.limit == 0)
                return asw_cli_bad_usage("catalogue",
                                         "--limit takes a positive number");
            break;
        default:
            return asw_cli_bad_usage("catalogue", "unknown option for list");
        }
    }
    if (argc - optind != 1)
        return asw_cli_bad_usage("catalogue", "expected 'list FILE'");
    const char *path = argv[optind];
    struct asw_err err = {0};
    recover_first(path);
    if (asw_cat_list(path, &f, stdout, NULL, &err))
        return fail(path, &err);
    return ASW_EXIT_OK;
}

static int cmd_verify(int argc, char **argv)
{
    static const struct option opts[] = {{"no-recover", no_argument, 0, 'R'},
                                         {"quiet", no_argument, 0, 'q'},
                                         {0, 0, 0, 0}};
    int c, recover = 1, quiet = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "q", opts, NULL)) != -1) {
        if (c == 'R')
            recover = 0;
        else if (c == 'q')
            quiet = 1;
        else
            return asw_cli_bad_usage("catalogue", "unknown option for verify");
    }
    if (argc - optind != 1)
        return asw_cli_bad_usage("catalogue", "expected 'verify FILE'");
    const char *path = argv[optind];
    struct asw_err err = {0};
    size_t problems = 0;
    if (recover && !quiet)
        recover_first(path);
    else if (recover)
        asw_cat_recover(path, NULL, &err);
    if (asw_cat_verify(path, quiet ? NULL : stdout, &problems, &err))
        return fail(path, &err);
    if (problems) {
        if (!quiet)
            printf("%s: %zu problem%s\n", path, problems,
                   problems == 1 ? "" : "s");
        return ASW_EXIT_CATALOGUE;
    }
    if (!quiet)
        printf("%s: consistent\n", path);
    return ASW_EXIT_OK;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

static int cmd_export(int argc, char **argv)
{
    static const struct option opts[] = {{"table", required_argument, 0, 't'},
                                         {"format", required_argument, 0, 'f'},
                                         {"output", required_argument, 0, 'o'},
                                         {0, 0, 0, 0}};
    const char *table = "images", *format = NULL, *output = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "t:f:o:", opts, NULL)) != -1) {
        if (c == 't')
            table = optarg;
        else if (c == 'f')
            format = optarg;
        else if (c == 'o')
            output = optarg;
        else
            return asw_cli_bad_usage("catalogue", "unknown option for export");
    }
    if (argc - optind != 1)
        return asw_cli_bad_usage("catalogue", "expected 'export FILE'");
    if (output && strcmp(output, "-") == 0)
        output = NULL;
    if (!format)
        format =
            output && (ends_with(output, ".vot") || ends_with(output, ".xml"))
                ? "votable"
                : "csv";
    enum asw_cat_format fmt;
    if (strcmp(format, "csv") == 0)
        fmt = ASW_CAT_CSV;
    else if (strcmp(format, "votable") == 0)
        fmt = ASW_CAT_VOTABLE;
    else
        return asw_cli_bad_usage("catalogue", "--format is csv or votable");
    const char *path = argv[optind];
    struct asw_err err = {0};
    recover_first(path);
    FILE *out = output ? fopen(output, "w") : stdout;
    if (!out) {
        fprintf(stderr, "almasweep catalogue: %s: %s\n", output,
                strerror(errno));
        return ASW_EXIT_CATALOGUE;
    }
    int rc = asw_cat_export(path, table, fmt, out, &err);
    if (output && fclose(out) != 0 && rc == 0)
        rc = asw_err_set(&err, ASW_EIO, "catalogue", "%s: %s", output,
                         strerror(errno));
    if (rc == ASW_EINVAL)
        return asw_cli_bad_usage("catalogue", err.msg);
    if (rc)
        return fail(path, &err);
    return ASW_EXIT_OK;
}

static int cmd_merge(int argc, char **argv)
{
    if (argc < 3)
        return asw_cli_bad_usage("catalogue", "expected 'merge OUT IN...'");
    struct asw_err err = {0};
    int rc = asw_cat_merge(argv[1], (const char *const *)argv + 2,
                           (size_t)argc - 2, stdout, &err);
    if (rc == 1) {
        fprintf(stderr, "almasweep catalogue: merge: %s\n", err.msg);
        return ASW_EXIT_CATALOGUE;
    }
    if (rc == ASW_EINVAL)
        return asw_cli_bad_usage("catalogue", err.msg);
    if (rc)
        return fail(argv[1], &err);
    printf("merged into %s\n", argv[1]);
    return ASW_EXIT_OK;
}

int asw_cmd_catalogue(int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*fn)(int, char **);
        const char *help;
    } cmds[] = {
        {"summary", cmd_summary, summary_help},
        {"list", cmd_list, list_help},
        {"verify", cmd_verify, verify_help},
        {"export", cmd_export, export_help},
        {"merge", cmd_merge, merge_help},
    };
    for (size_t i = 0; argc >= 2 && i < sizeof cmds / sizeof cmds[0]; i++) {
        if (strcmp(argv[1], cmds[i].name) != 0)
            continue;
        if (asw_cli_want_help(argc - 1, argv + 1)) {
            fputs(cmds[i].help, stdout);
            return ASW_EXIT_OK;
        }
        return cmds[i].fn(argc - 1, argv + 1);
    }
    if (asw_cli_want_help(argc, argv)) {
        fputs(catalogue_help, stdout);
        return ASW_EXIT_OK;
    }
    return asw_cli_bad_usage("catalogue",
                             argc < 2 ? "expected a command"
                                      : "unknown command (summary, list, "
                                        "verify, export, merge)");
}
