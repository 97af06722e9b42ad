// Split sends (a host-packed send handed to the MPI as two blocks, see exec/p2p.cpp) from the
// collectives that can name a datatype for each staged send block, MPI_Ialltoallw,
// MPI_Ineighbor_alltoallw and MPI_Gatherv / MPI_Igatherv, through exec:: (host-pack forced, so
// that every strided block is staged): with STRIDER_SPLIT_SEND forced on, every staged send
// block of 128 bytes or more leaves as a split send and shorter ones as bytes; forced off, none
// splits. Either way each rank receives, byte for byte, what the underlying MPI's own call
// (PMPI_..., with PMPI_Wait for the nonblocking ones) delivers. The program links the modules so
// that it can read the split-send counter.
#include <catch2/catch.hpp>
#include <mpi.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "core/config.hpp"
#include "exec/collectives.hpp"
#include "exec/datatype.hpp"
#include "exec/p2p.hpp"
#include "comm.hpp"
#include "scoped_config.hpp"

namespace {

namespace core = strider::core;
namespace exec = strider::exec;
using strider::test::rank_in;
using strider::test::ScopedConfig;
using strider::test::size_of;

constexpr int kRegion = 1024;  // the most doubles of a block, whose region holds stride * kRegion

MPI_Datatype committed(MPI_Datatype type) {
  REQUIRE(exec::type_commit(&type) == MPI_SUCCESS);
  return type;
}

// One side of a call: block i is one element of types[i], `stride` doubles apart, at region i
// of the side's buffer, given by int and by MPI_Aint displacements.
struct Side {
  std::vector<int> counts, int_displs;
  std::vector<MPI_Aint> displs;
  std::vector<MPI_Datatype> types;
  Side(const std::vector<int>& doubles, int stride) {
    for (std::size_t i = 0; i < doubles.size(); ++i) {
      REQUIRE(doubles[i] <= kRegion);
      MPI_Datatype t = MPI_DATATYPE_NULL;
      PMPI_Type_vector(doubles[i], 1, stride, MPI_DOUBLE, &t);
      types.push_back(committed(t));
      counts.push_back(1);
      int_displs.push_back(static_cast<int>(i * stride * kRegion * sizeof(double)));
      displs.push_back(int_displs.back());
    }
  }
  Side(const Side&) = delete;
  Side& operator=(const Side&) = delete;
  ~Side() {
    for (MPI_Datatype& t : types) exec::type_free(&t);
  }
};

// The blocks of one call: sent as every other double of a region of the send buffer, received
// as every third double of a region of the receive buffer. `send_doubles[i]` doubles go to the
// i-th destination, `recv_doubles[i]` come from the i-th source.
struct Blocks {
  Side out, in;
  std::vector<double> send, recv;
  int splittable = 0;  // send blocks of 128 bytes or more

  Blocks(int rank, const std::vector<int>& send_doubles, const std::vector<int>& recv_doubles)
      : out(send_doubles, 2), in(recv_doubles, 3) {
    send.resize(send_doubles.size() * 2 * kRegion);
    for (std::size_t i = 0; i < send.size(); ++i) send[i] = rank * 1e6 + static_cast<double>(i);
    recv.assign(recv_doubles.size() * 3 * kRegion, -1.0);
    for (const int n : send_doubles) splittable += n * 8 >= 128 ? 1 : 0;
  }
};

// Doubles rank `from` sends to rank `to` in the all-to-all: 8 (64 bytes, too few to split)
// where from + to is a multiple of 3, else a count of its own for every ordered pair.
int doubles(int from, int to) { return (from + to) % 3 == 0 ? 8 : 150 + 7 * from + 3 * to; }

std::vector<int> all_to_all(int rank, int size, bool sending) {
  std::vector<int> n;
  for (int peer = 0; peer < size; ++peer) n.push_back(sending ? doubles(rank, peer) : doubles(peer, rank));
  return n;
}

// On a periodic ring: doubles rank `from` sends to its left (-1) and right (+1) neighbour.
// Odd ranks send 8 to the left.
int leftward(int from) { return from % 2 == 0 ? 120 + 5 * from : 8; }
int rightward(int from) { return 150 + 7 * from; }

// Both split settings, each compared with the underlying MPI: `run(blocks, strider)` posts and
// completes the call on `blocks` through Strider or, strider false, through PMPI.
template <class Make, class Run>
void compare_split_settings(Make&& make, Run&& run) {
  Blocks native_blocks = make();
  REQUIRE(run(native_blocks, false) == MPI_SUCCESS);
  for (const bool split : {true, false}) {
    const ScopedConfig config([&](core::Config& c) {
      c.method = core::MethodChoice::host_pack;
      c.split_send = split ? core::SplitChoice::on : core::SplitChoice::off;
    });
    Blocks ours = make();
    const std::uint64_t before = exec::split_sends();
    REQUIRE(run(ours, true) == MPI_SUCCESS);
    CHECK(exec::split_sends() - before == static_cast<std::uint64_t>(split ? ours.splittable : 0));
    CHECK(std::memcmp(ours.recv.data(), native_blocks.recv.data(), ours.recv.size() * sizeof(double)) == 0);
  }
}

}  // namespace

