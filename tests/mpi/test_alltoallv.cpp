// MPI_Alltoallv, MPI_Ialltoallv, MPI_Neighbor_alltoallv and MPI_Ineighbor_alltoallv through
// Strider (the exec:: functions behind the intercepted calls, completed by Strider's own
// completion calls) against the underlying MPI's own calls, byte for byte. The blocks are the
// transpose idiom: the sender's columns of a row-major matrix (a column type resized to one
// double, so that counts and displacements count columns), received as runs of pairs of
// doubles; a different count for every ordered pair of ranks, pairs that exchange nothing,
// self messages, one side strided and the other contiguous, a rank that leaves the call to the
// MPI while its peers go through Strider, Cartesian neighbourhoods whose neighbours repeat
// (periodic dimensions of two ranks) and a distributed graph. The program links the modules so
// that it can read the counters: the strided sides must have been packed by Strider.
#include <catch2/catch.hpp>
#include <mpi.h>

#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <vector>

#include "core/counters.hpp"
#include "exec/collectives.hpp"
#include "exec/datatype.hpp"
#include "exec/p2p.hpp"
#include "comm.hpp"

namespace {

namespace core = strider::core;
namespace exec = strider::exec;
using strider::test::complete_by;
using strider::test::rank_in;
using strider::test::size_of;

constexpr int kRows = 64;            // rows of the sender's matrix: a column is 64 doubles
constexpr int kPairs = kRows / 2;    // a received column: 32 pairs of doubles, three apart
constexpr int kSlot = 3 * kPairs;    // doubles a received column spans (its resized extent)

std::uint64_t host_packed() { return core::counters().method_calls(core::Method::host_pack); }

MPI_Datatype committed(MPI_Datatype type) {
  REQUIRE(exec::type_commit(&type) == MPI_SUCCESS);
  return type;
}

// The two layouts of a column, and the contiguous one. Freed through Strider, as committed.
struct Types {
  MPI_Datatype column = MPI_DATATYPE_NULL;  // one matrix column, extent one double
  MPI_Datatype pairs = MPI_DATATYPE_NULL;   // 32 runs of 2 doubles, 3 apart, extent kSlot doubles
  MPI_Datatype run = MPI_DATATYPE_NULL;     // kRows contiguous doubles
  Types(int columns) {
    MPI_Datatype v = MPI_DATATYPE_NULL;
    PMPI_Type_vector(kRows, 1, columns, MPI_DOUBLE, &v);
    PMPI_Type_create_resized(v, 0, sizeof(double), &column);
    PMPI_Type_free(&v);
    column = committed(column);
    PMPI_Type_vector(kPairs, 2, 3, MPI_DOUBLE, &v);
    PMPI_Type_create_resized(v, 0, kSlot * sizeof(double), &pairs);
    PMPI_Type_free(&v);
    pairs = committed(pairs);
    PMPI_Type_contiguous(kRows, MPI_DOUBLE, &run);
    run = committed(run);
  }
  Types(const Types&) = delete;
  Types& operator=(const Types&) = delete;
  ~Types() {
    for (MPI_Datatype* t : {&column, &pairs, &run}) exec::type_free(t);
  }
};

// How the receive side lays out a column: as pairs (strided) or as one run (contiguous).
enum class Receive { pairs, run };

// One rank's arguments of an MPI_Alltoallv-shaped call: to destination i it sends out[i]
// columns of its matrix, from source i it receives in[i] columns.
struct VCall {
  std::vector<int> out, in;
  std::vector<int> sendcounts, sdispls, recvcounts, rdispls;
  int columns = 0;
  std::vector<double> matrix, recv;
  MPI_Datatype sendtype = MPI_DATATYPE_NULL, recvtype = MPI_DATATYPE_NULL;
  std::unique_ptr<Types> types;

