#include "sweep.h"

#include "io/download.h"
#include "src/exitcodes.h"
#include "src/log.h"

#include <stdio.h>

int asw_sweep_main(const char *config_path, int *argc, char ***argv)
{
    MPI_Init(argc, argv);
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
    if (asw_dl_global_init(&err)) {
        asw_error("%s", err.msg);
        MPI_Abort(comm, 71);
    }
    rc = rank == 0 ? asw_master_run(comm, &cfg) : asw_worker_run(comm, &cfg);
    asw_dl_global_cleanup();
    asw_config_free(&cfg);
out:
    MPI_Comm_free(&comm);
    MPI_Finalize();
    return rc;
}
