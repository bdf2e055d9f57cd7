/*
 * spawn_mpi.c - an MPI rank starts an MPI job of its own, as the casa
 * backend starts mpicasa: every rank of `mpirun -n 2 spawn_mpi CHILD` runs
 * `mpirun -n 2 CHILD` through jobs/spawn.c with the environment scrubbed of
 * its launcher's OMPI_ and PMIX_ variables, and checks that the child job
 * reports two ranks of size 2. For comparison it also tries the same
 * launch with the rank's own environment (reported, not asserted: Open MPI
 * may refuse or hang there, which is why the scrubbing exists).
 * Exit 0 when every rank's scrubbed launch worked.
 */
#include "jobs/spawn.h"

#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Lines "child rank R size 2" in the output file. */
static int count_ok(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    char line[256];
    int n = 0, r, s;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "child rank %d size %d", &r, &s) == 2 && s == 2)
            n++;
    fclose(f);
    return n;
}

static int launch(const char *child, const char *dir, int rank, int scrub,
                  double limit, char *how, size_t how_n)
{
    char out[1024];
    snprintf(out, sizeof out, "%s/child-%d-%s.out", dir, rank,
             scrub ? "scrubbed" : "inherited");
    char *argv[] = {"mpirun",          "-n",          "2",
                    "--oversubscribe", (char *)child, NULL};
    struct asw_env env;
    if (asw_env_init(&env, NULL, scrub))
        return -1;
    struct asw_spawn_opts o = {.argv = argv,
                               .envp = env.v,
                               .stdout_path = out,
                               .time_limit_s = limit,
                               .term_grace_s = 2};
    struct asw_spawn_result r;
    struct asw_err err = {0};
    int rc = asw_spawn_run(&o, &r, &err);
    asw_env_free(&env);
    if (rc) {
        snprintf(how, how_n, "not started: %.200s", err.msg);
        return 0;
    }
    asw_spawn_describe(&r, &o, how, how_n);
    int n = count_ok(out);
    return r.status == ASW_SPAWN_EXITED && r.exit_code == 0 ? n : 0;
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (argc < 2) {
        if (rank == 0)
            fprintf(stderr, "usage: mpirun -n 2 spawn_mpi CHILD [DIR]\n");
        MPI_Finalize();
        return 2;
    }
    const char *dir = argc > 2 ? argv[2] : "/tmp";
    /* The parent job really is an Open MPI job: its variables are there. */
    int had_ompi =
        getenv("OMPI_COMM_WORLD_SIZE") != NULL || getenv("PMIX_RANK") != NULL;
    char how[256], how2[256];
    int ok = launch(argv[1], dir, rank, 1, 120, how, sizeof how);
    printf("rank %d/%d: scrubbed environment: %d child ranks of size 2 (%s)\n",
           rank, size, ok, how);
    fflush(stdout);
    int pass = ok == 2 && had_ompi, all = 0;
    MPI_Allreduce(&pass, &all, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    if (rank == 0) {
        int ok2 = launch(argv[1], dir, rank, 0, 20, how2, sizeof how2);
        printf("rank 0: inherited environment (for comparison): %d child "
               "ranks of size 2 (%s)\n",
               ok2, how2);
        printf("%s: every rank launched its own 2-rank MPI job\n",
               all ? "PASS" : "FAIL");
    }
    MPI_Finalize();
    return all ? 0 : 1;
}
