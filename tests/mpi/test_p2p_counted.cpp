// Which method the buffered, ready and persistent send modes and the matched receives take,
// read from the counters Strider counts into: Strider's host-pack for a derived type with
// 8-byte blocks, the underlying MPI for one with 4 KiB blocks (the built-in policy), and the
// data of every message checked against a native transfer. The program links the modules and
// calls exec:: directly, as test_model_load does: a program linked against libstrider.so
// cannot see the library's counters. test_p2p_edge runs the same calls through MPI_*.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/counters.hpp"
#include "exec/datatype.hpp"
#include "exec/p2p.hpp"
#include "scoped_config.hpp"
#include "test_p2p_common.hpp"

namespace {

namespace core = strider::core;
namespace exec = strider::exec;
using strider::test::ScopedConfig;

constexpr int kCount = 2;

struct Case {
  const char* spec;
  bool packed;  // host-pack under the built-in policy, else the underlying MPI
};
const Case kCases[] = {{"vector(16, 1, 3, double)", true}, {"vector(4, 512, 1024, double)", false}};

// A datatype from spec text, committed and freed through exec:: so that Strider's type cache
// knows it (this program's MPI_Type_commit is the MPI's own).
struct Type : p2p::Type {
  explicit Type(const char* spec) : p2p::Type(spec, exec::type_commit, exec::type_free) {}
  p2p::Buffer buffer(int count, std::uint64_t seed) const { return p2p::Buffer(*this, count, seed); }
};

// The messages this rank counted per method since construction.
struct Methods {
  std::uint64_t host_pack_before = core::counters().method_calls(core::Method::host_pack);
  std::uint64_t native_before = core::counters().method_calls(core::Method::native);
  std::uint64_t host_pack() const {
    return core::counters().method_calls(core::Method::host_pack) - host_pack_before;
  }
  std::uint64_t native() const { return core::counters().method_calls(core::Method::native) - native_before; }
};

// The bytes a native transfer of `count` elements of data `data_seed` leaves in a buffer of
// garbage `garbage_seed`.
std::vector<unsigned char> native_result(const Type& type, int count, std::uint64_t data_seed,
                                         std::uint64_t garbage_seed) {
  p2p::Buffer sent = type.buffer(count, data_seed), want = type.buffer(count, garbage_seed);
  p2p::native_transfer(sent.base(), count, type.get(), want.base(), count, type.get());
  return want.bytes;
}

// Rank 1's side of a message from rank 0: a Strider Irecv posted before the barrier that lets
// rank 0 send, then checked against the native result.
void receive_and_check(const Type& type, const Case& c, int tag, std::uint64_t data_seed) {
  p2p::Buffer got = type.buffer(kCount, 12);
  MPI_Request request = MPI_REQUEST_NULL;
  const Methods methods;
  CHECK(exec::irecv(got.base(), kCount, type.get(), 0, tag, MPI_COMM_WORLD, &request) == MPI_SUCCESS);
  CHECK(methods.host_pack() == (c.packed ? 1u : 0u));
  PMPI_Barrier(MPI_COMM_WORLD);
  MPI_Status status{};
  CHECK(exec::wait(&request, &status) == MPI_SUCCESS);
  CHECK(p2p::diff_bytes(got.bytes, native_result(type, kCount, data_seed, 12)) == "");
  CHECK(p2p::info(status, type.get()).count == kCount);
}

struct Attached {
  std::vector<unsigned char> buffer;
  // MPI_Pack_size + MPI_BSEND_OVERHEAD for one message of `type`.
  explicit Attached(const Type& type) {
    int pack_size = 0;
    CHECK(PMPI_Pack_size(kCount, type.get(), MPI_COMM_WORLD, &pack_size) == MPI_SUCCESS);
    buffer.resize(static_cast<std::size_t>(pack_size + MPI_BSEND_OVERHEAD));
    CHECK(PMPI_Buffer_attach(buffer.data(), static_cast<int>(buffer.size())) == MPI_SUCCESS);
  }
  ~Attached() {
    void* address = nullptr;
    int size = 0;
    CHECK(PMPI_Buffer_detach(&address, &size) == MPI_SUCCESS);  // waits for the buffered send
  }
  Attached(const Attached&) = delete;
  Attached& operator=(const Attached&) = delete;
};

}  // namespace

