#pragma once
// MPI_Neighbor_alltoallw through Strider's own point-to-point path, so halo exchanges written
// as neighbourhood collectives get the same packing as Isend/Irecv ones. Every rank of the
// communicator must run Strider (as for any collective).
#include <mpi.h>

namespace strider::exec {

int neighbor_alltoallw(const void* sendbuf, const int sendcounts[], const MPI_Aint sdispls[],
                       const MPI_Datatype sendtypes[], void* recvbuf, const int recvcounts[],
                       const MPI_Aint rdispls[], const MPI_Datatype recvtypes[], MPI_Comm comm);

}  // namespace strider::exec
