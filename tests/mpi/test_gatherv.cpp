// MPI_Gatherv and MPI_Scatterv and their nonblocking forms through Strider (the
// exec:: functions behind the intercepted calls, completed by Strider's own completion calls)
// against the underlying MPI's own calls, byte for byte. The idiom of a distributed 2-D array:
// each rank's block of columns lives inside a halo (a subarray type), and the root's global
// array takes it by a column type resized to one double, so that counts and displacements
// count columns. Widths differ per rank and one rank holds none; roots vary; calls back to back
// on a communicator of their own; a rank that leaves the call to the MPI while the others go
// through Strider; in place at the root. The program
// links the modules so that it can read the counters: the strided sides must have been packed.
#include <catch2/catch.hpp>
#include <mpi.h>

#include <cstdint>
#include <vector>

#include "comm.hpp"
#include "core/counters.hpp"
#include "exec/collectives.hpp"
#include "exec/datatype.hpp"
#include "exec/p2p.hpp"

namespace {

namespace core = strider::core;
namespace exec = strider::exec;
using strider::test::complete_by;
using strider::test::rank_in;
using strider::test::size_of;

constexpr int kRows = 64;  // rows of the global array and of every block

std::uint64_t host_packed() { return core::counters().method_calls(core::Method::host_pack); }

// Columns rank r holds: different per rank, none for rank 2.
int width(int r) { return r == 2 ? 0 : 3 + r; }

MPI_Datatype committed(MPI_Datatype type) {
  REQUIRE(exec::type_commit(&type) == MPI_SUCCESS);
  return type;
}

// One rank's view: its block inside a halo of one cell, and (for the gathering side) the
// global array of every rank's columns side by side, with the column type that addresses it.
struct Grid {
  int rank, size, mine, columns = 0;
  std::vector<int> counts, displs;     // per rank: its columns, and where they start
  std::vector<double> local, global;   // (kRows + 2) x (mine + 2), and kRows x columns
  MPI_Datatype interior = MPI_DATATYPE_NULL, column = MPI_DATATYPE_NULL;

