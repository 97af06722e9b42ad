// MPI_Alltoallw and MPI_Ialltoallw through Strider (exec::alltoallw and exec::ialltoallw, the
// functions behind the intercepted calls, completed by Strider's own completion calls) against
// the underlying MPI's MPI_Alltoallw, byte for byte, with a different datatype and count for
// every pair of ranks: strided and contiguous types, pairs that exchange nothing (a zero count
// on one side, a type of no data on the other), self messages, calls back to back, and several
// nonblocking ones in flight. The program links the modules and calls exec:: directly, as
// test_p2p_counted does, so that it can read the counters: the strided messages must have been
// packed by Strider.
#include <catch2/catch.hpp>
#include <mpi.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "core/counters.hpp"
#include "exec/collectives.hpp"
#include "exec/datatype.hpp"
#include "exec/p2p.hpp"
#include "comm.hpp"

namespace {

namespace core = strider::core;
namespace exec = strider::exec;
using strider::test::rank_in;
using strider::test::size_of;

constexpr int kRegion = 2048;  // doubles of the receive buffer per peer

// Doubles rank `from` sends to rank `to`: different for every ordered pair.
int elements(int from, int to) { return 300 + 37 * from + 11 * to; }
// Pairs that exchange nothing: the sender posts one element of a type of no data, the
// receiver a zero count of an ordinary type.
bool empty_pair(int a, int b) { return a != b && (a + b) % 3 == 0; }

MPI_Datatype committed(MPI_Datatype type) {
  REQUIRE(exec::type_commit(&type) == MPI_SUCCESS);
  return type;
}

// The arguments of one rank's MPI_Alltoallw on `comm`, and the datatypes it owns.
struct Call {
  std::vector<double> send;
  std::vector<double> recv;
  std::vector<int> sendcounts, sdispls, recvcounts, rdispls;
  std::vector<MPI_Datatype> sendtypes, recvtypes, owned;
  MPI_Comm comm;

  Call(std::uint64_t round, MPI_Comm on) : comm(on) {
    const int rank = rank_in(on), size = size_of(on);
    const auto n = static_cast<std::size_t>(size);
    // Every element of the send buffer is distinct and differs between rounds.
    send.resize(n * 4 * kRegion);
    for (std::size_t i = 0; i < send.size(); ++i) send[i] = static_cast<double>(round * 100000000 + rank * 1000000 + i);
    recv.assign(n * kRegion, -1.0);
    MPI_Datatype nothing = MPI_DATATYPE_NULL;
    PMPI_Type_contiguous(0, MPI_DOUBLE, &nothing);
    owned.push_back(committed(nothing));
    for (int peer = 0; peer < size; ++peer) {
      // To `peer`: every (2 + rank)-th double of a region of this rank's send buffer (8-byte
      // blocks), or for the self message every third one.
      const int out = elements(rank, peer);
      MPI_Datatype column = MPI_DATATYPE_NULL;
      PMPI_Type_vector(out, 1, peer == rank ? 3 : 2 + rank, MPI_DOUBLE, &column);
      owned.push_back(committed(column));
      sendtypes.push_back(empty_pair(rank, peer) ? nothing : column);
      sendcounts.push_back(1);
      sdispls.push_back(static_cast<int>(peer * 4 * kRegion * sizeof(double)));
      // From `peer`: its elements as pairs of doubles three apart, or contiguous from itself.
      const int in = elements(peer, rank);
      if (peer == rank) {
        recvtypes.push_back(MPI_DOUBLE);
        recvcounts.push_back(in);
      } else {
        MPI_Datatype pairs = MPI_DATATYPE_NULL;
        PMPI_Type_vector(in / 2, 2, 3, MPI_DOUBLE, &pairs);
        MPI_Datatype whole = pairs;
        if (in % 2 != 0) {  // an odd count: one more double after the pairs
          const int lengths[2] = {1, 1};
          const MPI_Aint at[2] = {0, static_cast<MPI_Aint>(3 * (in / 2) * sizeof(double))};
          const MPI_Datatype types[2] = {pairs, MPI_DOUBLE};
          PMPI_Type_create_struct(2, lengths, at, types, &whole);
          PMPI_Type_free(&pairs);
        }
        owned.push_back(committed(whole));
        recvtypes.push_back(whole);
        recvcounts.push_back(empty_pair(rank, peer) ? 0 : 1);
      }
      rdispls.push_back(static_cast<int>(peer * kRegion * sizeof(double)));
    }
  }
  Call(const Call&) = delete;
  Call& operator=(const Call&) = delete;
  ~Call() {
    for (MPI_Datatype& t : owned) exec::type_free(&t);
  }

