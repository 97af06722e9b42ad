/* A minimal PMPI tool in the classic style (counts calls, forwards through PMPI_*), used to
 * check that Strider stacks with other interposers: preloaded after libstrider.so it must see
 * every MPI_Send / MPI_Recv the application makes. Prints its counts in MPI_Finalize. */
#include <mpi.h>
#include <stdio.h>

static long g_sends;
static long g_recvs;

int MPI_Send(const void* buf, int count, MPI_Datatype type, int dest, int tag, MPI_Comm comm) {
  ++g_sends;
  return PMPI_Send(buf, count, type, dest, tag, comm);
}

int MPI_Recv(void* buf, int count, MPI_Datatype type, int source, int tag, MPI_Comm comm,
             MPI_Status* status) {
  ++g_recvs;
  return PMPI_Recv(buf, count, type, source, tag, comm, status);
}

int MPI_Finalize(void) {
  int rank = -1;
  PMPI_Comm_rank(MPI_COMM_WORLD, &rank);
  char line[128];
  const int n = snprintf(line, sizeof line,
                         "counting_tool[%d]: MPI_Send %ld\ncounting_tool[%d]: MPI_Recv %ld\n", rank,
                         g_sends, rank, g_recvs);
  fwrite(line, 1, (size_t)n, stderr);
  return PMPI_Finalize();
}