TEST_CASE("Ibsend and Irsend host-pack a derived type with 8-byte blocks and forward one with 4 KiB blocks") {
  const int rank = p2p::world_rank();
  int tag = 10;
  for (const bool ready : {false, true}) {
    for (const Case& c : kCases) {
      ++tag;
      const Type type(c.spec);
      INFO((ready ? "Irsend " : "Ibsend ") << c.spec << " x " << kCount);
      const std::uint64_t data_seed = p2p::mix(11, tag);
      if (rank == 0) {
        p2p::Buffer data = type.buffer(kCount, data_seed);
        std::unique_ptr<Attached> attached;
        if (!ready) attached = std::make_unique<Attached>(type);
        PMPI_Barrier(MPI_COMM_WORLD);  // the receive is posted (ready mode needs it)
        const Methods methods;
        MPI_Request request = MPI_REQUEST_NULL;
        CHECK((ready ? exec::irsend : exec::ibsend)(data.base(), kCount, type.get(), 1, tag, MPI_COMM_WORLD,
                                                    &request) == MPI_SUCCESS);
        CHECK(methods.host_pack() == (c.packed ? 1u : 0u));
        CHECK(methods.native() == (c.packed ? 0u : 1u));
        CHECK(exec::wait(&request, MPI_STATUS_IGNORE) == MPI_SUCCESS);
        CHECK(request == MPI_REQUEST_NULL);
      } else {
        receive_and_check(type, c, tag, data_seed);
      }
    }
  }
}

// Persistent sends of every mode, as contiguous packed bytes or, `split`, as split sends.
void persistent_modes(bool split) {
  struct Mode {
    const char* name;
    decltype(&exec::send_init) init;
    bool buffered;
  };
  const Mode modes[] = {{"Bsend_init", exec::bsend_init, true},
                        {"Ssend_init", exec::ssend_init, false},
                        {"Rsend_init", exec::rsend_init, false}};
  const int rank = p2p::world_rank();
  const ScopedConfig config(
      [&](core::Config& c) { c.split_send = split ? core::SplitChoice::on : core::SplitChoice::off; });
  int tag = split ? 60 : 30;
  for (const Mode& mode : modes) {
    for (const Case& c : kCases) {
      ++tag;
      // Open MPI 4.1.4 over shared memory sends zeros from the second start on of a persistent
      // buffered send longer than its eager limit (4 KiB), natively too (test_p2p_edge), so the
      // forwarded message (32 KiB) takes that mode over TCP only.
      if (mode.buffered && !c.packed && !p2p::over_tcp()) continue;
      const Type type(c.spec);
      p2p::Buffer data = type.buffer(kCount, 0);
      MPI_Request request = MPI_REQUEST_NULL;
      if (rank == 0) {
        const Methods at_init;
        CHECK(mode.init(data.base(), kCount, type.get(), 1, tag, MPI_COMM_WORLD, &request) == MPI_SUCCESS);
        CHECK(at_init.host_pack() == 0u);  // nothing to pack before a start
      }
      for (int round = 0; round < 3; ++round) {
        INFO(mode.name << " " << c.spec << " x " << kCount << ", round " << round);
        const std::uint64_t data_seed = p2p::mix(31, tag, round);
        if (rank == 0) {
          p2p::fill_pattern(data.bytes.data(), data.bytes.size(), data_seed);  // in place
          std::unique_ptr<Attached> attached;
          if (mode.buffered) attached = std::make_unique<Attached>(type);
          PMPI_Barrier(MPI_COMM_WORLD);
          const Methods methods;
          const std::uint64_t splits_before = exec::split_sends();
          CHECK((round % 2 == 0 ? exec::start(&request) : exec::startall(1, &request)) == MPI_SUCCESS);
          CHECK(methods.host_pack() == (c.packed ? 1u : 0u));
          CHECK(exec::split_sends() == splits_before + (split && c.packed ? 1u : 0u));
          CHECK(exec::wait(&request, MPI_STATUS_IGNORE) == MPI_SUCCESS);
          CHECK(request != MPI_REQUEST_NULL);
        } else {
          receive_and_check(type, c, tag, data_seed);
        }
      }
      if (rank == 0) {
        CHECK(exec::request_free(&request) == MPI_SUCCESS);
        CHECK(request == MPI_REQUEST_NULL);
      }
    }
  }
}

TEST_CASE("persistent Bsend_init, Ssend_init and Rsend_init host-pack the current data at every start") {
  persistent_modes(false);
}

TEST_CASE("persistent sends as split sends carry the current data at every start") { persistent_modes(true); }

