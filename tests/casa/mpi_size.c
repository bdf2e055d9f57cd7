/*
 * mpi_size.c - the child MPI program of the spawn test: prints its rank
 * and the size of its own MPI_COMM_WORLD. Stands in for mpicasa.
 */
#include <mpi.h>
#include <stdio.h>

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    printf("child rank %d size %d\n", rank, size);
    fflush(stdout);
    MPI_Finalize();
    return 0;
}