  VCall(std::uint64_t round, int rank, std::vector<int> to, std::vector<int> from, Receive receive)
      : out(std::move(to)), in(std::move(from)) {
    // Send blocks with a column left out between them; every element distinct per round.
    for (int count : out) {
      sendcounts.push_back(count);
      sdispls.push_back(columns);
      columns += count + 1;
    }
    matrix.resize(static_cast<std::size_t>(kRows) * static_cast<std::size_t>(columns));
    for (std::size_t i = 0; i < matrix.size(); ++i)
      matrix[i] = static_cast<double>(round * 100000000 + static_cast<std::uint64_t>(rank) * 1000000 + i);
    types = std::make_unique<Types>(columns);
    sendtype = types->column;
    recvtype = receive == Receive::pairs ? types->pairs : types->run;
    const int unit = receive == Receive::pairs ? kSlot : kRows;  // doubles per received column
    int slots = 0;
    for (int count : in) {
      recvcounts.push_back(count);
      rdispls.push_back(slots);
      slots += count + 1;  // a slot left alone between blocks
    }
    recv.assign(static_cast<std::size_t>(slots) * static_cast<std::size_t>(unit) + 1, -1.0);
  }

  using Blocking = std::function<int(const void*, const int*, const int*, MPI_Datatype, void*, const int*,
                                     const int*, MPI_Datatype, MPI_Comm)>;
  int run(const Blocking& call, MPI_Comm comm) {
    return call(matrix.data(), sendcounts.data(), sdispls.data(), sendtype, recv.data(), recvcounts.data(),
                rdispls.data(), recvtype, comm);
  }
  bool same(const VCall& other) const { return recv == other.recv; }
};

// Columns rank `from` sends to rank `to`: different for every ordered pair, none for some.
int column_count(int from, int to) { return (from + to) % 3 == 1 && from != to ? 0 : 1 + (3 * from + to) % 5; }

VCall all_to_all(std::uint64_t round, MPI_Comm comm, Receive receive) {
  const int rank = rank_in(comm), size = size_of(comm);
  std::vector<int> out, in;
  for (int peer = 0; peer < size; ++peer) {
    out.push_back(column_count(rank, peer));
    in.push_back(column_count(peer, rank));
  }
  return VCall(round, rank, out, in, receive);
}

int pmpi_alltoallv(const void* sb, const int* sc, const int* sd, MPI_Datatype st, void* rb, const int* rc,
                   const int* rd, MPI_Datatype rt, MPI_Comm comm) {
  return PMPI_Alltoallv(sb, sc, sd, st, rb, rc, rd, rt, comm);
}

int pmpi_neighbor_alltoallv(const void* sb, const int* sc, const int* sd, MPI_Datatype st, void* rb, const int* rc,
                            const int* rd, MPI_Datatype rt, MPI_Comm comm) {
  return PMPI_Neighbor_alltoallv(sb, sc, sd, st, rb, rc, rd, rt, comm);
}

// The nonblocking calls with the blocking signature: the MPI's completed by PMPI_Wait, and
// Strider's completed by exec::wait (how 0), an exec::test loop (1) or exec::waitall beside a
// null request (2).
template <class Post>
int completed(Post&& post, int how) {
  MPI_Request request = MPI_REQUEST_NULL;
  int rc = post(&request);
  if (rc == MPI_SUCCESS) rc = complete_by(request, how);
  if (rc != MPI_SUCCESS) return rc;
  return request == MPI_REQUEST_NULL ? MPI_SUCCESS : MPI_ERR_REQUEST;
}

VCall::Blocking strider_ialltoallv(int how) {
  return [how](const void* sb, const int* sc, const int* sd, MPI_Datatype st, void* rb, const int* rc,
               const int* rd, MPI_Datatype rt, MPI_Comm comm) {
    return completed([&](MPI_Request* r) { return exec::ialltoallv(sb, sc, sd, st, rb, rc, rd, rt, comm, r); }, how);
  };
}

VCall::Blocking strider_ineighbor_alltoallv(int how) {
  return [how](const void* sb, const int* sc, const int* sd, MPI_Datatype st, void* rb, const int* rc,
               const int* rd, MPI_Datatype rt, MPI_Comm comm) {
    return completed(
        [&](MPI_Request* r) { return exec::ineighbor_alltoallv(sb, sc, sd, st, rb, rc, rd, rt, comm, r); }, how);
  };
}

int pmpi_ialltoallv(const void* sb, const int* sc, const int* sd, MPI_Datatype st, void* rb, const int* rc,
                    const int* rd, MPI_Datatype rt, MPI_Comm comm) {
  MPI_Request r = MPI_REQUEST_NULL;
  const int rc0 = PMPI_Ialltoallv(sb, sc, sd, st, rb, rc, rd, rt, comm, &r);
  return rc0 != MPI_SUCCESS ? rc0 : PMPI_Wait(&r, MPI_STATUS_IGNORE);
}

int pmpi_ineighbor_alltoallv(const void* sb, const int* sc, const int* sd, MPI_Datatype st, void* rb,
                             const int* rc, const int* rd, MPI_Datatype rt, MPI_Comm comm) {
  MPI_Request r = MPI_REQUEST_NULL;
  const int rc0 = PMPI_Ineighbor_alltoallv(sb, sc, sd, st, rb, rc, rd, rt, comm, &r);
  return rc0 != MPI_SUCCESS ? rc0 : PMPI_Wait(&r, MPI_STATUS_IGNORE);
}

}  // namespace