TEST_CASE("Mrecv and Imrecv host-pack a derived type with 8-byte blocks and forward one with 4 KiB blocks") {
  const int rank = p2p::world_rank();
  int tag = 50;
  for (const bool nonblocking : {false, true}) {
    for (const Case& c : kCases) {
      ++tag;
      const Type type(c.spec);
      INFO((nonblocking ? "Improbe + Imrecv " : "Mprobe + Mrecv ") << c.spec << " x " << kCount);
      const std::uint64_t data_seed = p2p::mix(51, tag);
      if (rank == 0) {
        p2p::Buffer data = type.buffer(kCount, data_seed);
        CHECK(PMPI_Send(data.base(), kCount, type.get(), 1, tag, MPI_COMM_WORLD) == MPI_SUCCESS);
        continue;
      }
      p2p::Buffer got = type.buffer(kCount, 52);
      MPI_Message message = MPI_MESSAGE_NULL;
      MPI_Status status{};
      const Methods methods;
      if (nonblocking) {
        int flag = 0;
        while (flag == 0)
          CHECK(PMPI_Improbe(MPI_ANY_SOURCE, tag, MPI_COMM_WORLD, &flag, &message, MPI_STATUS_IGNORE) == MPI_SUCCESS);
        MPI_Request request = MPI_REQUEST_NULL;
        CHECK(exec::imrecv(got.base(), kCount, type.get(), &message, &request) == MPI_SUCCESS);
        CHECK(exec::wait(&request, &status) == MPI_SUCCESS);
      } else {
        CHECK(PMPI_Mprobe(0, tag, MPI_COMM_WORLD, &message, MPI_STATUS_IGNORE) == MPI_SUCCESS);
        CHECK(exec::mrecv(got.base(), kCount, type.get(), &message, &status) == MPI_SUCCESS);
      }
      CHECK(message == MPI_MESSAGE_NULL);
      CHECK(methods.host_pack() == (c.packed ? 1u : 0u));
      CHECK(methods.native() == (c.packed ? 0u : 1u));
      CHECK(p2p::diff_bytes(got.bytes, native_result(type, kCount, data_seed, 52)) == "");
      const p2p::StatusInfo info = p2p::info(status, type.get());
      CHECK(info.source == 0);
      CHECK(info.tag == tag);
      CHECK(info.count == kCount);
    }
  }
}

TEST_CASE("received messages of several MiB unpack (streamed) into the bytes a native transfer leaves") {
  // 640 B blocks: long enough to be streamed at any alignment; kCount elements of 3.2 MB each,
  // above backend::cpu::kReceiveStreamingThreshold. Host-pack forced, a blocking and a
  // nonblocking receive, against the native result.
  const int rank = p2p::world_rank();
  const ScopedConfig config([](core::Config& c) { c.method = core::MethodChoice::host_pack; });
  const Type type("vector(5000, 80, 160, double)");
  int tag = 70;
  for (const bool nonblocking : {false, true}) {
    ++tag;
    INFO((nonblocking ? "Irecv" : "Recv") << " of " << kCount << " x 3.2 MB");
    const std::uint64_t data_seed = p2p::mix(71, tag);
    if (rank == 0) {
      p2p::Buffer data = type.buffer(kCount, data_seed);
      CHECK(exec::send(data.base(), kCount, type.get(), 1, tag, MPI_COMM_WORLD) == MPI_SUCCESS);
      continue;
    }
    p2p::Buffer got = type.buffer(kCount, 72);
    const Methods methods;
    MPI_Status status{};
    if (nonblocking) {
      MPI_Request request = MPI_REQUEST_NULL;
      CHECK(exec::irecv(got.base(), kCount, type.get(), 0, tag, MPI_COMM_WORLD, &request) == MPI_SUCCESS);
      CHECK(exec::wait(&request, &status) == MPI_SUCCESS);
    } else {
      CHECK(exec::recv(got.base(), kCount, type.get(), 0, tag, MPI_COMM_WORLD, &status) == MPI_SUCCESS);
    }
    CHECK(methods.host_pack() == 1u);
    CHECK(p2p::diff_bytes(got.bytes, native_result(type, kCount, data_seed, 72)) == "");
    CHECK(p2p::info(status, type.get()).count == kCount);
  }
}

