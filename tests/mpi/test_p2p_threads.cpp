// MPI_THREAD_MULTIPLE: four threads per rank at once, each with its own derived datatypes
// (committed and freed in the thread) and its own tags, exchanging with the same thread of the
// other rank through Isend/Irecv/Waitall and blocking Send/Recv. Every message's bytes are
// checked against a native transfer of the same data. Catch2 is not thread-safe: the threads
// collect failures as text and the main thread checks them.
#include <thread>

#include "test_p2p_common.hpp"

namespace {

constexpr int kThreads = 4;
constexpr int kIterations = 25;

struct ThreadTypes {
  const char* derived;
  int count;
};

// Packed by Strider (small blocks); every thread also sends a large-block type Strider leaves native.
const ThreadTypes kTypes[kThreads] = {
    {"vector(40, 1, 3, double)", 2},
    {"struct([1, 1], [0, 8], [int, double])", 12},
    {"subarray([6, 8, 10], [6, 8, 1], [0, 0, 7], C, double)", 1},
    {"indexed([3, 1, 4, 1, 5], [0, 5, 9, 20, 27], int)", 4},
};

std::string check_bytes(const std::vector<unsigned char>& got, const std::vector<unsigned char>& want,
                        const std::string& what) {
  const std::string d = p2p::diff_bytes(got, want);
  return d.empty() ? std::string() : what + ": " + d + "\n";
}

// One thread's work; returns its failures.
std::string worker(int thread) {
  std::string failures;
  try {
    const int rank = p2p::world_rank(), other = 1 - rank;
    const p2p::Type derived(kTypes[thread].derived), contiguous("contiguous(24, double)"),
        large("vector(2, 512, 700, double)");
    const int count = kTypes[thread].count;
    const int tag = 1000 + thread * 10;
    const int oracle_tag = 50 + thread;  // the oracle's self transfers must not cross threads
    for (int iter = 0; iter < kIterations; ++iter) {
      const std::string where = "thread " + std::to_string(thread) + " iteration " + std::to_string(iter);
      auto seed = [&](int who, int k) {
        return p2p::mix(static_cast<std::uint64_t>(who), static_cast<std::uint64_t>(thread),
                        static_cast<std::uint64_t>(iter), static_cast<std::uint64_t>(k));
      };
      auto expected = [&](const p2p::Type& t, int n, int k, std::uint64_t garbage) {
        p2p::Buffer sent(t, n, seed(other, k)), want(t, n, garbage);
        p2p::native_transfer(sent.base(), n, t.get(), want.base(), n, t.get(), oracle_tag);
        return want.bytes;
      };
      // Nonblocking: derived, contiguous and a large-block type each way, one Waitall.
      {
        p2p::Buffer out_d(derived, count, seed(rank, 0)), out_c(contiguous, 3, seed(rank, 1)),
            out_l(large, 1, seed(rank, 2));
        p2p::Buffer in_d(derived, count, 7), in_c(contiguous, 3, 8), in_l(large, 1, 9);
        MPI_Request requests[6];
        int rc = MPI_SUCCESS;
        rc |= MPI_Irecv(in_d.base(), count, derived.get(), other, tag, MPI_COMM_WORLD, &requests[0]);
        rc |= MPI_Irecv(in_c.base(), 3, contiguous.get(), other, tag + 1, MPI_COMM_WORLD, &requests[1]);
        rc |= MPI_Irecv(in_l.base(), 1, large.get(), other, tag + 2, MPI_COMM_WORLD, &requests[2]);
        rc |= MPI_Isend(out_d.base(), count, derived.get(), other, tag, MPI_COMM_WORLD, &requests[3]);
        rc |= MPI_Isend(out_c.base(), 3, contiguous.get(), other, tag + 1, MPI_COMM_WORLD, &requests[4]);
        rc |= MPI_Isend(out_l.base(), 1, large.get(), other, tag + 2, MPI_COMM_WORLD, &requests[5]);
        MPI_Status statuses[6];
        rc |= MPI_Waitall(6, requests, statuses);
        if (rc != MPI_SUCCESS) failures += where + ": nonblocking calls failed\n";
        failures += check_bytes(in_d.bytes, expected(derived, count, 0, 7), where + " Irecv derived");
        failures += check_bytes(in_c.bytes, expected(contiguous, 3, 1, 8), where + " Irecv contiguous");
        failures += check_bytes(in_l.bytes, expected(large, 1, 2, 9), where + " Irecv large blocks");
        int n = -1;
        MPI_Get_count(&statuses[0], derived.get(), &n);
        if (n != count || statuses[0].MPI_SOURCE != other || statuses[0].MPI_TAG != tag)
          failures += where + ": derived Irecv status wrong (count " + std::to_string(n) + ")\n";
      }
      // Blocking: rank 0 sends first, rank 1 receives first.
      {
        p2p::Buffer out(derived, count, seed(rank, 3)), in(derived, count, 10);
        MPI_Status status{};
        int rc = MPI_SUCCESS;
        if (rank == 0) {
          rc |= MPI_Send(out.base(), count, derived.get(), other, tag + 3, MPI_COMM_WORLD);
          rc |= MPI_Recv(in.base(), count, derived.get(), other, tag + 3, MPI_COMM_WORLD, &status);
        } else {
          rc |= MPI_Recv(in.base(), count, derived.get(), other, tag + 3, MPI_COMM_WORLD, &status);
          rc |= MPI_Send(out.base(), count, derived.get(), other, tag + 3, MPI_COMM_WORLD);
        }
        if (rc != MPI_SUCCESS) failures += where + ": blocking calls failed\n";
        failures += check_bytes(in.bytes, expected(derived, count, 3, 10), where + " Recv derived");
        if (status.MPI_SOURCE != other || status.MPI_TAG != tag + 3) failures += where + ": Recv status wrong\n";
      }
    }
  } catch (const std::exception& e) {
    failures += "thread " + std::to_string(thread) + ": exception " + e.what() + "\n";
  }
  return failures;
}

}  // namespace

TEST_CASE("four threads per rank send and receive derived types at once") {
  int provided = 0;
  MPI_Query_thread(&provided);
  if (provided < MPI_THREAD_MULTIPLE) {
    WARN("MPI_THREAD_MULTIPLE not provided; nothing to test");
    return;
  }
  REQUIRE(p2p::world_size() == 2);
  static_cast<void>(p2p::oracle_comm());  // created before the threads
  std::vector<std::string> failures(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([t, &failures] { failures[static_cast<std::size_t>(t)] = worker(t); });
  for (std::thread& t : threads) t.join();
  for (int t = 0; t < kThreads; ++t) {
    INFO("thread " << t << " (" << kTypes[t].derived << ")");
    CHECK(failures[static_cast<std::size_t>(t)] == "");
  }
}