TEST_CASE("MPI_Ialltoallw sends its staged blocks as split sends where told to, with the MPI's result") {
  const int rank = rank_in(MPI_COMM_WORLD), size = size_of(MPI_COMM_WORLD);
  auto make = [&] { return Blocks(rank, all_to_all(rank, size, true), all_to_all(rank, size, false)); };
  compare_split_settings(make, [&](Blocks& b, bool strider) {
    MPI_Request request = MPI_REQUEST_NULL;
    auto ialltoallw = strider ? exec::ialltoallw : PMPI_Ialltoallw;
    const int rc = ialltoallw(b.send.data(), b.out.counts.data(), b.out.int_displs.data(), b.out.types.data(),
                              b.recv.data(), b.in.counts.data(), b.in.int_displs.data(), b.in.types.data(),
                              MPI_COMM_WORLD, &request);
    if (rc != MPI_SUCCESS) return rc;
    return strider ? exec::wait(&request, MPI_STATUS_IGNORE) : PMPI_Wait(&request, MPI_STATUS_IGNORE);
  });
}

TEST_CASE("MPI_Ineighbor_alltoallw sends its staged blocks as split sends where told to, with the MPI's result") {
  const int size = size_of(MPI_COMM_WORLD);
  REQUIRE(size >= 3);  // two distinct neighbours on the ring
  const int dims[1] = {size}, periods[1] = {1};
  MPI_Comm ring = MPI_COMM_NULL;
  REQUIRE(PMPI_Cart_create(MPI_COMM_WORLD, 1, dims, periods, 0, &ring) == MPI_SUCCESS);
  const int rank = rank_in(ring), left = (rank + size - 1) % size, right = (rank + 1) % size;
  // Neighbour order: left (-1), then right (+1). From the left comes its rightward message.
  auto make = [&] {
    return Blocks(rank, {leftward(rank), rightward(rank)}, {rightward(left), leftward(right)});
  };
  compare_split_settings(make, [&](Blocks& b, bool strider) {
    MPI_Request request = MPI_REQUEST_NULL;
    auto ineighbor = strider ? exec::ineighbor_alltoallw : PMPI_Ineighbor_alltoallw;
    const int rc = ineighbor(b.send.data(), b.out.counts.data(), b.out.displs.data(), b.out.types.data(),
                             b.recv.data(), b.in.counts.data(), b.in.displs.data(), b.in.types.data(), ring, &request);
    if (rc != MPI_SUCCESS) return rc;
    return strider ? exec::wait(&request, MPI_STATUS_IGNORE) : PMPI_Wait(&request, MPI_STATUS_IGNORE);
  });
  PMPI_Comm_free(&ring);
}

TEST_CASE("MPI_Gatherv and MPI_Igatherv send their staged block as a split send where told to, with the MPI's result") {
  const int rank = rank_in(MPI_COMM_WORLD), size = size_of(MPI_COMM_WORLD), root = size - 1;
  // Doubles rank r sends: 8 (64 bytes, too few to split) from odd ranks.
  auto doubles_of = [](int r) { return r % 2 == 1 ? 8 : 100 + 9 * r; };
  const Side out({doubles_of(rank)}, 2);
  std::vector<double> send(2 * kRegion);
  for (std::size_t i = 0; i < send.size(); ++i) send[i] = rank * 1e6 + static_cast<double>(i);
  std::vector<int> counts, displs;
  for (int r = 0; r < size; ++r) {
    counts.push_back(doubles_of(r));
    displs.push_back(r * kRegion);
  }
  // The root's receive buffer after one call through Strider or, strider false, through PMPI.
  auto gathered = [&](bool strider, bool nonblocking) {
    std::vector<double> recv(static_cast<std::size_t>(size) * kRegion, -1.0);
    int rc = MPI_SUCCESS;
    if (nonblocking) {
      MPI_Request request = MPI_REQUEST_NULL;
      auto igatherv = strider ? exec::igatherv : PMPI_Igatherv;
      rc = igatherv(send.data(), 1, out.types[0], recv.data(), counts.data(), displs.data(), MPI_DOUBLE, root,
                    MPI_COMM_WORLD, &request);
      if (rc == MPI_SUCCESS)
        rc = strider ? exec::wait(&request, MPI_STATUS_IGNORE) : PMPI_Wait(&request, MPI_STATUS_IGNORE);
    } else {
      auto gatherv = strider ? exec::gatherv : PMPI_Gatherv;
      rc = gatherv(send.data(), 1, out.types[0], recv.data(), counts.data(), displs.data(), MPI_DOUBLE, root,
                   MPI_COMM_WORLD);
    }
    REQUIRE(rc == MPI_SUCCESS);
    return recv;
  };
  for (const bool nonblocking : {false, true}) {
    const std::vector<double> want = gathered(false, nonblocking);
    for (const bool split : {true, false}) {
      const ScopedConfig config([&](core::Config& c) {
        c.method = core::MethodChoice::host_pack;
        c.split_send = split ? core::SplitChoice::on : core::SplitChoice::off;
      });
      const std::uint64_t before = exec::split_sends();
      CHECK(gathered(true, nonblocking) == want);
      CHECK(exec::split_sends() - before == (split && doubles_of(rank) * 8 >= 128 ? 1u : 0u));
    }
  }
}
