/*
 * sweep.h - the MPI sweep: rank 0 runs the master, every other rank a
 * worker. Both take the communicator as an argument so tests can run them
 * on sub-communicators.
 */
#ifndef ASW_SWEEP_H
#define ASW_SWEEP_H

#include "src/config.h"

#include <mpi.h>

/*
 * The master: query the archive, make units, skip the ones the catalogue
 * holds as done (resume), hand the rest to workers largest first, write
 * every result to the catalogue as it arrives. With a communicator of
 * size 1 it processes the units itself. Returns an ASW_EXIT_* code.
 */
int asw_master_run(MPI_Comm comm, const struct asw_config *cfg);

/* A worker: pull units from rank 0 until told to stop. Returns 0. */
int asw_worker_run(MPI_Comm comm, const struct asw_config *cfg);

/*
 * `almasweep run`: initialise MPI (singleton when started without
 * mpirun), duplicate MPI_COMM_WORLD, run master or worker, finalise.
 * Every rank reads the configuration file itself. Returns an ASW_EXIT_*
 * code (the master's on rank 0).
 */
int asw_sweep_main(const char *config_path, int *argc, char ***argv);

#endif