TEST_CASE("MPI_Alltoallv of matrix columns matches the underlying MPI") {
  for (const Receive receive : {Receive::pairs, Receive::run}) {
    CAPTURE(receive == Receive::pairs ? "received as pairs" : "received contiguously");
    VCall native = all_to_all(1, MPI_COMM_WORLD, receive), ours = all_to_all(1, MPI_COMM_WORLD, receive);
    REQUIRE(native.run(pmpi_alltoallv, MPI_COMM_WORLD) == MPI_SUCCESS);
    const std::uint64_t packed_before = host_packed();
    REQUIRE(ours.run(exec::alltoallv, MPI_COMM_WORLD) == MPI_SUCCESS);
    CHECK(ours.same(native));
    CHECK(host_packed() > packed_before);  // the column side at least
    // Every block arrived: its first element is no longer the fill value.
    for (std::size_t j = 0; j < ours.in.size(); ++j) {
      CAPTURE(j);
      const int unit = receive == Receive::pairs ? kSlot : kRows;
      const double first = ours.recv[static_cast<std::size_t>(ours.rdispls[j] * unit)];
      CHECK((ours.in[j] == 0 ? first == -1.0 : first != -1.0));
    }
  }
}

TEST_CASE("MPI_Alltoallv back to back on a communicator of its own, blocking and not") {
  MPI_Comm reversed = MPI_COMM_NULL;
  PMPI_Comm_split(MPI_COMM_WORLD, 0, size_of(MPI_COMM_WORLD) - rank_in(MPI_COMM_WORLD), &reversed);
  for (std::uint64_t round = 2; round < 5; ++round) {
    for (MPI_Comm comm : {MPI_COMM_WORLD, reversed}) {
      CAPTURE(round);
      VCall native = all_to_all(round, comm, Receive::pairs), ours = all_to_all(round, comm, Receive::pairs);
      REQUIRE(native.run(pmpi_alltoallv, comm) == MPI_SUCCESS);
      REQUIRE(ours.run(exec::alltoallv, comm) == MPI_SUCCESS);
      CHECK(ours.same(native));
      for (int how = 0; how < 3; ++how) {
        CAPTURE(how);
        VCall mpi = all_to_all(round, comm, Receive::run), mine = all_to_all(round, comm, Receive::run);
        REQUIRE(mpi.run(pmpi_ialltoallv, comm) == MPI_SUCCESS);
        const std::uint64_t packed_before = host_packed();
        REQUIRE(mine.run(strider_ialltoallv(how), comm) == MPI_SUCCESS);
        CHECK(mine.same(mpi));
        CHECK(host_packed() > packed_before);
      }
    }
  }
  PMPI_Comm_free(&reversed);
}

