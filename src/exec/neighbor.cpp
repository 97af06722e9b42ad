#include "exec/neighbor.hpp"

#include <mutex>
#include <vector>

#include "exec/p2p.hpp"
#include "mpi/next.hpp"

namespace strider::exec {
namespace {

// Strider's traffic for a collective must never match the application's own receives
// (MPI_ANY_TAG), so it runs on a private duplicate of the communicator, kept as an attribute
// of the user's communicator and freed with it.
int g_shadow_keyval = MPI_KEYVAL_INVALID;
std::once_flag g_keyval_once;

int free_shadow(MPI_Comm, int, void* value, void*) {
  auto* shadow = static_cast<MPI_Comm*>(value);
  PMPI_Comm_free(shadow);
  delete shadow;
  return MPI_SUCCESS;
}

// The private duplicate of `comm` (created collectively on first use), or MPI_COMM_NULL.
MPI_Comm shadow_of(MPI_Comm comm) {
  std::call_once(g_keyval_once, [] {
    PMPI_Comm_create_keyval(MPI_COMM_NULL_COPY_FN, free_shadow, &g_shadow_keyval, nullptr);
  });
  if (g_shadow_keyval == MPI_KEYVAL_INVALID) return MPI_COMM_NULL;
  void* value = nullptr;
  int found = 0;
  if (PMPI_Comm_get_attr(comm, g_shadow_keyval, &value, &found) != MPI_SUCCESS) return MPI_COMM_NULL;
  if (found != 0) return *static_cast<MPI_Comm*>(value);
  auto* shadow = new MPI_Comm(MPI_COMM_NULL);
  if (PMPI_Comm_dup(comm, shadow) != MPI_SUCCESS ||
      PMPI_Comm_set_attr(comm, g_shadow_keyval, shadow) != MPI_SUCCESS) {
    delete shadow;
    return MPI_COMM_NULL;
  }
  return *shadow;
}

// The neighbour lists in the order the MPI standard defines for neighbourhood collectives:
// Cartesian: per dimension, the -1 neighbour then the +1 neighbour (MPI_PROC_NULL included);
// graph: MPI_Graph_neighbors; distributed graph: the sources and destinations lists.
bool neighbours(MPI_Comm comm, std::vector<int>& sources, std::vector<int>& destinations, bool& cartesian) {
  int topology = MPI_UNDEFINED;
  if (PMPI_Topo_test(comm, &topology) != MPI_SUCCESS) return false;
  cartesian = topology == MPI_CART;
  if (topology == MPI_CART) {
    int ndims = 0;
    PMPI_Cartdim_get(comm, &ndims);
    for (int d = 0; d < ndims; ++d) {
      int minus = MPI_PROC_NULL, plus = MPI_PROC_NULL;
      PMPI_Cart_shift(comm, d, 1, &minus, &plus);
      sources.push_back(minus);
      sources.push_back(plus);
    }
    destinations = sources;
    return true;
  }
  if (topology == MPI_GRAPH) {
    int rank = 0, count = 0;
    PMPI_Comm_rank(comm, &rank);
    PMPI_Graph_neighbors_count(comm, rank, &count);
    sources.resize(static_cast<std::size_t>(count));
    PMPI_Graph_neighbors(comm, rank, count, sources.data());
    destinations = sources;
    return true;
  }
  if (topology == MPI_DIST_GRAPH) {
    int indegree = 0, outdegree = 0, weighted = 0;
    PMPI_Dist_graph_neighbors_count(comm, &indegree, &outdegree, &weighted);
    sources.resize(static_cast<std::size_t>(indegree));
    destinations.resize(static_cast<std::size_t>(outdegree));
    std::vector<int> source_weights(sources.size() + 1), destination_weights(destinations.size() + 1);
    PMPI_Dist_graph_neighbors(comm, indegree, sources.data(), source_weights.data(), outdegree,
                              destinations.data(), destination_weights.data());
    return true;
  }
  return false;
}

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
  std::vector<int> sources, destinations;
  bool cartesian = false;
  // Anything unusual (no topology, an invalid communicator) is the underlying MPI's to report.
  if (comm == MPI_COMM_NULL || !neighbours(comm, sources, destinations, cartesian)) return native();
  const MPI_Comm shadow = shadow_of(comm);
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
