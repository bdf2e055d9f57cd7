/* almasweep run: see the help text below. */
#include "cli.h"
#include "cli_util.h"

#include "mpi/sweep.h"
#include "src/exitcodes.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
    if (asw_cli_want_help(argc, argv)) {
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
            return asw_cli_bad_usage("run", "unknown option");
    }
    if (!config)
        return asw_cli_bad_usage("run", "--config FILE is required");
    return asw_sweep_main(config, &argc, &argv);
}
