#include "sweep.h"

#include "signals.h"

#include "io/download.h"
#include "src/exitcodes.h"
#include "src/log.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Make *path absolute (relative to the working directory now). Helper
 * threads extract tars, which changes the working directory of the whole
 * process for a while (io/untar.c): every path used while they run must
 * not depend on it. Returns 0 or -1 (out of memory; *path unchanged). */
static int make_absolute(char **path)
{
    char cwd[PATH_MAX];
    if (!*path || (*path)[0] == '/' || !getcwd(cwd, sizeof cwd))
        return 0;
    size_t n = strlen(cwd) + strlen(*path) + 2;
    char *p = malloc(n);
    if (!p)
        return -1;
    snprintf(p, n, "%s/%s", cwd, *path);
    free(*path);
    *path = p;
    return 0;
}

int asw_sweep_main(const char *config_path, int *argc, char ***argv)
{
    /* Helper threads (mpi/exec.c) never call MPI: FUNNELED is enough. */
    int provided = 0;
    MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided);
    MPI_Comm comm;
    MPI_Comm_dup(MPI_COMM_WORLD, &comm);
    int rank;
    MPI_Comm_rank(comm, &rank);
    asw_log_init(rank, ASW_LOG_INFO);
    struct asw_config cfg;
    struct asw_err err = {0};
    int rc;
    if (asw_config_load(config_path, &cfg, &err)) {
        /* Every rank reads the same file and fails the same way; only
         * rank 0 says so. */
        if (rank == 0)
            asw_error("%s", err.msg);
        rc = ASW_EXIT_USAGE;
        goto out;
    }
    asw_log_set_level_name(cfg.log_level);
    if (provided < MPI_THREAD_FUNNELED) {
        if (rank == 0)
            asw_error("this MPI library offers no MPI_THREAD_FUNNELED");
        rc = ASW_EXIT_USAGE;
        asw_config_free(&cfg);
        goto out;
    }
    /* Paths of [casa] too; a bare program name stays a PATH lookup. */
    char **casa_paths[] = {&cfg.casa.python, &cfg.casa.casa, &cfg.casa.flux_csv,
                           &cfg.casa.analysis_utils, &cfg.casa.output_dir};
    int bad = 0;
    for (size_t i = 0; i < sizeof casa_paths / sizeof *casa_paths; i++)
        if (*casa_paths[i] && strchr(*casa_paths[i], '/'))
            bad |= make_absolute(casa_paths[i]);
    if (bad || make_absolute(&cfg.catalogue) ||
        make_absolute(&cfg.scratch_dir) || make_absolute(&cfg.sched.trace) ||
        asw_signals_install()) {
        asw_error("out of memory");
        MPI_Abort(comm, 71);
    }
    if (asw_dl_global_init(&err)) {
        asw_error("%s", err.msg);
        MPI_Abort(comm, 71);
    }
    rc = rank == 0 ? asw_master_run(comm, &cfg) : asw_worker_run(comm, &cfg);
    asw_signals_restore();
    asw_dl_global_cleanup();
    asw_config_free(&cfg);
out:
    MPI_Comm_free(&comm);
    MPI_Finalize();
    return rc;
}
