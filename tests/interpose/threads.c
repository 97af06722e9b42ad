/* MPI_THREAD_MULTIPLE through the interposed library: several threads per rank exchange
 * messages concurrently, each thread on its own tag, every payload checked. With T threads
 * and N rounds, rank 0 makes T*N MPI_Send, MPI_Irecv and MPI_Wait calls, rank 1 T*N MPI_Recv,
 * MPI_Isend and MPI_Wait calls (the interposition test checks these counts). */
#include <mpi.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "probe.h"

enum { kThreads = 4, kRounds = 100, kMaxLength = 64 };

static int g_rank;

static int value(int sender, int thread, int round, int i) {
  return sender * 1000000 + thread * 10000 + round * 100 + i;
}

static int length_of(int round) { return 1 + round % kMaxLength; }

static void* exchange(void* arg) {
  const int thread = (int)(size_t)arg;
  const int peer = 1 - g_rank;
  int out[kMaxLength], in[kMaxLength];
  long errors = 0;
  for (int round = 0; round < kRounds; ++round) {
    const int n = length_of(round);
    for (int i = 0; i < n; ++i) {
      out[i] = value(g_rank, thread, round, i);
      in[i] = -1;
    }
    MPI_Request request;
    MPI_Status status;
    if (g_rank == 0) {
      MPI_Send(out, n, MPI_INT, peer, thread, MPI_COMM_WORLD);
      MPI_Irecv(in, kMaxLength, MPI_INT, peer, thread, MPI_COMM_WORLD, &request);
      MPI_Wait(&request, &status);
    } else {
      MPI_Recv(in, kMaxLength, MPI_INT, peer, thread, MPI_COMM_WORLD, &status);
      MPI_Isend(out, n, MPI_INT, peer, thread, MPI_COMM_WORLD, &request);
      MPI_Wait(&request, MPI_STATUS_IGNORE);
    }
    int count = -1;
    MPI_Get_count(&status, MPI_INT, &count);
    if (count != n) ++errors;
    for (int i = 0; i < n && i < count; ++i) errors += in[i] != value(peer, thread, round, i);
  }
  return (void*)errors;
}

int main(int argc, char** argv) {
  int provided = -1;
  if (MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided) != MPI_SUCCESS) return 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
  probe_strider("threads", g_rank);
  int queried = -1;
  MPI_Query_thread(&queried);
  printf("threads[%d]: provided %s, query %s\n", g_rank,
         provided == MPI_THREAD_MULTIPLE ? "MPI_THREAD_MULTIPLE" : "less",
         queried == provided ? "agrees" : "DISAGREES");
  fflush(stdout);
  if (provided != MPI_THREAD_MULTIPLE) MPI_Abort(MPI_COMM_WORLD, 1);

  pthread_t threads[kThreads];
  for (int t = 0; t < kThreads; ++t) pthread_create(&threads[t], NULL, exchange, (void*)(size_t)t);
  long errors = 0;
  for (int t = 0; t < kThreads; ++t) {
    void* result = NULL;
    pthread_join(threads[t], &result);
    errors += (long)(size_t)result;
  }
  printf("threads[%d]: %s (%d threads x %d rounds, %ld errors)\n", g_rank,
         errors == 0 ? "data ok" : "DATA WRONG", kThreads, kRounds, errors);
  fflush(stdout);
  MPI_Finalize();
  return errors == 0 ? 0 : 1;
}