  template <class Alltoallw>
  int run(Alltoallw&& alltoallw) {
    return alltoallw(send.data(), sendcounts.data(), sdispls.data(), sendtypes.data(), recv.data(),
                     recvcounts.data(), rdispls.data(), recvtypes.data(), comm);
  }
  int post(MPI_Request* request) {
    return exec::ialltoallw(send.data(), sendcounts.data(), sdispls.data(), sendtypes.data(), recv.data(),
                            recvcounts.data(), rdispls.data(), recvtypes.data(), comm, request);
  }
};

std::uint64_t host_packed() { return core::counters().method_calls(core::Method::host_pack); }

}  // namespace

TEST_CASE("MPI_Alltoallw with a datatype per pair of ranks matches the underlying MPI") {
  REQUIRE(size_of(MPI_COMM_WORLD) >= 2);
  Call native(1, MPI_COMM_WORLD), ours(1, MPI_COMM_WORLD);
  REQUIRE(native.run(PMPI_Alltoallw) == MPI_SUCCESS);
  const std::uint64_t packed_before = host_packed();
  REQUIRE(ours.run(exec::alltoallw) == MPI_SUCCESS);
  CHECK(std::memcmp(native.recv.data(), ours.recv.data(), native.recv.size() * sizeof(double)) == 0);
  // Something arrived from every rank but the empty pairs, and those left their region alone.
  const int rank = rank_in(MPI_COMM_WORLD);
  for (int peer = 0; peer < size_of(MPI_COMM_WORLD); ++peer) {
    const double first = ours.recv[static_cast<std::size_t>(peer) * kRegion];
    CAPTURE(peer);
    CHECK((empty_pair(rank, peer) ? first == -1.0 : first != -1.0));
  }
  // The strided messages (all but the self one and the empty pairs) were packed by Strider,
  // each on both ends, under the built-in policy for 8-byte blocks.
  CHECK(host_packed() > packed_before);
}

TEST_CASE("MPI_Alltoallw calls back to back, on a communicator of their own") {
  // Ranks leave one call and enter the next while peers still wait in the first: the rounds
  // must not take each other's messages. A split communicator (reversed ranks) checks that
  // ranks are those of the communicator given, not of MPI_COMM_WORLD.
  MPI_Comm reversed = MPI_COMM_NULL;
  PMPI_Comm_split(MPI_COMM_WORLD, 0, size_of(MPI_COMM_WORLD) - rank_in(MPI_COMM_WORLD), &reversed);
  for (std::uint64_t round = 2; round < 6; ++round) {
    for (MPI_Comm comm : {MPI_COMM_WORLD, reversed}) {
      Call native(round, comm), ours(round, comm);
      REQUIRE(native.run(PMPI_Alltoallw) == MPI_SUCCESS);
      REQUIRE(ours.run(exec::alltoallw) == MPI_SUCCESS);
      CAPTURE(round);
      CHECK(std::memcmp(native.recv.data(), ours.recv.data(), native.recv.size() * sizeof(double)) == 0);
    }
  }
  PMPI_Comm_free(&reversed);
}

TEST_CASE("MPI_Alltoallw in place goes to the underlying MPI with the same result") {
  // In place every rank sends from and receives into its receive buffer, so each pair uses
  // one type both ways: MPI_DOUBLE, rank-dependent counts agreed by both ends.
  const int rank = rank_in(MPI_COMM_WORLD), size = size_of(MPI_COMM_WORLD);
  const auto n = static_cast<std::size_t>(size);
  std::vector<int> counts(n), displs(n);
  std::vector<MPI_Datatype> types(n, MPI_DOUBLE);
  for (int peer = 0; peer < size; ++peer) {
    counts[static_cast<std::size_t>(peer)] = 5 + rank + peer;  // symmetric in the pair
    displs[static_cast<std::size_t>(peer)] = static_cast<int>(peer * 64 * sizeof(double));
  }
  auto run = [&](auto alltoallw) {
    std::vector<double> buffer(n * 64);
    for (std::size_t i = 0; i < buffer.size(); ++i) buffer[i] = rank * 10000.0 + static_cast<double>(i);
    REQUIRE(alltoallw(MPI_IN_PLACE, nullptr, nullptr, nullptr, buffer.data(), counts.data(), displs.data(),
                      types.data(), MPI_COMM_WORLD) == MPI_SUCCESS);
    return buffer;
  };
  const std::vector<double> native = run(PMPI_Alltoallw), ours = run(exec::alltoallw);
  CHECK(std::memcmp(native.data(), ours.data(), native.size() * sizeof(double)) == 0);
}

