/* A plain MPI program (no Strider headers or calls) exchanging contiguous, derived and packed
 * data between 2 ranks with a fixed number of each call, so that the interposition tests can
 * check Strider's per-call counters. It verifies every byte it receives and aborts otherwise.
 *
 * Calls made, rank 0: Init, Type_commit, Send x3, Isend, Wait, Pack_size, Pack, Ssend,
 * Sendrecv, Type_free, Finalize. Rank 1: Init, Type_commit, Recv x4, Irecv, Wait, Unpack,
 * Sendrecv, Type_free, Finalize. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "probe.h"

static int g_rank = -1;

static void check_call(int rc, const char* what, int line) {
  if (rc != MPI_SUCCESS) {
    fprintf(stderr, "pingpong[%d]: %s failed with %d (line %d)\n", g_rank, what, rc, line);
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
}
#define CHECK_MPI(call) check_call((call), #call, __LINE__)

static void expect_int(const char* what, int index, int got, int want) {
  if (got != want) {
    fprintf(stderr, "pingpong[%d]: MISMATCH %s[%d] = %d, expected %d\n", g_rank, what, index, got,
            want);
    MPI_Abort(MPI_COMM_WORLD, 2);
  }
}

enum { kRows = 4, kCols = 3 };

int main(int argc, char** argv) {
  CHECK_MPI(MPI_Init(&argc, &argv));
  int size = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  if (size != 2) {
    fprintf(stderr, "pingpong: needs exactly 2 ranks, got %d\n", size);
    MPI_Abort(MPI_COMM_WORLD, 3);
  }
  probe_strider("pingpong", g_rank);
  const MPI_Comm comm = MPI_COMM_WORLD;

  /* The first two columns of a 4x3 row-major int matrix. */
  MPI_Datatype columns;
  MPI_Type_vector(kRows, 2, kCols, MPI_INT, &columns);
  CHECK_MPI(MPI_Type_commit(&columns));

  int ints[16];
  int matrix[kRows][kCols];
  double doubles[5];
  int more[8];
  if (g_rank == 0) {
    for (int i = 0; i < 16; ++i) ints[i] = 7 * i + 1;
    for (int r = 0; r < kRows; ++r)
      for (int c = 0; c < kCols; ++c) matrix[r][c] = 100 + 10 * r + c;
    for (int i = 0; i < 5; ++i) doubles[i] = 0.5 * i - 1.0;
    for (int i = 0; i < 8; ++i) more[i] = -3 * i;

    CHECK_MPI(MPI_Send(ints, 16, MPI_INT, 1, 10, comm));
    CHECK_MPI(MPI_Send(matrix, 1, columns, 1, 11, comm));
    CHECK_MPI(MPI_Send(doubles, 5, MPI_DOUBLE, 1, 12, comm));
    MPI_Request request;
    CHECK_MPI(MPI_Isend(more, 8, MPI_INT, 1, 13, comm, &request));
    CHECK_MPI(MPI_Wait(&request, MPI_STATUS_IGNORE));

    int packed_size = 0;
    CHECK_MPI(MPI_Pack_size(1, columns, comm, &packed_size));
    char* packed = malloc((size_t)packed_size);
    int position = 0;
    CHECK_MPI(MPI_Pack(matrix, 1, columns, packed, packed_size, &position, comm));
    CHECK_MPI(MPI_Ssend(packed, position, MPI_PACKED, 1, 14, comm));
    free(packed);
  } else {
    MPI_Status status;
    memset(ints, 0, sizeof ints);
    CHECK_MPI(MPI_Recv(ints, 16, MPI_INT, 0, 10, comm, &status));
    for (int i = 0; i < 16; ++i) expect_int("ints", i, ints[i], 7 * i + 1);

    memset(matrix, 0, sizeof matrix);
    CHECK_MPI(MPI_Recv(matrix, 1, columns, 0, 11, comm, &status));
    for (int r = 0; r < kRows; ++r)
      for (int c = 0; c < kCols; ++c)
        expect_int("matrix", r * kCols + c, matrix[r][c], c < 2 ? 100 + 10 * r + c : 0);

    memset(doubles, 0, sizeof doubles);
    CHECK_MPI(MPI_Recv(doubles, 5, MPI_DOUBLE, 0, 12, comm, &status));
    for (int i = 0; i < 5; ++i) {
      if (doubles[i] != 0.5 * i - 1.0) {
        fprintf(stderr, "pingpong[1]: MISMATCH doubles[%d] = %g, expected %g\n", i, doubles[i],
                0.5 * i - 1.0);
        MPI_Abort(MPI_COMM_WORLD, 2);
      }
    }

    MPI_Request request;
    memset(more, 0, sizeof more);
    CHECK_MPI(MPI_Irecv(more, 8, MPI_INT, 0, 13, comm, &request));
    CHECK_MPI(MPI_Wait(&request, &status));
    for (int i = 0; i < 8; ++i) expect_int("more", i, more[i], -3 * i);
    expect_int("status.MPI_TAG", 0, status.MPI_TAG, 13);

    char packed[256];
    CHECK_MPI(MPI_Recv(packed, (int)sizeof packed, MPI_PACKED, 0, 14, comm, &status));
    int packed_size = 0;
    MPI_Get_count(&status, MPI_PACKED, &packed_size);
    memset(matrix, 0, sizeof matrix);
    int position = 0;
    CHECK_MPI(MPI_Unpack(packed, packed_size, &position, matrix, 1, columns, comm));
    expect_int("unpacked bytes", 0, position, packed_size);
    for (int r = 0; r < kRows; ++r)
      for (int c = 0; c < kCols; ++c)
        expect_int("unpacked", r * kCols + c, matrix[r][c], c < 2 ? 100 + 10 * r + c : 0);
  }

  /* Both ranks at once: each sends its own pattern and receives the other's. */
  const int peer = 1 - g_rank;
  int mine[4], theirs[4];
  for (int i = 0; i < 4; ++i) {
    mine[i] = 1000 * g_rank + i;
    theirs[i] = -1;
  }
  CHECK_MPI(MPI_Sendrecv(mine, 4, MPI_INT, peer, 20, theirs, 4, MPI_INT, peer, 20, comm,
                         MPI_STATUS_IGNORE));
  for (int i = 0; i < 4; ++i) expect_int("sendrecv", i, theirs[i], 1000 * peer + i);

  CHECK_MPI(MPI_Type_free(&columns));
  printf("pingpong[%d]: data ok\n", g_rank);
  fflush(stdout);
  CHECK_MPI(MPI_Finalize());
  return 0;
}
