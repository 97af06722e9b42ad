#pragma once
// Helpers for the tests that check Strider's collectives against the underlying MPI's: a
// communicator's size and this process's rank, asked of the MPI directly (PMPI), and the
// completion of a Strider request by each kind of completion call.
#include <mpi.h>

#include "exec/p2p.hpp"

namespace strider::test {

inline int rank_in(MPI_Comm comm) {
  int rank = 0;
  PMPI_Comm_rank(comm, &rank);
  return rank;
}

inline int size_of(MPI_Comm comm) {
  int size = 0;
  PMPI_Comm_size(comm, &size);
  return size;
}

// Completes `request` through Strider: exec::wait (how 0), an exec::test loop (1) or
// exec::waitall beside a null request (2). `request` holds what the completion call left.
inline int complete_by(MPI_Request& request, int how) {
  MPI_Request pair[2] = {MPI_REQUEST_NULL, request};
  int rc = MPI_SUCCESS;
  if (how == 0) {
    rc = exec::wait(&pair[1], MPI_STATUS_IGNORE);
  } else if (how == 2) {
    rc = exec::waitall(2, pair, MPI_STATUSES_IGNORE);
  } else {
    int flag = 0;
    while (flag == 0 && rc == MPI_SUCCESS) rc = exec::test(&pair[1], &flag, MPI_STATUS_IGNORE);
  }
  request = pair[1];
  return rc;
}

}  // namespace strider::test
