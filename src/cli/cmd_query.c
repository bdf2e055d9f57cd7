/* almasweep query: see the help text below. */
#include "cli.h"
#include "cli_util.h"

#include "io/archive.h"
#include "io/download.h"
#include "src/config.h"
#include "src/log.h"
#include "src/exitcodes.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

int asw_cmd_query(int argc, char **argv)
{
    if (asw_cli_want_help(argc, argv)) {
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
            return asw_cli_bad_usage("query", "unknown option");
    }
    if (!config)
        return asw_cli_bad_usage("query", "--config FILE is required");
    if (strcmp(format, "table") && strcmp(format, "json"))
        return asw_cli_bad_usage("query", "--format must be table or json");
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
            asw_cli_human_bytes((double)u->bytes_total, sz, sizeof sz);
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
        asw_cli_human_bytes(total, sz, sizeof sz);
        printf("total: %zu units, %s, from %zu member OUSs (%zu ObsCore "
               "rows)\n",
               plan.n_units, sz, plan.n_mous, plan.n_rows);
    }
    asw_plan_free(&plan);
    asw_config_free(&cfg);
    asw_dl_global_cleanup();
    return ASW_EXIT_OK;
}
