// MPI_Neighbor_alltoallw and MPI_Ineighbor_alltoallw (completed by MPI_Wait, MPI_Test or
// MPI_Waitall) through Strider (this program links libstrider.so) against the underlying MPI's
// own (PMPI_Neighbor_alltoallw, PMPI_Ineighbor_alltoallw with PMPI_Wait), byte for byte, on
// Cartesian grids with and without periodic wrap-around (duplicate neighbours, MPI_PROC_NULL)
// and on a distributed graph. The test_neighbor_host_pack run forces Strider's host-pack, so
// that every strided block of the nonblocking calls is staged.
//
// Open MPI 4.1's nonblocking neighbourhood collectives pair the messages between duplicate
// neighbours (a periodic dimension of one or two ranks) differently from its blocking ones, so
// each is compared with its own kind: Strider hands the nonblocking call to the MPI's.
#include <catch2/catch.hpp>
#include <mpi.h>

#include <cstring>
#include <vector>

namespace {

constexpr int kNx = 7;  // local interior, plus a halo of one cell on every side
constexpr int kNy = 5;
constexpr int kRows = kNy + 2;
constexpr int kCols = kNx + 2;

struct Faces {
  MPI_Datatype column;  // one column of the interior rows: 8-byte blocks
  MPI_Datatype row;     // one interior row: contiguous
};

Faces make_faces() {
  Faces f{};
  MPI_Type_vector(kNy, 1, kCols, MPI_DOUBLE, &f.column);
  MPI_Type_commit(&f.column);
  MPI_Type_contiguous(kNx, MPI_DOUBLE, &f.row);
  MPI_Type_commit(&f.row);
  return f;
}

std::vector<double> filled_grid(int rank) {
  std::vector<double> g(kRows * kCols, -1.0);
  for (int y = 1; y <= kNy; ++y)
    for (int x = 1; x <= kNx; ++x) g[static_cast<std::size_t>(y * kCols + x)] = rank * 1000 + y * 10 + x;
  return g;
}

MPI_Aint at(int y, int x) { return static_cast<MPI_Aint>((y * kCols + x) * sizeof(double)); }

// MPI_Ineighbor_alltoallw with the blocking signature, completed by `how` (0: MPI_Wait, 1: an
// MPI_Test loop, 2: MPI_Waitall beside a null request; -1: the underlying MPI's, PMPI_Wait).
template <int How>
int ineighbor(const void* sendbuf, const int sendcounts[], const MPI_Aint sdispls[], const MPI_Datatype sendtypes[],
              void* recvbuf, const int recvcounts[], const MPI_Aint rdispls[], const MPI_Datatype recvtypes[],
              MPI_Comm comm) {
  MPI_Request requests[2] = {MPI_REQUEST_NULL, MPI_REQUEST_NULL};
  if (How < 0) {
    const int rc = PMPI_Ineighbor_alltoallw(sendbuf, sendcounts, sdispls, sendtypes, recvbuf, recvcounts, rdispls,
                                            recvtypes, comm, &requests[1]);
    return rc != MPI_SUCCESS ? rc : PMPI_Wait(&requests[1], MPI_STATUS_IGNORE);
  }
  const int rc = MPI_Ineighbor_alltoallw(sendbuf, sendcounts, sdispls, sendtypes, recvbuf, recvcounts, rdispls,
                                         recvtypes, comm, &requests[1]);
  if (rc != MPI_SUCCESS) return rc;
  if (How == 0) return MPI_Wait(&requests[1], MPI_STATUS_IGNORE);
  if (How == 2) return MPI_Waitall(2, requests, MPI_STATUSES_IGNORE);
  int flag = 0;
  while (flag == 0) {
    const int test_rc = MPI_Test(&requests[1], &flag, MPI_STATUS_IGNORE);
    if (test_rc != MPI_SUCCESS) return test_rc;
  }
  return MPI_SUCCESS;
}

// Exchanges the four faces of a 2-D Cartesian grid with `exchange` (native or Strider).
template <class Exchange>
std::vector<double> halo_exchange(MPI_Comm cart, const Faces& f, Exchange&& exchange) {
  int rank = 0;
  MPI_Comm_rank(cart, &rank);
  std::vector<double> grid = filled_grid(rank);
  // Neighbour order: dim 0 (rows) -1, +1; dim 1 (columns) -1, +1.
  const int counts[4] = {1, 1, 1, 1};
  const MPI_Datatype types[4] = {f.row, f.row, f.column, f.column};
  const MPI_Aint send_at[4] = {at(1, 1), at(kNy, 1), at(1, 1), at(1, kNx)};
  const MPI_Aint recv_at[4] = {at(0, 1), at(kNy + 1, 1), at(1, 0), at(1, kNx + 1)};
  REQUIRE(exchange(grid.data(), counts, send_at, types, grid.data(), counts, recv_at, types, cart) == MPI_SUCCESS);
  return grid;
}

void compare_on(MPI_Comm cart) {
  const Faces f = make_faces();
  const auto native = halo_exchange(cart, f, PMPI_Neighbor_alltoallw);
  const auto ours = halo_exchange(cart, f, MPI_Neighbor_alltoallw);
  CHECK(std::memcmp(native.data(), ours.data(), native.size() * sizeof(double)) == 0);
  const auto native_nonblocking = halo_exchange(cart, f, ineighbor<-1>);
  for (const auto& nonblocking : {halo_exchange(cart, f, ineighbor<0>), halo_exchange(cart, f, ineighbor<1>),
                                  halo_exchange(cart, f, ineighbor<2>)})
    CHECK(std::memcmp(native_nonblocking.data(), nonblocking.data(), native.size() * sizeof(double)) == 0);
  // The halo was really filled (not left at -1) wherever a neighbour exists.
  int filled = 0;
  for (int x = 1; x <= kNx; ++x) filled += ours[static_cast<std::size_t>(x)] != -1.0;
  int minus = 0, plus = 0;
  MPI_Cart_shift(cart, 0, 1, &minus, &plus);
  CHECK((minus == MPI_PROC_NULL ? filled == 0 : filled == kNx));
  MPI_Type_free(const_cast<MPI_Datatype*>(&f.column));
  MPI_Type_free(const_cast<MPI_Datatype*>(&f.row));
}

MPI_Comm cartesian(bool periodic, int rows = 0) {
  int size = 0;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  int dims[2] = {rows, rows == 0 ? 0 : size / rows};
  MPI_Dims_create(size, 2, dims);
  const int periods[2] = {periodic ? 1 : 0, periodic ? 1 : 0};
  MPI_Comm cart;
  MPI_Cart_create(MPI_COMM_WORLD, 2, dims, periods, 0, &cart);
  return cart;
}

}  // namespace

