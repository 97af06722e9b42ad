#include "exec/runtime.hpp"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <mutex>
#include <string>

#include "core/config.hpp"
#include "core/counters.hpp"
#include "core/log.hpp"
#include "exec/model_load.hpp"
#include "exec/p2p.hpp"
#include "exec/requests.hpp"
#include "exec/staging.hpp"
#include "memory/pool.hpp"
#include "mpi/next.hpp"
#include "types/cache.hpp"

namespace strider::exec {
namespace {

enum class State { fresh, running, finished };
std::atomic<State> g_state{State::fresh};
std::once_flag g_start_once;
int g_rank = -1;

void start_strider() {
  std::call_once(g_start_once, [] {
    // The rank goes into the log prefix first, so that configuration warnings carry it.
    int rank = -1;
    if (mpi::next().Comm_rank(MPI_COMM_WORLD, &rank) == MPI_SUCCESS) {
      g_rank = rank;
      core::set_log_rank(rank);
    }
    // Parses STRIDER_* and logs its warnings, now with the rank in the prefix.
    static_cast<void>(core::config());
    // Every rank reads the model itself (no collective here: see exec/model_load.hpp).
    load_model(g_rank);
    g_state.store(State::running, std::memory_order_release);
    detail::g_settled.store(true, std::memory_order_release);
  });
}

// Whole report in one write(2): stderr is unbuffered and shared by all threads, and under
// mpiexec the output of the ranks is merged, so one rank's report must not be split.
void write_stats() {
  const std::string prefix = "strider[" + std::to_string(g_rank) + "] stats: ";
  std::string report = core::counters().report(prefix);
  if (const std::uint64_t splits = split_sends(); splits > 0)
    report += prefix + "split-sends " + std::to_string(splits) + "\n";
  const char* data = report.data();
  std::size_t left = report.size();
  while (left > 0) {
    const ssize_t written = ::write(STDERR_FILENO, data, left);
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) return;
    data += written;
    left -= static_cast<std::size_t>(written);
  }
}

}  // namespace

int init(int* argc, char*** argv) {
  const int rc = mpi::next().Init(argc, argv);
  if (rc == MPI_SUCCESS) start_strider();
  return rc;
}

int init_thread(int* argc, char*** argv, int required, int* provided) {
  const int rc = mpi::next().Init_thread(argc, argv, required, provided);
  if (rc == MPI_SUCCESS) start_strider();
  return rc;
}

int finalize() {
  ensure_started();
  State expected = State::running;
  // Only the first finalize tears down; a second one is the application's error, which the
  // underlying MPI reports.
  if (g_state.compare_exchange_strong(expected, State::finished, std::memory_order_acq_rel)) {
    detail::g_settled.store(true, std::memory_order_release);
    // Requests the application freed while active still owe their unpack.
    progress_detached(true);
    if (core::config().stats) write_stats();
    types::type_cache().clear();
    drain_staging();
    free_split_types();
    // The device and pinned staging pools: freed while the CUDA context is surely alive.
    if (core::Status s = memory::trim(); !s)
      core::log(core::LogLevel::warn, "freeing the device staging pools: " + s.what());
  }
  return mpi::next().Finalize();
}

namespace detail {
std::atomic<int> g_enabled{0};
std::atomic<bool> g_settled{false};

void start_if_initialized() {
  if (g_state.load(std::memory_order_acquire) != State::fresh) return;
  int initialized = 0;
  int finalized = 0;
  mpi::next().Initialized(&initialized);
  mpi::next().Finalized(&finalized);
  if (initialized != 0 && finalized == 0) start_strider();
}

bool read_enabled() {
  // Read straight from the environment rather than core::config(): this runs in every stub,
  // also before MPI_Init, and the full configuration (with its warnings) is read at start
  // once the rank is known. A malformed value leaves Strider enabled; start() warns about it.
  // Racing first readers compute the same answer.
  const char* text = std::getenv("STRIDER_DISABLE");
  bool disable = false;
  if (text != nullptr && !core::parse_bool(text, disable)) disable = false;
  g_enabled.store(disable ? -1 : 1, std::memory_order_relaxed);
  return !disable;
}

}  // namespace detail

}  // namespace strider::exec
