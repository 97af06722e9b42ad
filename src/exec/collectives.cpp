#include "exec/collectives.hpp"

#include <cstdint>
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
// messages between two ranks in posting order, under one tag. MPI_Alltoallw sends at most one
// message each way between two ranks, under a tag of its own. A rank may enter its next
// collective on the communicator while a peer still waits in this one; its new messages
// cannot be taken for this one's, because each collective posts all of its receives before it
// returns and the MPI matches messages from one sender in order.
constexpr int kGraphTag = 0;
constexpr int kAlltoallwTag = 1 << 20;

int cart_recv_tag(std::size_t slot) { return static_cast<int>(slot); }
int cart_send_tag(std::size_t slot) { return static_cast<int>(slot ^ 1U); }

// `base` + `displacement` bytes, computed on integers: with MPI_BOTTOM (a null pointer) the
// displacements are absolute addresses.
char* at(const void* base, MPI_Aint displacement) {
  return reinterpret_cast<char*>(reinterpret_cast<std::uintptr_t>(base) + static_cast<std::uintptr_t>(displacement));
}

// One message of a collective, in the application's terms.
struct Message {
  char* buf;
  int count;
  MPI_Datatype type;
  int peer;
  int tag;
};

// Posts every receive, then every send, through Strider's point-to-point path, and waits for
// all of them. An error stops the posting; what was posted is still waited for.
int exchange(const std::vector<Message>& receives, const std::vector<Message>& sends, MPI_Comm shadow) {
  std::vector<MPI_Request> requests(receives.size() + sends.size(), MPI_REQUEST_NULL);
  int rc = MPI_SUCCESS;
  for (std::size_t i = 0; i < receives.size() && rc == MPI_SUCCESS; ++i) {
    const Message& m = receives[i];
    rc = irecv(m.buf, m.count, m.type, m.peer, m.tag, shadow, &requests[i]);
  }
  for (std::size_t i = 0; i < sends.size() && rc == MPI_SUCCESS; ++i) {
    const Message& m = sends[i];
    rc = isend(m.buf, m.count, m.type, m.peer, m.tag, shadow, &requests[receives.size() + i]);
  }
  const int wait_rc = waitall(static_cast<int>(requests.size()), requests.data(), MPI_STATUSES_IGNORE);
  return rc != MPI_SUCCESS ? rc : wait_rc;
}

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
  const MPI_Comm shadow = mpi::private_duplicate(comm);
  if (shadow == MPI_COMM_NULL) return native();

  // Receives and sends each in neighbour order.
  std::vector<Message> receives, sends;
  receives.reserve(n.sources.size());
  sends.reserve(n.destinations.size());
  for (std::size_t i = 0; i < n.sources.size(); ++i)
    receives.push_back({at(recvbuf, rdispls[i]), recvcounts[i], recvtypes[i], n.sources[i],
                        n.cartesian ? cart_recv_tag(i) : kGraphTag});
  for (std::size_t i = 0; i < n.destinations.size(); ++i)
    sends.push_back({at(sendbuf, sdispls[i]), sendcounts[i], sendtypes[i], n.destinations[i],
                     n.cartesian ? cart_send_tag(i) : kGraphTag});
  return exchange(receives, sends, shadow);
}

int alltoallw(const void* sendbuf, const int sendcounts[], const int sdispls[],
              const MPI_Datatype sendtypes[], void* recvbuf, const int recvcounts[],
              const int rdispls[], const MPI_Datatype recvtypes[], MPI_Comm comm) {
  auto native = [&] {
    return mpi::next().Alltoallw(sendbuf, sendcounts, sdispls, sendtypes, recvbuf, recvcounts, rdispls,
                                 recvtypes, comm);
  };
  int size = 0, rank = 0;
  if (comm == MPI_COMM_NULL || sendbuf == MPI_IN_PLACE || !mpi::intra_size_rank(comm, &size, &rank))
    return native();
  // Messages of no data are not sent: the standard makes the bytes sent from i to j equal the
  // bytes j receives from i, so both ends leave such a pair out alike. Negative counts and
  // invalid types are the underlying MPI's to report.
  auto bytes = [](int count, MPI_Datatype type) -> std::int64_t {
    if (count < 0 || type == MPI_DATATYPE_NULL) return -1;
    return count == 0 ? 0 : mpi::type_size(type);
  };
  std::vector<Message> receives, sends;
  // Sends start with the next rank and receives with the previous one, so that the ranks do
  // not all address rank 0 first.
  for (int k = 0; k < size; ++k) {
    const int from = (rank - k + size) % size, to = (rank + k) % size;
    const std::int64_t in = bytes(recvcounts[from], recvtypes[from]);
    const std::int64_t out = bytes(sendcounts[to], sendtypes[to]);
    if (in < 0 || out < 0) return native();
    if (in > 0)
      receives.push_back({at(recvbuf, rdispls[from]), recvcounts[from], recvtypes[from], from,
                          kAlltoallwTag});
    if (out > 0) sends.push_back({at(sendbuf, sdispls[to]), sendcounts[to], sendtypes[to], to, kAlltoallwTag});
  }
  const MPI_Comm shadow = mpi::private_duplicate(comm);
  if (shadow == MPI_COMM_NULL) return native();
  return exchange(receives, sends, shadow);
}

}  // namespace strider::exec
