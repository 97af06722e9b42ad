#pragma once
// The collectives whose every message has a datatype of its own, MPI_Neighbor_alltoallw and
// MPI_Alltoallw, through Strider's own point-to-point path, so that halo exchanges written as
// neighbourhood collectives and transposes written as MPI_Alltoallw get the same packing as
// Isend/Irecv ones. Every rank of the communicator must run Strider (as for any collective):
// a rank that calls the underlying MPI's collective instead would never match.
#include <mpi.h>

namespace strider::exec {

int neighbor_alltoallw(const void* sendbuf, const int sendcounts[], const MPI_Aint sdispls[],
                       const MPI_Datatype sendtypes[], void* recvbuf, const int recvcounts[],
                       const MPI_Aint rdispls[], const MPI_Datatype recvtypes[], MPI_Comm comm);

// Intracommunicators, not in place; an intercommunicator, MPI_IN_PLACE and invalid arguments
// (negative counts, null datatypes) go to the underlying MPI. Each is the same on every rank
// of a correct program, so all ranks take the same path.
int alltoallw(const void* sendbuf, const int sendcounts[], const int sdispls[],
              const MPI_Datatype sendtypes[], void* recvbuf, const int recvcounts[],
              const int rdispls[], const MPI_Datatype recvtypes[], MPI_Comm comm);

}  // namespace strider::exec
