/* node.c - node groups and their scratch budgets (node.h). */
#include "node.h"

#include "src/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

static void mkdir_p(const char *path)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s", path) >= (int)sizeof tmp)
        return;
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        mkdir(tmp, 0755);
        *p = '/';
    }
    mkdir(tmp, 0755);
}

int64_t asw_node_budget(const char *dir, int64_t reserve, int64_t limit,
                        int64_t *free_out)
{
    struct statvfs vfs;
    int64_t budget;
    mkdir_p(dir);
    if (statvfs(dir, &vfs) == 0) {
        int64_t avail = (int64_t)vfs.f_bavail * (int64_t)vfs.f_frsize;
        if (free_out)
            *free_out = avail;
        budget = avail - (reserve > 0 ? reserve : 0);
        if (limit > 0 && limit < budget)
            budget = limit;
    } else {
        asw_warn("scratch %s: %s", dir, strerror(errno));
        if (free_out)
            *free_out = -1;
        budget = limit > 0 ? limit : 0;
    }
    return budget > 0 ? budget : 0;
}

/* What each rank sends to rank 0 (fixed size: MPI_BYTE). */
struct wire {
    int64_t budget, free_bytes;
    int32_t leader;
    char host[64];
};

int asw_node_discover(MPI_Comm comm, const struct asw_config *cfg,
                      struct asw_node_info **table, int *n_nodes)
{
    int rank, size;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    *table = NULL;
    *n_nodes = 0;
    MPI_Comm node;
    const char *fake = getenv("ASW_RANKS_PER_NODE");
    int per = fake ? atoi(fake) : 0;
    if (per > 0)
        MPI_Comm_split(comm, rank / per, rank, &node);
    else
        MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, rank, MPI_INFO_NULL,
                            &node);
    int node_rank;
    MPI_Comm_rank(node, &node_rank);
    struct wire w;
    memset(&w, 0, sizeof w);
    w.leader = rank;
    MPI_Bcast(&w.leader, 1, MPI_INT32_T, 0, node);
    if (node_rank == 0)
        w.budget = asw_node_budget(cfg->scratch_dir, cfg->scratch_reserve_bytes,
                                   cfg->sched.scratch_budget, &w.free_bytes);
    MPI_Bcast(&w.budget, 1, MPI_INT64_T, 0, node);
    MPI_Bcast(&w.free_bytes, 1, MPI_INT64_T, 0, node);
    MPI_Comm_free(&node);
    gethostname(w.host, sizeof w.host - 1);

    struct wire *all = NULL;
    if (rank == 0 && !(all = calloc((size_t)size, sizeof *all)))
        return -1;
    MPI_Gather(&w, (int)sizeof w, MPI_BYTE, all, (int)sizeof w, MPI_BYTE, 0,
               comm);
    if (rank != 0)
        return 0;
    struct asw_node_info *t = calloc((size_t)size, sizeof *t);
    if (!t) {
        free(all);
        return -1;
    }
    int n = 0;
    for (int r = 0; r < size; r++) {
        /* Leaders come first among their node's ranks (split keys are
         * ranks), so a node is numbered when its leader is seen. */
        int id = -1;
        for (int q = 0; q < r && id < 0; q++)
            if (all[q].leader == all[r].leader)
                id = t[q].node;
        t[r].node = id >= 0 ? id : n++;
        t[r].leader = all[r].leader;
        t[r].budget_bytes = all[r].budget;
        t[r].free_bytes = all[r].free_bytes;
        memcpy(t[r].host, all[r].host, sizeof t[r].host);
        t[r].host[sizeof t[r].host - 1] = '\0';
    }
    free(all);
    *table = t;
    *n_nodes = n;
    return 0;
}
