#include "cli.h"

#include "asw_version.h"
#include "src/exitcodes.h"

#include <stdio.h>
#include <string.h>

static const char usage[] =
    "usage: almasweep [--version] [--help] <command> [options]\n"
    "\n"
    "Sweep the ALMA Science Archive for observations of calibrator quasars\n"
    "and reduce them into one HDF5 catalogue, spread over MPI ranks.\n"
    "\n"
    "commands:\n"
    "  run        run a sweep (under mpirun -n N, or as one process)\n"
    "  query      list the work units a sweep would process\n"
    "  votable    print a VOTable's first table as JSON or CSV\n"
    "  reduce     measure FITS images (flux, spectral index, QA, absorption)\n"
    "  catalogue  inspect a catalogue: summary, list, verify, export, merge\n"
    "  fetch      download (and extract) archive files like a sweep does\n"
    "  report     write an HTML report with plots about a catalogue\n"
    "\n"
    "Run 'almasweep <command> --help' for the options of a command.\n"
    "\n"
    "examples:\n"
    "  almasweep query --config sweep.ini --format table\n"
    "  mpirun -n 16 almasweep run --config sweep.ini\n"
    "  almasweep catalogue summary sweep.h5\n"
    "  almasweep catalogue verify sweep.h5 && almasweep report sweep.h5 -o "
    "report\n"
    "  almasweep fetch URL --dest /scratch/x --extract --segments 8\n"
    "\n"
    "exit codes:\n"
    "  0 success; 1 bad usage or configuration; 2 archive query failed;\n"
    "  3 some units failed; 4 interrupted, rerun to continue;\n"
    "  5 catalogue error; 6 an input file could not be read or parsed.\n"
    "\n"
    "docs: README.md, docs/config.md, docs/catalogue.md, docs/cluster.md,\n"
    "  docs/casa.md, docs/science.md; man page docs/almasweep.1\n";

int asw_cli_main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage, stderr);
        return ASW_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "-V") == 0) {
        printf("almasweep %s\n", ASW_VERSION);
        return ASW_EXIT_OK;
    }
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 ||
        strcmp(cmd, "help") == 0) {
        fputs(usage, stdout);
        return ASW_EXIT_OK;
    }
    static const struct {
        const char *name;
        int (*fn)(int, char **);
    } cmds[] = {
        {"run", asw_cmd_run},
        {"query", asw_cmd_query},
        {"votable", asw_cmd_votable},
        {"reduce", asw_cmd_reduce},
        {"catalogue", asw_cmd_catalogue},
        {"fetch", asw_cmd_fetch},
        {"report", asw_cmd_report},
    };
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        if (strcmp(cmd, cmds[i].name) == 0)
            return cmds[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "almasweep: unknown command '%s'\n\n%s", cmd, usage);
    return ASW_EXIT_USAGE;
}