TEST_CASE("MPI_Ialltoallw completed by each completion call matches the underlying MPI") {
  Call native(7, MPI_COMM_WORLD);
  REQUIRE(native.run(PMPI_Alltoallw) == MPI_SUCCESS);
  auto same = [&](const Call& ours) {
    return std::memcmp(native.recv.data(), ours.recv.data(), native.recv.size() * sizeof(double)) == 0;
  };
  SECTION("wait") {
    Call ours(7, MPI_COMM_WORLD);
    const std::uint64_t packed_before = host_packed();
    MPI_Request request = MPI_REQUEST_NULL;
    REQUIRE(ours.post(&request) == MPI_SUCCESS);
    CHECK(host_packed() > packed_before);  // staged and packed when posted
    REQUIRE(exec::wait(&request, MPI_STATUS_IGNORE) == MPI_SUCCESS);
    CHECK(request == MPI_REQUEST_NULL);
    CHECK(same(ours));
  }
  SECTION("test until done, after request_get_status") {
    Call ours(7, MPI_COMM_WORLD);
    MPI_Request request = MPI_REQUEST_NULL;
    REQUIRE(ours.post(&request) == MPI_SUCCESS);
    int flag = 0;
    while (flag == 0) REQUIRE(exec::request_get_status(request, &flag, MPI_STATUS_IGNORE) == MPI_SUCCESS);
    CHECK(same(ours));  // delivered when the request is seen complete
    flag = 0;
    while (flag == 0) REQUIRE(exec::test(&request, &flag, MPI_STATUS_IGNORE) == MPI_SUCCESS);
    CHECK(request == MPI_REQUEST_NULL);
    CHECK(same(ours));
  }
  SECTION("two in flight, with point-to-point requests, by waitall and waitany") {
    Call first(7, MPI_COMM_WORLD), second(7, MPI_COMM_WORLD);
    const int rank = rank_in(MPI_COMM_WORLD), size = size_of(MPI_COMM_WORLD);
    double out = rank, in = -1;
    MPI_Request requests[4] = {MPI_REQUEST_NULL, MPI_REQUEST_NULL, MPI_REQUEST_NULL, MPI_REQUEST_NULL};
    REQUIRE(first.post(&requests[0]) == MPI_SUCCESS);
    REQUIRE(exec::irecv(&in, 1, MPI_DOUBLE, (rank + size - 1) % size, 9, MPI_COMM_WORLD, &requests[1]) ==
            MPI_SUCCESS);
    REQUIRE(second.post(&requests[2]) == MPI_SUCCESS);
    REQUIRE(exec::isend(&out, 1, MPI_DOUBLE, (rank + 1) % size, 9, MPI_COMM_WORLD, &requests[3]) == MPI_SUCCESS);
    int index = MPI_UNDEFINED;
    REQUIRE(exec::waitany(4, requests, &index, MPI_STATUS_IGNORE) == MPI_SUCCESS);
    REQUIRE(exec::waitall(4, requests, MPI_STATUSES_IGNORE) == MPI_SUCCESS);
    CHECK(same(first));
    CHECK(same(second));
    CHECK(in == (rank + size - 1) % size);
  }
}

TEST_CASE("MPI_Ialltoallw with nothing worth packing is the underlying MPI's") {
  // Every block contiguous: nothing is staged, and the request is the MPI's alone.
  const int rank = rank_in(MPI_COMM_WORLD), size = size_of(MPI_COMM_WORLD);
  const auto n = static_cast<std::size_t>(size);
  std::vector<double> send(n * 16), want(n * 16, -1.0), got(n * 16, -1.0);
  for (std::size_t i = 0; i < send.size(); ++i) send[i] = rank * 1000.0 + static_cast<double>(i);
  std::vector<int> counts(n, 16), displs(n);
  std::vector<MPI_Datatype> types(n, MPI_DOUBLE);
  for (std::size_t j = 0; j < n; ++j) displs[j] = static_cast<int>(j * 16 * sizeof(double));
  REQUIRE(PMPI_Alltoallw(send.data(), counts.data(), displs.data(), types.data(), want.data(), counts.data(),
                         displs.data(), types.data(), MPI_COMM_WORLD) == MPI_SUCCESS);
  const std::uint64_t packed_before = host_packed();
  MPI_Request request = MPI_REQUEST_NULL;
  REQUIRE(exec::ialltoallw(send.data(), counts.data(), displs.data(), types.data(), got.data(), counts.data(),
                           displs.data(), types.data(), MPI_COMM_WORLD, &request) == MPI_SUCCESS);
  REQUIRE(exec::wait(&request, MPI_STATUS_IGNORE) == MPI_SUCCESS);
  CHECK(host_packed() == packed_before);
  CHECK(got == want);
}