  Grid(std::uint64_t round, MPI_Comm comm) : rank(rank_in(comm)), size(size_of(comm)), mine(width(rank)) {
    for (int r = 0; r < size; ++r) {
      counts.push_back(width(r));
      displs.push_back(columns);
      columns += width(r);
    }
    local.assign(static_cast<std::size_t>((kRows + 2) * (mine + 2)), -1.0);
    for (int y = 1; y <= kRows; ++y)
      for (int x = 1; x <= mine; ++x)
        local[static_cast<std::size_t>(y * (mine + 2) + x)] =
            static_cast<double>(round * 1000000 + static_cast<std::uint64_t>(rank) * 10000 + y * 100 + x);
    global.assign(static_cast<std::size_t>(kRows * columns), -2.0);
    const int sizes[2] = {kRows + 2, mine + 2}, subsizes[2] = {kRows, mine}, starts[2] = {1, 1};
    if (mine > 0) {
      PMPI_Type_create_subarray(2, sizes, subsizes, starts, MPI_ORDER_C, MPI_DOUBLE, &interior);
    } else {
      PMPI_Type_contiguous(0, MPI_DOUBLE, &interior);
    }
    interior = committed(interior);
    MPI_Datatype v = MPI_DATATYPE_NULL;
    PMPI_Type_vector(kRows, 1, columns, MPI_DOUBLE, &v);
    PMPI_Type_create_resized(v, 0, sizeof(double), &column);
    PMPI_Type_free(&v);
    column = committed(column);
  }
  Grid(const Grid&) = delete;
  Grid& operator=(const Grid&) = delete;
  ~Grid() {
    exec::type_free(&interior);
    exec::type_free(&column);
  }
  // The block as 1 interior (empty: 0 of it), the way every call here sends or receives it.
  int block_count() const { return mine > 0 ? 1 : 0; }
};

// Completes a nonblocking call: Strider's by exec::wait (how 0), an exec::test loop (1) or
// exec::waitall beside a null request (2); the MPI's (ours false) by PMPI_Wait.
int complete(MPI_Request* request, bool ours, int how) {
  return ours ? complete_by(*request, how) : PMPI_Wait(request, MPI_STATUS_IGNORE);
}

// The blocking call, or the nonblocking one and a completion call; by Strider (`ours`) or by
// the underlying MPI. All ranks of a call use the same form; each may differ in `ours`.
enum class Form { blocking, wait, test, waitall };
constexpr Form kForms[] = {Form::blocking, Form::wait, Form::test, Form::waitall};

int gather(Grid& g, int root, MPI_Comm comm, bool ours, Form form) {
  auto blocking = ours ? exec::gatherv : PMPI_Gatherv;
  auto nonblocking = ours ? exec::igatherv : PMPI_Igatherv;
  if (form == Form::blocking)
    return blocking(g.local.data(), g.block_count(), g.interior, g.global.data(), g.counts.data(), g.displs.data(),
                    g.column, root, comm);
  MPI_Request r = MPI_REQUEST_NULL;
  const int rc = nonblocking(g.local.data(), g.block_count(), g.interior, g.global.data(), g.counts.data(),
                             g.displs.data(), g.column, root, comm, &r);
  return rc != MPI_SUCCESS ? rc : complete(&r, ours, static_cast<int>(form) - 1);
}

int scatter(Grid& g, int root, MPI_Comm comm, bool ours, Form form) {
  auto blocking = ours ? exec::scatterv : PMPI_Scatterv;
  auto nonblocking = ours ? exec::iscatterv : PMPI_Iscatterv;
  if (form == Form::blocking)
    return blocking(g.global.data(), g.counts.data(), g.displs.data(), g.column, g.local.data(), g.block_count(),
                    g.interior, root, comm);
  MPI_Request r = MPI_REQUEST_NULL;
  const int rc = nonblocking(g.global.data(), g.counts.data(), g.displs.data(), g.column, g.local.data(),
                             g.block_count(), g.interior, root, comm, &r);
  return rc != MPI_SUCCESS ? rc : complete(&r, ours, static_cast<int>(form) - 1);
}

// Fills the root's global array for a scatter: every element distinct.
void fill_global(Grid& g, std::uint64_t round) {
  for (std::size_t i = 0; i < g.global.size(); ++i) g.global[i] = static_cast<double>(round * 1000000 + 7 * i);
}

}  // namespace

TEST_CASE("MPI_Gatherv and MPI_Igatherv of halo blocks into columns match the underlying MPI") {
  MPI_Comm reversed = MPI_COMM_NULL;
  PMPI_Comm_split(MPI_COMM_WORLD, 0, size_of(MPI_COMM_WORLD) - rank_in(MPI_COMM_WORLD), &reversed);
  const int size = size_of(MPI_COMM_WORLD);
  for (MPI_Comm comm : {MPI_COMM_WORLD, reversed}) {
    for (const int root : {0, size - 1}) {
      for (const Form form : kForms) {
        CAPTURE(root, static_cast<int>(form));
        Grid native(1, comm), ours(1, comm);
        REQUIRE(gather(native, root, comm, false, form) == MPI_SUCCESS);
        const std::uint64_t packed_before = host_packed();
        REQUIRE(gather(ours, root, comm, true, form) == MPI_SUCCESS);
        CHECK(ours.global == native.global);
        if (ours.rank == root) {
          CHECK(host_packed() > packed_before);  // the root's columns at least
          CHECK(ours.global.front() != -2.0);
        }
      }
    }
  }
  PMPI_Comm_free(&reversed);
}

