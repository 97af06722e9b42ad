/* Loading Strider must not load the CUDA driver or create a context: a program that never
 * touches a GPU must stay free of libcuda after MPI_Init and after host-buffer traffic.
 * Meaningful where a driver is installed (the last line says whether one is); elsewhere it
 * passes trivially. */
#include <dlfcn.h>
#include <mpi.h>
#include <stdio.h>
#include <string.h>

#include "probe.h"

/* 1 when a libcuda shared object is mapped into this process. */
static int libcuda_mapped(void) {
  FILE* maps = fopen("/proc/self/maps", "r");
  if (maps == NULL) return 0;
  char line[4096];
  int found = 0;
  while (!found && fgets(line, sizeof line, maps) != NULL)
    found = strstr(line, "libcuda.so") != NULL;
  fclose(maps);
  return found;
}

static int check(const char* when, int rank) {
  const int mapped = libcuda_mapped();
  void* loaded = dlopen("libcuda.so.1", RTLD_LAZY | RTLD_NOLOAD);
  printf("no_cuda[%d]: %s: libcuda %s\n", rank, when, mapped || loaded ? "LOADED" : "absent");
  if (loaded != NULL) dlclose(loaded);
  return mapped || loaded != NULL;
}

int main(int argc, char** argv) {
  int failed = check("at load", -1);
  MPI_Init(&argc, &argv);
  int rank = 0;
  int size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  probe_strider("no_cuda", rank);
  failed |= check("after MPI_Init", rank);

  /* Host traffic through the intercepted calls, derived type included. */
  double values[32];
  for (int i = 0; i < 32; ++i) values[i] = rank * 100 + i;
  MPI_Datatype every_other;
  MPI_Type_vector(16, 1, 2, MPI_DOUBLE, &every_other);
  MPI_Type_commit(&every_other);
  const int peer = (rank + 1) % size;
  const int from = (rank + size - 1) % size;
  double received[32] = {0};
  MPI_Sendrecv(values, 1, every_other, peer, 1, received, 1, every_other, from, 1, MPI_COMM_WORLD,
               MPI_STATUS_IGNORE);
  for (int i = 0; i < 32; i += 2) {
    if (received[i] != from * 100 + i) {
      printf("no_cuda[%d]: MISMATCH received[%d] = %g\n", rank, i, received[i]);
      failed = 1;
    }
  }
  MPI_Type_free(&every_other);
  failed |= check("after traffic", rank);
  MPI_Finalize();

  /* Only now look for a driver, to say whether this run proved anything. */
  void* driver = dlopen("libcuda.so.1", RTLD_LAZY);
  printf("no_cuda[%d]: CUDA driver on this machine: %s\n", rank, driver != NULL ? "yes" : "no");
  printf("no_cuda[%d]: %s\n", rank, failed ? "FAILED" : "ok");
  return failed;
}
