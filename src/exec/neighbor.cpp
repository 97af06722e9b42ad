#include "exec/neighbor.hpp"

#include <vector>

#include "exec/p2p.hpp"
#include "mpi/calls.hpp"
#include "mpi/next.hpp"

namespace strider::exec {
namespace {

// Strider's traffic for a collective must never match the application's own receives
// (MPI_ANY_TAG), so it runs on a private duplicate of the communicator (mpi::private_duplicate).

// Tags of the Strider traffic on the private communicator. On a Cartesian grid a message sent
// towards the +1 neighbour arrives on that rank's -1 side and vice versa; tagging by the
// receiving slot keeps that pairing when both neighbours are the same rank (a periodic
// dimension of one or two ranks), exactly as the underlying MPI pairs them. Graphs pair
// messages between two ranks in posting order, under one tag.
constexpr int kGraphTag = 0;

int cart_recv_tag(std::size_t slot) { return static_cast<int>(slot); }
int cart_send_tag(std::size_t slot) { return static_cast<int>(slot ^ 1U); }

}  // namespace

int neighbor_alltoallw(const void* sendbuf, const int sendcounts[], const MPI_Aint sdispls[],
                       const MPI_Datatype sendtypes[], void* recvbuf, const int recvcounts[],
                       const MPI_Aint rdispls[], const MPI_Datatype recvtypes[], MPI_Comm comm) {
  auto native = [&] {
    return mpi::next().Neighbor_alltoallw(sendbuf, sendcounts, sdispls, sendtypes, recvbuf, recvcounts,
                                          rdispls, recvtypes, comm);
  };
  mpi::Neighbours n;
  // Anything unusual (no topology, an invalid communicator) is the underlying MPI's to report.
  if (comm == MPI_COMM_NULL || !mpi::topology_neighbours(comm, n)) return native();
  const std::vector<int>& sources = n.sources;
  const std::vector<int>& destinations = n.destinations;
  const bool cartesian = n.cartesian;
  const MPI_Comm shadow = mpi::private_duplicate(comm);
  if (shadow == MPI_COMM_NULL) return native();

  // Receives first, then sends, each in neighbour order.
  std::vector<MPI_Request> requests(sources.size() + destinations.size(), MPI_REQUEST_NULL);
  int rc = MPI_SUCCESS;
  for (std::size_t i = 0; i < sources.size() && rc == MPI_SUCCESS; ++i)
    rc = irecv(static_cast<char*>(recvbuf) + rdispls[i], recvcounts[i], recvtypes[i], sources[i],
               cartesian ? cart_recv_tag(i) : kGraphTag, shadow, &requests[i]);
  for (std::size_t i = 0; i < destinations.size() && rc == MPI_SUCCESS; ++i)
    rc = isend(static_cast<const char*>(sendbuf) + sdispls[i], sendcounts[i], sendtypes[i], destinations[i],
               cartesian ? cart_send_tag(i) : kGraphTag, shadow, &requests[sources.size() + i]);
  const int wait_rc = waitall(static_cast<int>(requests.size()), requests.data(), MPI_STATUSES_IGNORE);
  return rc != MPI_SUCCESS ? rc : wait_rc;
}

}  // namespace strider::exec