TEST_CASE("Mrecv and Imrecv of MPI_MESSAGE_NO_PROC go to the MPI and leave the buffer untouched") {
  const Type type(kCases[0].spec);
  for (const bool nonblocking : {false, true}) {
    INFO((nonblocking ? "Imrecv" : "Mrecv"));
    p2p::Buffer buf = type.buffer(kCount, 61);
    const std::vector<unsigned char> before = buf.bytes;
    MPI_Message message = MPI_MESSAGE_NULL;
    CHECK(PMPI_Mprobe(MPI_PROC_NULL, 60, MPI_COMM_WORLD, &message, MPI_STATUS_IGNORE) == MPI_SUCCESS);
    REQUIRE(message == MPI_MESSAGE_NO_PROC);
    MPI_Status status{};
    const Methods methods;
    if (nonblocking) {
      MPI_Request request = MPI_REQUEST_NULL;
      CHECK(exec::imrecv(buf.base(), kCount, type.get(), &message, &request) == MPI_SUCCESS);
      CHECK(exec::wait(&request, &status) == MPI_SUCCESS);
    } else {
      CHECK(exec::mrecv(buf.base(), kCount, type.get(), &message, &status) == MPI_SUCCESS);
    }
    CHECK(methods.host_pack() == 0u);
    CHECK(methods.native() == 1u);
    CHECK(buf.bytes == before);
    CHECK(status.MPI_SOURCE == MPI_PROC_NULL);
    CHECK(p2p::info(status, type.get()).count == 0);
  }
}

TEST_CASE("split sends (STRIDER_SPLIT_SEND=1) carry the bytes of a contiguous packed send") {
  // Blocking, nonblocking, Sendrecv and Sendrecv_replace sends of a 4 KiB and a 16 KiB vector
  // of doubles leave as two blocks; rank 1 receives each once natively (typed) and once through
  // Strider, and both must hold what a native transfer leaves.
  const int rank = p2p::world_rank();
  const ScopedConfig config([](core::Config& c) { c.split_send = core::SplitChoice::on; });
  int tag = 300;
  for (const char* spec : {"vector(512, 1, 3, double)", "vector(1024, 2, 5, double)"}) {
    const Type type(spec);
    for (const char* call : {"send", "isend", "sendrecv", "sendrecv_replace"}) {
      for (const bool strider_recv : {false, true}) {
        ++tag;
        INFO(call << " of " << spec << " x " << kCount << (strider_recv ? ", Strider receive" : ", native receive"));
        const std::uint64_t data_seed = p2p::mix(17, tag);
        if (rank == 0) {
          p2p::Buffer data = type.buffer(kCount, data_seed);
          const std::uint64_t before = exec::split_sends();
          const Methods methods;
          PMPI_Barrier(MPI_COMM_WORLD);
          if (call == std::string("send")) {
            CHECK(exec::send(data.base(), kCount, type.get(), 1, tag, MPI_COMM_WORLD) == MPI_SUCCESS);
          } else if (call == std::string("isend")) {
            MPI_Request request = MPI_REQUEST_NULL;
            CHECK(exec::isend(data.base(), kCount, type.get(), 1, tag, MPI_COMM_WORLD, &request) == MPI_SUCCESS);
            CHECK(exec::wait(&request, MPI_STATUS_IGNORE) == MPI_SUCCESS);
          } else if (call == std::string("sendrecv")) {
            int nothing = 0;
            CHECK(exec::sendrecv(data.base(), kCount, type.get(), 1, tag, &nothing, 0, MPI_INT, MPI_PROC_NULL, 0,
                                 MPI_COMM_WORLD, MPI_STATUS_IGNORE) == MPI_SUCCESS);
          } else {
            CHECK(exec::sendrecv_replace(data.base(), kCount, type.get(), 1, tag, MPI_PROC_NULL, 0, MPI_COMM_WORLD,
                                         MPI_STATUS_IGNORE) == MPI_SUCCESS);
          }
          CHECK(methods.host_pack() == 1u);
          CHECK(exec::split_sends() == before + 1);
        } else {
          p2p::Buffer got = type.buffer(kCount, 12);
          MPI_Request request = MPI_REQUEST_NULL;
          if (strider_recv) {
            CHECK(exec::irecv(got.base(), kCount, type.get(), 0, tag, MPI_COMM_WORLD, &request) == MPI_SUCCESS);
          } else {
            CHECK(PMPI_Irecv(got.base(), kCount, type.get(), 0, tag, MPI_COMM_WORLD, &request) == MPI_SUCCESS);
          }
          PMPI_Barrier(MPI_COMM_WORLD);
          MPI_Status status{};
          CHECK((strider_recv ? exec::wait(&request, &status) : PMPI_Wait(&request, &status)) == MPI_SUCCESS);
          CHECK(p2p::diff_bytes(got.bytes, native_result(type, kCount, data_seed, 12)) == "");
          CHECK(p2p::info(status, type.get()).count == kCount);
          CHECK(exec::split_sends() == 0u);  // receives never split
        }
      }
    }
  }
}
