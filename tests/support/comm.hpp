#pragma once
// A communicator's size and this process's rank in it, asked of the underlying MPI directly
// (PMPI), for the tests that check Strider's collectives against the MPI's.
#include <mpi.h>

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

}  // namespace strider::test
