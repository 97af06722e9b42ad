// Every pair of sender and receiver method: the sender calls MPI_Send/MPI_Isend (Strider) or
// PMPI_Send/PMPI_Isend (the underlying MPI), the receiver MPI_Recv/MPI_Irecv or
// PMPI_Recv/PMPI_Irecv, for the halo-exchange datatypes and a few that stay native. Each
// transfer must leave the same bytes and the same status as the native/native one.
// The same program also runs with one rank under STRIDER_DISABLE=1 (a peer without Strider)
// and with STRIDER_METHOD=native on all ranks (see CMakeLists.txt).

#include "memory/classify.hpp"
#include "plan/method.hpp"
#include "test_p2p_common.hpp"
#include "types/canonicalize.hpp"
#include "types/decode.hpp"

namespace {

using strider::core::Method;

struct Case {
  const char* name;
  const char* spec;
  int count;
  Method expected;  // what the built-in policy chooses for a host buffer
};

const Case kCases[] = {
    {"vector of doubles, 8-byte blocks", "vector(64, 1, 3, double)", 2, Method::host_pack},
    {"3-D subarray x-face, C order", "subarray([8, 10, 12], [8, 10, 1], [0, 0, 3], C, double)", 1,
     Method::host_pack},
    {"3-D subarray x-face, Fortran order", "subarray([12, 10, 8], [1, 10, 8], [3, 0, 0], F, double)", 1,
     Method::host_pack},
    {"3-D subarray y-face, C order, two arrays", "subarray([6, 7, 9], [6, 1, 9], [0, 5, 0], C, double)", 2,
     Method::host_pack},
    {"resized column", "resized(0, 8, vector(16, 1, 16, double))", 5, Method::host_pack},
    {"struct {int, double}", "struct([1, 1], [0, 8], [int, double])", 10, Method::host_pack},
    {"irregular indexed", "indexed([3, 1, 4, 1, 5], [0, 5, 9, 20, 27], int)", 3, Method::host_pack},
    {"hvector of resized struct", "hvector(5, 2, 72, resized(0, 24, struct([2, 1], [0, 16], [float, char])))", 2,
     Method::host_pack},
    {"contiguous type", "contiguous(100, double)", 2, Method::native},
    {"predefined double", "double", 50, Method::native},
    {"vector with 4 KiB blocks", "vector(4, 512, 1024, double)", 2, Method::native},
};

// The method the built-in policy picks for `count` x `type` in a host buffer, computed here
// from the same decode/canonicalise/plan code Strider runs.
Method policy_method(MPI_Datatype type, int count) {
  const auto ir = strider::types::decode(type);
  const auto canon = strider::types::canonicalize(*ir);
  if (!canon.layout) return Method::native;
  strider::plan::Request request;
  request.layout = &*canon.layout;
  request.count = count;
  request.memory = strider::memory::Kind::host;
  return strider::plan::choose_p2p(request).method;
}

enum class Call { blocking, nonblocking };

struct Pair {
  bool strider_send;
  bool strider_recv;
  Call call;
};

std::string describe(const Pair& p) {
  return std::string(p.strider_send ? "MPI_" : "PMPI_") + (p.call == Call::blocking ? "Send" : "Isend") + " -> " +
         (p.strider_recv ? "MPI_" : "PMPI_") + (p.call == Call::blocking ? "Recv" : "Irecv");
}

// The native/native blocking pair first: it is the reference for the others.
const Pair kPairs[] = {
    {false, false, Call::blocking},    {true, true, Call::blocking},      {true, false, Call::blocking},
    {false, true, Call::blocking},     {true, true, Call::nonblocking},   {true, false, Call::nonblocking},
    {false, true, Call::nonblocking},  {false, false, Call::nonblocking},
};

int do_send(const Pair& p, const void* buf, int count, MPI_Datatype type, int dest, int tag) {
  if (p.call == Call::blocking)
    return p.strider_send ? MPI_Send(buf, count, type, dest, tag, MPI_COMM_WORLD)
                          : PMPI_Send(buf, count, type, dest, tag, MPI_COMM_WORLD);
  MPI_Request request = MPI_REQUEST_NULL;
  int rc = p.strider_send ? MPI_Isend(buf, count, type, dest, tag, MPI_COMM_WORLD, &request)
                          : PMPI_Isend(buf, count, type, dest, tag, MPI_COMM_WORLD, &request);
  if (rc != MPI_SUCCESS) return rc;
  rc = p.strider_send ? MPI_Wait(&request, MPI_STATUS_IGNORE) : PMPI_Wait(&request, MPI_STATUS_IGNORE);
  return request == MPI_REQUEST_NULL ? rc : MPI_ERR_REQUEST;
}

int do_recv(const Pair& p, void* buf, int count, MPI_Datatype type, int source, int tag, MPI_Status* status) {
  if (p.call == Call::blocking)
    return p.strider_recv ? MPI_Recv(buf, count, type, source, tag, MPI_COMM_WORLD, status)
                          : PMPI_Recv(buf, count, type, source, tag, MPI_COMM_WORLD, status);
  MPI_Request request = MPI_REQUEST_NULL;
  int rc = p.strider_recv ? MPI_Irecv(buf, count, type, source, tag, MPI_COMM_WORLD, &request)
                          : PMPI_Irecv(buf, count, type, source, tag, MPI_COMM_WORLD, &request);
  if (rc != MPI_SUCCESS) return rc;
  rc = p.strider_recv ? MPI_Wait(&request, status) : PMPI_Wait(&request, status);
  return request == MPI_REQUEST_NULL ? rc : MPI_ERR_REQUEST;
}

}  // namespace