TEST_CASE("MPI_Scatterv and MPI_Iscatterv from columns into halo blocks match the underlying MPI") {
  const int size = size_of(MPI_COMM_WORLD);
  for (const int root : {size - 1, 0}) {
    for (const Form form : kForms) {
      CAPTURE(root, static_cast<int>(form));
      Grid native(3, MPI_COMM_WORLD), ours(3, MPI_COMM_WORLD);
      fill_global(native, 3);
      fill_global(ours, 3);
      REQUIRE(scatter(native, root, MPI_COMM_WORLD, false, form) == MPI_SUCCESS);
      const std::uint64_t packed_before = host_packed();
      REQUIRE(scatter(ours, root, MPI_COMM_WORLD, true, form) == MPI_SUCCESS);
      CHECK(ours.local == native.local);  // the halo untouched, the interior the root's columns
      if (ours.rank == root) CHECK(host_packed() > packed_before);
    }
  }
}

TEST_CASE("MPI_Gatherv and MPI_Scatterv with one rank on the underlying MPI and the others through Strider") {
  // Each rank stages alone: rank 0 hands the MPI its datatypes, the others bytes.
  const int size = size_of(MPI_COMM_WORLD);
  const bool ours = rank_in(MPI_COMM_WORLD) != 0;
  for (const int root : {0, size - 1}) {
    for (const Form form : {Form::blocking, Form::wait}) {
      CAPTURE(root, static_cast<int>(form));
      Grid want(4, MPI_COMM_WORLD), got(4, MPI_COMM_WORLD);
      REQUIRE(gather(want, root, MPI_COMM_WORLD, false, form) == MPI_SUCCESS);
      REQUIRE(gather(got, root, MPI_COMM_WORLD, ours, form) == MPI_SUCCESS);
      CHECK(got.global == want.global);
      Grid want2(5, MPI_COMM_WORLD), got2(5, MPI_COMM_WORLD);
      fill_global(want2, 5);
      fill_global(got2, 5);
      REQUIRE(scatter(want2, root, MPI_COMM_WORLD, false, form) == MPI_SUCCESS);
      REQUIRE(scatter(got2, root, MPI_COMM_WORLD, ours, form) == MPI_SUCCESS);
      CHECK(got2.local == want2.local);
    }
  }
}

TEST_CASE("MPI_Gatherv and MPI_Scatterv in place at the root are the underlying MPI's") {
  // In place, the root's own block stays where it is in the global array; the other ranks send
  // their halo blocks (through Strider in the second run) as usual.
  const int root = size_of(MPI_COMM_WORLD) - 1;
  auto run = [&](bool ours) {
    Grid g(8, MPI_COMM_WORLD);
    fill_global(g, 8);
    const bool at_root = g.rank == root;
    const void* send = at_root ? MPI_IN_PLACE : static_cast<const void*>(g.local.data());
    const int rc = ours ? exec::gatherv(send, g.block_count(), g.interior, g.global.data(), g.counts.data(),
                                        g.displs.data(), g.column, root, MPI_COMM_WORLD)
                        : PMPI_Gatherv(send, g.block_count(), g.interior, g.global.data(), g.counts.data(),
                                       g.displs.data(), g.column, root, MPI_COMM_WORLD);
    REQUIRE(rc == MPI_SUCCESS);
    void* recv = at_root ? MPI_IN_PLACE : static_cast<void*>(g.local.data());
    const int rc2 = ours ? exec::scatterv(g.global.data(), g.counts.data(), g.displs.data(), g.column, recv,
                                          g.block_count(), g.interior, root, MPI_COMM_WORLD)
                         : PMPI_Scatterv(g.global.data(), g.counts.data(), g.displs.data(), g.column, recv,
                                         g.block_count(), g.interior, root, MPI_COMM_WORLD);
    REQUIRE(rc2 == MPI_SUCCESS);
    std::vector<double> both = g.global;
    both.insert(both.end(), g.local.begin(), g.local.end());
    return both;
  };
  const std::vector<double> want = run(false), got = run(true);
  CHECK(got == want);
}