TEST_CASE("MPI_Ialltoallv calls in flight together, with point-to-point requests") {
  VCall want = all_to_all(7, MPI_COMM_WORLD, Receive::pairs);
  REQUIRE(want.run(pmpi_alltoallv, MPI_COMM_WORLD) == MPI_SUCCESS);
  VCall first = all_to_all(7, MPI_COMM_WORLD, Receive::pairs), second = all_to_all(7, MPI_COMM_WORLD, Receive::pairs);
  const int rank = rank_in(MPI_COMM_WORLD), size = size_of(MPI_COMM_WORLD);
  double out = rank, in = -1;
  MPI_Request requests[4] = {MPI_REQUEST_NULL, MPI_REQUEST_NULL, MPI_REQUEST_NULL, MPI_REQUEST_NULL};
  auto post = [&](VCall& c, MPI_Request* r) {
    return exec::ialltoallv(c.matrix.data(), c.sendcounts.data(), c.sdispls.data(), c.sendtype, c.recv.data(),
                            c.recvcounts.data(), c.rdispls.data(), c.recvtype, MPI_COMM_WORLD, r);
  };
  REQUIRE(post(first, &requests[0]) == MPI_SUCCESS);
  REQUIRE(exec::irecv(&in, 1, MPI_DOUBLE, (rank + size - 1) % size, 9, MPI_COMM_WORLD, &requests[1]) == MPI_SUCCESS);
  REQUIRE(post(second, &requests[2]) == MPI_SUCCESS);
  REQUIRE(exec::isend(&out, 1, MPI_DOUBLE, (rank + 1) % size, 9, MPI_COMM_WORLD, &requests[3]) == MPI_SUCCESS);
  int index = MPI_UNDEFINED;
  REQUIRE(exec::waitany(4, requests, &index, MPI_STATUS_IGNORE) == MPI_SUCCESS);
  REQUIRE(exec::waitall(4, requests, MPI_STATUSES_IGNORE) == MPI_SUCCESS);
  CHECK(first.same(want));
  CHECK(second.same(want));
  CHECK(in == (rank + size - 1) % size);
}

TEST_CASE("MPI_Alltoallv with one rank on the underlying MPI and the others through Strider") {
  // Each rank stages alone: rank 0 hands the MPI its datatypes, the others bytes.
  for (const bool nonblocking : {false, true}) {
    CAPTURE(nonblocking);
    VCall native = all_to_all(11, MPI_COMM_WORLD, Receive::pairs);
    VCall ours = all_to_all(11, MPI_COMM_WORLD, Receive::pairs);
    REQUIRE(native.run(pmpi_alltoallv, MPI_COMM_WORLD) == MPI_SUCCESS);
    const bool mine = rank_in(MPI_COMM_WORLD) != 0;
    const VCall::Blocking call = mine ? (nonblocking ? strider_ialltoallv(0) : VCall::Blocking(exec::alltoallv))
                                      : (nonblocking ? VCall::Blocking(pmpi_ialltoallv) : pmpi_alltoallv);
    REQUIRE(ours.run(call, MPI_COMM_WORLD) == MPI_SUCCESS);
    CHECK(ours.same(native));
  }
}

TEST_CASE("MPI_Alltoallv in place and with nothing strided are the underlying MPI's") {
  const int rank = rank_in(MPI_COMM_WORLD), size = size_of(MPI_COMM_WORLD);
  const auto n = static_cast<std::size_t>(size);
  std::vector<int> counts(n), displs(n);
  for (int peer = 0; peer < size; ++peer) {
    counts[static_cast<std::size_t>(peer)] = 3 + rank + peer;  // symmetric in the pair
    displs[static_cast<std::size_t>(peer)] = peer * 16;
  }
  auto fresh = [&] {
    std::vector<double> b(n * 16);
    for (std::size_t i = 0; i < b.size(); ++i) b[i] = rank * 10000.0 + static_cast<double>(i);
    return b;
  };
  std::vector<double> want = fresh(), got = fresh();
  REQUIRE(PMPI_Alltoallv(MPI_IN_PLACE, nullptr, nullptr, MPI_DATATYPE_NULL, want.data(), counts.data(),
                         displs.data(), MPI_DOUBLE, MPI_COMM_WORLD) == MPI_SUCCESS);
  REQUIRE(exec::alltoallv(MPI_IN_PLACE, nullptr, nullptr, MPI_DATATYPE_NULL, got.data(), counts.data(),
                          displs.data(), MPI_DOUBLE, MPI_COMM_WORLD) == MPI_SUCCESS);
  CHECK(got == want);
  // Contiguous doubles both ways: nothing staged.
  const std::vector<double> send = fresh();
  std::vector<double> want2(n * 16, -1.0), got2(n * 16, -1.0);
  REQUIRE(PMPI_Alltoallv(send.data(), counts.data(), displs.data(), MPI_DOUBLE, want2.data(), counts.data(),
                         displs.data(), MPI_DOUBLE, MPI_COMM_WORLD) == MPI_SUCCESS);
  const std::uint64_t packed_before = host_packed();
  MPI_Request request = MPI_REQUEST_NULL;
  REQUIRE(exec::ialltoallv(send.data(), counts.data(), displs.data(), MPI_DOUBLE, got2.data(), counts.data(),
                           displs.data(), MPI_DOUBLE, MPI_COMM_WORLD, &request) == MPI_SUCCESS);
  REQUIRE(exec::wait(&request, MPI_STATUS_IGNORE) == MPI_SUCCESS);
  CHECK(host_packed() == packed_before);
  CHECK(got2 == want2);
}

