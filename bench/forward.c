/* The cost of a call Strider forwards: one process sends 8 bytes (MPI_DOUBLE) to itself on
 * MPI_COMM_SELF and receives them, in a tight loop, once through MPI_Send / MPI_Recv (Strider's
 * entry points when it is preloaded) and once through PMPI_Send / PMPI_Recv (always the MPI
 * library itself), the two alternating so that both see the same machine. Without the network
 * in the way, the difference is the interposer's own time per send + receive pair.
 *   usage: [LD_PRELOAD=libstrider.so] mpiexec -n 1 strider_bench_forward [PAIRS] [--json FILE]
 * Prints one line and, with --json, writes {"mpi_ns", "pmpi_ns", "added_ns", "ratio"}: the
 * fastest of 9 rounds of PAIRS (default 1000000) pairs each. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int (*SendFn)(const void*, int, MPI_Datatype, int, int, MPI_Comm);
typedef int (*RecvFn)(void*, int, MPI_Datatype, int, int, MPI_Comm, MPI_Status*);

/* Nanoseconds per send + receive pair over `pairs` pairs. */
static double round_ns(SendFn send, RecvFn recv, long pairs, double* sent, double* got) {
  const double start = PMPI_Wtime();
  for (long i = 0; i < pairs; ++i) {
    send(sent, 1, MPI_DOUBLE, 0, 1, MPI_COMM_SELF);
    recv(got, 1, MPI_DOUBLE, 0, 1, MPI_COMM_SELF, MPI_STATUS_IGNORE);
  }
  return (PMPI_Wtime() - start) / (double)pairs * 1e9;
}

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  long pairs = 1000000;
  const char* json = NULL;
  for (int i = 1; i < argc; ++i) {
    if (strcmp(argv[i], "--json") == 0 && i + 1 < argc) {
      json = argv[++i];
    } else {
      pairs = atol(argv[i]);
      if (pairs <= 0) {
        fprintf(stderr, "usage: mpiexec -n 1 strider_bench_forward [PAIRS] [--json FILE]\n");
        MPI_Abort(MPI_COMM_WORLD, 2);
      }
    }
  }
  double sent = 1.5, got = 0;
  double mpi = 1e30, pmpi = 1e30;
  for (int r = 0; r < 9; ++r) {
    const double a = round_ns(MPI_Send, MPI_Recv, pairs, &sent, &got);
    const double b = round_ns(PMPI_Send, PMPI_Recv, pairs, &sent, &got);
    if (a < mpi) mpi = a;
    if (b < pmpi) pmpi = b;
  }
  const int ok = got == sent;
  printf("send + receive of 8 bytes to self: MPI_* %.1f ns, PMPI_* %.1f ns, added %.1f ns (ratio %.3f)%s\n", mpi,
         pmpi, mpi - pmpi, mpi / pmpi, ok ? "" : "  DATA WRONG");
  if (json != NULL) {
    FILE* f = fopen(json, "w");
    if (f != NULL) {
      fprintf(f, "{\"benchmark\": \"forward\", \"pairs\": %ld, \"mpi_ns\": %.3f, \"pmpi_ns\": %.3f, \"added_ns\": %.3f, "
                 "\"ratio\": %.4f, \"verified\": %s}\n",
              pairs, mpi, pmpi, mpi - pmpi, mpi / pmpi, ok ? "true" : "false");
      fclose(f);
    }
  }
  MPI_Finalize();
  return ok ? 0 : 1;
}