TEST_CASE("the test program's MPI_* calls bind to libstrider.so") {
  p2p::check_bound_to_strider({"MPI_Send", "MPI_Recv", "MPI_Isend", "MPI_Irecv", "MPI_Wait", "MPI_Type_commit"});
}

TEST_CASE("every sender/receiver method pair delivers the bytes and status of a native transfer") {
  const int rank = p2p::world_rank();
  REQUIRE(p2p::world_size() >= 2);
  int case_index = 0;
  for (const Case& c : kCases) {
    ++case_index;
    const p2p::Type type(c.spec);
    INFO("datatype " << c.name << ": " << type.text() << " x " << c.count);
    // The case list covers both sides of the policy; a policy change must update it.
    CHECK(policy_method(type.get(), c.count) == c.expected);

    for (int direction = 0; direction < 2; ++direction) {
      const int sender = direction, receiver = 1 - direction;
      const std::uint64_t data_seed = p2p::mix(11, case_index, direction);
      const std::uint64_t garbage_seed = p2p::mix(12, case_index, direction);
      std::vector<unsigned char> reference;
      p2p::StatusInfo reference_status;
      int pair_index = 0;
      for (const Pair& pair : kPairs) {
        INFO("direction " << sender << " -> " << receiver << ", " << describe(pair));
        const int tag = 100 + pair_index++;
        if (rank == sender) {
          p2p::Buffer data(type, c.count, data_seed);
          const std::vector<unsigned char> before = data.bytes;
          CHECK(do_send(pair, data.base(), c.count, type.get(), receiver, tag) == MPI_SUCCESS);
          CHECK(data.bytes == before);  // a send never writes its buffer
        } else if (rank == receiver) {
          p2p::Buffer buf(type, c.count, garbage_seed);
          MPI_Status status{};
          CHECK(do_recv(pair, buf.base(), c.count, type.get(), sender, tag, &status) == MPI_SUCCESS);
          const p2p::StatusInfo got = p2p::info(status, type.get());
          CHECK(got.source == sender);
          CHECK(got.tag == tag);
          if (reference.empty()) {
            reference = buf.bytes;
            reference_status = got;
            // The reference itself: the sent data unpacked by the underlying MPI.
            p2p::Buffer sent(type, c.count, data_seed);
            p2p::Buffer local(type, c.count, garbage_seed);
            p2p::native_transfer(sent.base(), c.count, type.get(), local.base(), c.count, type.get());
            CHECK(p2p::diff_bytes(reference, local.bytes) == "");
            CHECK(reference != p2p::pattern(reference.size(), garbage_seed));
          } else {
            CHECK(p2p::diff_bytes(buf.bytes, reference) == "");
            reference_status.tag = tag;
            CHECK(got == reference_status);
          }
        }
      }
    }
  }
}

TEST_CASE("a derived receive of a message sent as a different type with the same signature") {
  // Sender and receiver types differ (vector vs contiguous doubles, indexed vs struct):
  // whichever side Strider packs, the typed data must land as natively.
  const int rank = p2p::world_rank();
  struct Mix {
    const char* send_spec;
    int send_count;
    const char* recv_spec;
    int recv_count;
  };
  const Mix mixes[] = {
      {"vector(48, 1, 2, double)", 1, "double", 48},
      {"double", 48, "vector(48, 1, 2, double)", 1},
      {"vector(6, 1, 5, double)", 4, "resized(0, 8, vector(4, 1, 7, double))", 6},
      {"struct([1, 1], [0, 8], [int, double])", 6, "struct([1, 1], [4, 12], [int, double])", 6},
      {"indexed([2, 1, 3], [0, 4, 9], int)", 5, "contiguous(6, int)", 5},
  };
  int mix_index = 0;
  for (const Mix& m : mixes) {
    ++mix_index;
    const p2p::Type stype(m.send_spec), rtype(m.recv_spec);
    INFO("send " << stype.text() << " x " << m.send_count << ", receive " << rtype.text() << " x " << m.recv_count);
    for (int pair_index = 0; pair_index < 4; ++pair_index) {
      const Pair& pair = kPairs[pair_index];
      INFO(describe(pair));
      const int tag = 200 + pair_index;
      const std::uint64_t data_seed = p2p::mix(21, mix_index), garbage_seed = p2p::mix(22, mix_index);
      if (rank == 0) {
        p2p::Buffer data(stype, m.send_count, data_seed);
        CHECK(do_send(pair, data.base(), m.send_count, stype.get(), 1, tag) == MPI_SUCCESS);
      } else if (rank == 1) {
        p2p::Buffer buf(rtype, m.recv_count, garbage_seed);
        MPI_Status status{};
        CHECK(do_recv(pair, buf.base(), m.recv_count, rtype.get(), 0, tag, &status) == MPI_SUCCESS);
        p2p::Buffer sent(stype, m.send_count, data_seed), want(rtype, m.recv_count, garbage_seed);
        MPI_Status native = p2p::native_transfer(sent.base(), m.send_count, stype.get(), want.base(), m.recv_count,
                                                 rtype.get());
        CHECK(p2p::diff_bytes(buf.bytes, want.bytes) == "");
        p2p::StatusInfo expect = p2p::info(native, rtype.get());
        expect.source = 0;
        expect.tag = tag;
        CHECK(p2p::info(status, rtype.get()) == expect);
      }
    }
  }
}