TEST_CASE("MPI_Neighbor_alltoallv on Cartesian grids and a graph matches the underlying MPI") {
  const int rank = rank_in(MPI_COMM_WORLD), size = size_of(MPI_COMM_WORLD);
  std::vector<MPI_Comm> comms;
  // A periodic grid whose dimensions of two ranks make both neighbours the same rank, and a
  // non-periodic one (MPI_PROC_NULL at the ends).
  for (const int periodic : {1, 0}) {
    int dims[2] = {0, 0};
    PMPI_Dims_create(size, 2, dims);
    const int periods[2] = {periodic, periodic};
    MPI_Comm cart = MPI_COMM_NULL;
    PMPI_Cart_create(MPI_COMM_WORLD, 2, dims, periods, 0, &cart);
    comms.push_back(cart);
  }
  // A graph: to the next rank and the one after, from the two before (one edge twice).
  const int destinations[3] = {(rank + 1) % size, (rank + 2) % size, (rank + 2) % size};
  const int sources[3] = {(rank + size - 1) % size, (rank + size - 2) % size, (rank + size - 2) % size};
  MPI_Comm graph = MPI_COMM_NULL;
  PMPI_Dist_graph_create_adjacent(MPI_COMM_WORLD, 3, sources, MPI_UNWEIGHTED, 3, destinations, MPI_UNWEIGHTED,
                                  MPI_INFO_NULL, 0, &graph);
  comms.push_back(graph);
  for (std::size_t c = 0; c < comms.size(); ++c) {
    CAPTURE(c);
    MPI_Comm comm = comms[c];
    // Slot i of a Cartesian grid receives what its neighbour sent from slot i ^ 1, in the same
    // dimension: one count per dimension (plus one on the second) agrees on both ends. On the
    // graph, every edge carries its own count: 2, 3 and 4 columns.
    int topology = MPI_UNDEFINED, in_degree = 4, out_degree = 4, weighted = 0;
    PMPI_Topo_test(comm, &topology);
    if (topology != MPI_CART) PMPI_Dist_graph_neighbors_count(comm, &in_degree, &out_degree, &weighted);
    std::vector<int> out, in;
    for (int i = 0; i < out_degree; ++i) out.push_back(topology == MPI_CART ? 2 + i / 2 : 2 + i);
    for (int i = 0; i < in_degree; ++i) in.push_back(topology == MPI_CART ? 2 + i / 2 : 2 + i);
    for (int how = -1; how < 3; ++how) {
      CAPTURE(how);
      VCall native(5, rank, out, in, Receive::pairs), ours(5, rank, out, in, Receive::pairs);
      // The blocking call is compared with the MPI's blocking one and the nonblocking with its
      // nonblocking one: Open MPI 4.1 pairs duplicate neighbours differently in the two.
      REQUIRE(native.run(how < 0 ? pmpi_neighbor_alltoallv : pmpi_ineighbor_alltoallv, comm) == MPI_SUCCESS);
      const std::uint64_t packed_before = host_packed();
      REQUIRE(ours.run(how < 0 ? VCall::Blocking(exec::neighbor_alltoallv) : strider_ineighbor_alltoallv(how), comm) ==
              MPI_SUCCESS);
      CHECK(ours.same(native));
      CHECK(host_packed() > packed_before);
    }
  }
  for (MPI_Comm& comm : comms) PMPI_Comm_free(&comm);
}
