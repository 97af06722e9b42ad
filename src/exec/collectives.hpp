#pragma once
// The collectives whose every message has a datatype of its own, so that halo exchanges
// written as neighbourhood collectives and transposes written as MPI_Alltoallw get the same
// packing as Isend/Irecv ones.
//
// The blocking MPI_Neighbor_alltoallw and MPI_Alltoallw run through Strider's own
// point-to-point path; every rank of the communicator must run Strider (as for any
// collective): a rank that calls the underlying MPI's collective instead would never match.
//
// The nonblocking MPI_Ineighbor_alltoallw and MPI_Ialltoallw pack the blocks Strider packs
// into one staging buffer and hand the underlying MPI the same collective over bytes, so its
// request is the application's and every completion call finishes it as it finishes a
// receive: the staged receive blocks are unpacked when the request completes. What travels
// is the same bytes, so these interoperate with ranks without Strider. MPI_Ineighbor_alltoallw
// addresses its blocks from MPI_BOTTOM, so packed and unpacked ones mix; MPI_Ialltoallw's
// displacements are ints, so it stages a side's every block once one is worth packing (and
// leaves the side to the MPI when some block cannot be: device memory, a type without a Layout).
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

int ineighbor_alltoallw(const void* sendbuf, const int sendcounts[], const MPI_Aint sdispls[],
                        const MPI_Datatype sendtypes[], void* recvbuf, const int recvcounts[],
                        const MPI_Aint rdispls[], const MPI_Datatype recvtypes[], MPI_Comm comm,
                        MPI_Request* request);

// Intracommunicators, not in place (as alltoallw).
int ialltoallw(const void* sendbuf, const int sendcounts[], const int sdispls[],
               const MPI_Datatype sendtypes[], void* recvbuf, const int recvcounts[],
               const int rdispls[], const MPI_Datatype recvtypes[], MPI_Comm comm,
               MPI_Request* request);

// The collectives whose blocks share one datatype per side, blocking and not. Each side (send,
// receive) is staged as a whole, as MPI_Ialltoallw's are, and the underlying MPI runs the same
// collective over the staged bytes, so each rank decides alone, the blocking forms keep the
// MPI's own pairing of duplicate neighbours, and ranks without Strider interoperate.
// Intracommunicators (MPI_Alltoallv) or topologies (the neighbour forms), not in place; the
// rest, invalid arguments included, go to the underlying MPI.
int alltoallv(const void* sendbuf, const int sendcounts[], const int sdispls[], MPI_Datatype sendtype,
              void* recvbuf, const int recvcounts[], const int rdispls[], MPI_Datatype recvtype, MPI_Comm comm);

int ialltoallv(const void* sendbuf, const int sendcounts[], const int sdispls[], MPI_Datatype sendtype,
               void* recvbuf, const int recvcounts[], const int rdispls[], MPI_Datatype recvtype, MPI_Comm comm,
               MPI_Request* request);

int neighbor_alltoallv(const void* sendbuf, const int sendcounts[], const int sdispls[], MPI_Datatype sendtype,
                       void* recvbuf, const int recvcounts[], const int rdispls[], MPI_Datatype recvtype,
                       MPI_Comm comm);

int ineighbor_alltoallv(const void* sendbuf, const int sendcounts[], const int sdispls[], MPI_Datatype sendtype,
                        void* recvbuf, const int recvcounts[], const int rdispls[], MPI_Datatype recvtype,
                        MPI_Comm comm, MPI_Request* request);

// The rooted collectives with a count and displacement per rank: a side of one block, and at
// the root a side of a block per rank, each staged as a whole as above and handed to the same
// call of the MPI over bytes. Intracommunicators, not in place. Their linear algorithms in Open
// MPI 4.1 match each message by its bytes alone, so each rank may decide alone.
// MPI_Allgatherv is left to the MPI: Open MPI 4.1's tuned component picks its algorithm from
// each rank's send type size times the receive counts, so ranks that staged differently would
// run different algorithms and never match.
int gatherv(const void* sendbuf, int sendcount, MPI_Datatype sendtype, void* recvbuf, const int recvcounts[],
            const int displs[], MPI_Datatype recvtype, int root, MPI_Comm comm);
int igatherv(const void* sendbuf, int sendcount, MPI_Datatype sendtype, void* recvbuf, const int recvcounts[],
             const int displs[], MPI_Datatype recvtype, int root, MPI_Comm comm, MPI_Request* request);
int scatterv(const void* sendbuf, const int sendcounts[], const int displs[], MPI_Datatype sendtype, void* recvbuf,
             int recvcount, MPI_Datatype recvtype, int root, MPI_Comm comm);
int iscatterv(const void* sendbuf, const int sendcounts[], const int displs[], MPI_Datatype sendtype, void* recvbuf,
              int recvcount, MPI_Datatype recvtype, int root, MPI_Comm comm, MPI_Request* request);

}  // namespace strider::exec