TEST_CASE("neighbour halo exchange on a periodic Cartesian grid matches the underlying MPI") {
  MPI_Comm cart = cartesian(true);
  compare_on(cart);
  MPI_Comm_free(&cart);
}

TEST_CASE("a periodic dimension of one rank exchanges with itself as the underlying MPI does") {
  int size = 0;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  MPI_Comm cart = cartesian(true, size);  // dims {size, 1}: the second dimension wraps onto itself
  compare_on(cart);
  MPI_Comm_free(&cart);
}

TEST_CASE("neighbour halo exchange with MPI_PROC_NULL edges matches the underlying MPI") {
  MPI_Comm cart = cartesian(false);
  compare_on(cart);
  MPI_Comm_free(&cart);
}

TEST_CASE("neighbour exchange on a distributed graph ring matches the underlying MPI") {
  int rank = 0, size = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  const int left = (rank + size - 1) % size, right = (rank + 1) % size;
  const int sources[2] = {left, right};
  const int destinations[2] = {left, right};
  MPI_Comm graph;
  MPI_Dist_graph_create_adjacent(MPI_COMM_WORLD, 2, sources, MPI_UNWEIGHTED, 2, destinations, MPI_UNWEIGHTED,
                                 MPI_INFO_NULL, 0, &graph);
  const Faces f = make_faces();
  auto run = [&](auto exchange) {
    std::vector<double> grid = filled_grid(rank);
    const int counts[2] = {1, 1};
    const MPI_Datatype types[2] = {f.column, f.column};
    const MPI_Aint send_at[2] = {at(1, 1), at(1, kNx)};
    const MPI_Aint recv_at[2] = {at(1, kNx + 1), at(1, 0)};
    REQUIRE(exchange(grid.data(), counts, send_at, types, grid.data(), counts, recv_at, types, graph) == MPI_SUCCESS);
    return grid;
  };
  const auto native = run(PMPI_Neighbor_alltoallw);
  const auto ours = run(MPI_Neighbor_alltoallw);
  CHECK(std::memcmp(native.data(), ours.data(), native.size() * sizeof(double)) == 0);
  const auto native_nonblocking = run(ineighbor<-1>), nonblocking = run(ineighbor<0>);
  CHECK(std::memcmp(native_nonblocking.data(), nonblocking.data(), native.size() * sizeof(double)) == 0);
  MPI_Type_free(const_cast<MPI_Datatype*>(&f.column));
  MPI_Type_free(const_cast<MPI_Datatype*>(&f.row));
  MPI_Comm_free(&graph);
}
