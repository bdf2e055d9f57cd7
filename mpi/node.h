/*
 * node.h - which ranks share a node, and the scratch budget of each node.
 * Ranks are grouped with MPI_Comm_split_type(MPI_COMM_TYPE_SHARED); the
 * first rank of a node measures the budget once for all of them, so that
 * the master accounts every unit held on the node against one number.
 */
#ifndef ASW_NODE_H
#define ASW_NODE_H

#include "src/config.h"

#include <mpi.h>
#include <stdint.h>

struct asw_node_info {
    int node;             /* 0, 1, ...: nodes numbered by their first rank */
    int leader;           /* the node's first rank in comm */
    int64_t budget_bytes; /* scratch the node's units may hold together */
    int64_t free_bytes;   /* what statvfs said (before the reserve) */
    char host[64];
};

/*
 * Collective over comm. Every rank finds its node; the node's first rank
 * takes the budget: the space statvfs reports free in cfg's scratch
 * directory (created if missing) minus [scratch] reserve, or [scheduler]
 * scratch_budget when that is set and smaller. On rank 0, *table receives
 * one entry per rank of comm (malloc'd, the caller frees) and *n_nodes
 * their number; elsewhere *table is NULL. The environment variable
 * ASW_RANKS_PER_NODE=k (tests, benchmarks) groups ranks k by k instead,
 * to stand in for several nodes on one machine. Returns 0 or -1 (out of
 * memory: the caller aborts).
 */
int asw_node_discover(MPI_Comm comm, const struct asw_config *cfg,
                      struct asw_node_info **table, int *n_nodes);

/*
 * The scratch budget of the directory dir: free bytes (statvfs, for
 * unprivileged users) minus reserve, capped by limit when limit > 0, never
 * negative. *free_out (may be NULL) receives the free bytes, -1 when dir
 * cannot be examined (the budget is then limit, or 0).
 */
int64_t asw_node_budget(const char *dir, int64_t reserve, int64_t limit,
                        int64_t *free_out);

#endif
