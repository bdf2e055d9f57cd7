/* almasweep catalogue: see the help text below. */
#include "cli.h"
#include "cli_util.h"

#include "io/catalogue.h"
#include "src/exitcodes.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
    if (asw_cli_want_help(argc, argv)) {
        fputs(catalogue_help, stdout);
        return ASW_EXIT_OK;
    }
    if (argc != 3 || strcmp(argv[1], "summary"))
        return asw_cli_bad_usage("catalogue", "expected 'summary FILE'");
    struct asw_err err = {0};
    if (asw_cat_summary(argv[2], stdout, &err)) {
        fprintf(stderr, "almasweep catalogue: %s: %s\n", argv[2], err.msg);
        return ASW_EXIT_CATALOGUE;
    }
    return ASW_EXIT_OK;
}
