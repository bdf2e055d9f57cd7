/* almasweep votable: see the help text below. */
#include "cli.h"
#include "cli_util.h"

#include "io/archive.h"
#include "io/votable.h"
#include "src/exitcodes.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
    if (asw_cli_want_help(argc, argv)) {
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
            return asw_cli_bad_usage("votable", "unknown option");
    }
    if (optind != argc - 1)
        return asw_cli_bad_usage("votable", "give exactly one FILE or URL");
    if (strcmp(format, "json") && strcmp(format, "csv"))
        return asw_cli_bad_usage("votable", "--format must be json or csv");
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
