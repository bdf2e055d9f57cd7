/* almasweep query: see the help text below. */
#include "cli.h"
#include "cli_util.h"

#include "io/adql.h"
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
    "  -f, --format FORMAT   table (default): one line per unit, then the\n"
    "                        totals (units, files, bytes) per kind and per\n"
    "                        band; or json: an array of units with id,\n"
    "                        kind, project, mous_uid, band, sources,\n"
    "                        bytes_total and files (name, url, bytes,\n"
    "                        semantics)\n"
    "      --show-adql       print the ADQL of the selection on stderr (a\n"
    "                        split query sends it in parts)\n"
    "  -h, --help            this text\n"
    "\n"
    "example:\n"
    "  almasweep query --config sweep.ini --format json > units.json\n"
    "\n"
    "Exit codes: 0 ok, 1 bad usage or configuration, 2 archive error.\n";

/* Totals of one group (a kind or a band). */
struct total {
    char key[ASW_NAME_MAX];
    size_t units;
    size_t files;
    double bytes;
};

static void add_total(struct total *t, size_t *n, size_t cap, const char *key,
                      const struct asw_unit *u)
{
    size_t i = 0;
    while (i < *n && strcmp(t[i].key, key))
        i++;
    if (i == *n) {
        if (*n == cap)
            return; /* more groups than shown; never with real bands */
        memset(&t[i], 0, sizeof t[i]);
        snprintf(t[i].key, sizeof t[i].key, "%s", key);
        (*n)++;
    }
    t[i].units++;
    t[i].files += u->n_files;
    t[i].bytes += (double)u->bytes_total;
}

static int total_cmp(const void *a, const void *b)
{
    const struct total *x = a, *y = b;
    /* Bands sort by number ("3" before "10"), then as text. */
    long bx = strtol(x->key, NULL, 10), by = strtol(y->key, NULL, 10);
    if (bx != by)
        return bx < by ? -1 : 1;
    return strcmp(x->key, y->key);
}

static void print_totals(const char *title, struct total *t, size_t n)
{
    if (n > 1)
        qsort(t, n, sizeof *t, total_cmp);
    printf("%s:\n", title);
    for (size_t i = 0; i < n; i++) {
        char sz[32];
        asw_cli_human_bytes(t[i].bytes, sz, sizeof sz);
        printf("  %-14s %6zu units %7zu files %12s (%.0f bytes)\n", t[i].key,
               t[i].units, t[i].files, sz, t[i].bytes);
    }
}

static void print_table(const struct asw_plan *plan)
{
    enum { MAX_GROUPS = 64 };
    struct total kinds[MAX_GROUPS], bands[MAX_GROUPS];
    size_t nk = 0, nb = 0;
    printf("%-28s %-14s %-16s %-5s %6s %12s  %s\n", "id", "kind", "project",
           "band", "files", "size", "sources");
    double total = 0;
    for (size_t i = 0; i < plan->n_units; i++) {
        const struct asw_unit *u = &plan->units[i];
        char sz[32], srcs[256] = "";
        asw_cli_human_bytes((double)u->bytes_total, sz, sizeof sz);
        for (size_t s = 0; s < u->n_sources; s++) {
            size_t l = strlen(srcs);
            snprintf(srcs + l, sizeof srcs - l, "%s%s", s ? "," : "",
                     u->sources[s]);
        }
        printf("%-28s %-14s %-16s %-5s %6zu %12s  %s\n", u->id,
               asw_unit_kind_name(u->kind), u->project, u->band, u->n_files, sz,
               srcs);
        total += (double)u->bytes_total;
        add_total(kinds, &nk, MAX_GROUPS, asw_unit_kind_name(u->kind), u);
        add_total(bands, &nb, MAX_GROUPS, u->band[0] ? u->band : "?", u);
    }
    print_totals("by kind", kinds, nk);
    print_totals("by band", bands, nb);
    char sz[32];
    asw_cli_human_bytes(total, sz, sizeof sz);
    printf("total: %zu units, %s (%.0f bytes), from %zu member OUSs (%zu "
           "ObsCore rows)\n",
           plan->n_units, sz, total, plan->n_mous, plan->n_rows);
    if (plan->rows_counted >= 0)
        printf("query: split into %zu parts (%zu TAP requests); their rows "
               "add up to COUNT(*) = %lld\n",
               plan->n_parts, plan->n_tap_queries, plan->rows_counted);
    else
        printf("query: one part (%zu TAP request%s)\n", plan->n_tap_queries,
               plan->n_tap_queries == 1 ? "" : "s");
    if (plan->n_mous_no_products)
        printf("note: %zu member OUSs have no product tar\n",
               plan->n_mous_no_products);
}

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
        if (show_adql) {
            struct asw_buf q;
            struct asw_err qerr = {0};
            asw_buf_init(&q, (size_t)1 << 20);
            if (asw_adql_build(&cfg, &q, &qerr) == 0)
                fprintf(stderr, "ADQL of the selection (not answered):\n%s\n",
                        q.data);
            asw_buf_free(&q);
        }
        fprintf(stderr, "almasweep query: %s\n", err.msg);
        fprintf(stderr, "almasweep query: no unit list: the archive query "
                        "did not complete\n");
        asw_config_free(&cfg);
        asw_dl_global_cleanup();
        return ASW_EXIT_ARCHIVE;
    }
    if (show_adql) {
        fprintf(stderr, "ADQL sent to %s/tap/sync:\n%s\n", plan.mirror,
                plan.adql);
        if (plan.rows_counted >= 0)
            fprintf(stderr,
                    "(truncated at MAXREC, so sent in %zu parts restricted "
                    "by cycle, band, project or member OUS)\n",
                    plan.n_parts);
    }
    if (strcmp(format, "json") == 0) {
        fputs("[", stdout);
        for (size_t i = 0; i < plan.n_units; i++) {
            char *j = asw_unit_to_json(&plan.units[i]);
            printf("%s%s", i ? ",\n " : "", j ? j : "null");
            free(j);
        }
        fputs("]\n", stdout);
    } else {
        print_table(&plan);
    }
    asw_plan_free(&plan);
    asw_config_free(&cfg);
    asw_dl_global_cleanup();
    return ASW_EXIT_OK;
}
