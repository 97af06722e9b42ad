#pragma once
// Strider's lifetime inside an MPI process: started right after the underlying MPI_Init
// succeeds, torn down right before the underlying MPI_Finalize. Nothing happens at load.
#include <mpi.h>

#include <atomic>

namespace strider::exec {

namespace detail {
// 0 until first asked, then 1 (enabled) or -1 (STRIDER_DISABLE=1).
extern std::atomic<int> g_enabled;
bool read_enabled();
// True once Strider started or finished (no more start attempts).
extern std::atomic<bool> g_settled;
void start_if_initialized();
}  // namespace detail

// MPI_Init / MPI_Init_thread / MPI_Finalize with the MPI signatures: the next MPI's call, with
// Strider started after a successful init and stopped (stats printed under STRIDER_STATS=1,
// type cache cleared) before finalize.
int init(int* argc, char*** argv);
int init_thread(int* argc, char*** argv, int required, int* provided);
int finalize();

// Starts Strider if the MPI library was initialised without passing through exec::init (a
// tool above Strider called PMPI_Init). One atomic load once started; never restarts after
// finalize.
inline void ensure_started() {
  if (!detail::g_settled.load(std::memory_order_acquire)) [[unlikely]]
    detail::start_if_initialized();
}

// False under STRIDER_DISABLE=1: every call then goes to the next MPI untouched. Read once;
// afterwards one relaxed load.
inline bool enabled() {
  const int state = detail::g_enabled.load(std::memory_order_relaxed);
  if (state != 0) [[likely]]
    return state > 0;
  return detail::read_enabled();
}

// Marks the current thread as running inside Strider. While one is alive, intercepted calls
// made on this thread (by the underlying MPI, or by user callbacks the MPI invokes) go straight
// to the next MPI. Code that runs user callbacks on purpose releases it with `Suspend`.
class ReentryGuard {
 public:
  ReentryGuard() noexcept : previous_(inside_) { inside_ = true; }
  ~ReentryGuard() { inside_ = previous_; }
  ReentryGuard(const ReentryGuard&) = delete;
  ReentryGuard& operator=(const ReentryGuard&) = delete;

  static bool inside() noexcept { return inside_; }

  // Leaves Strider for the lifetime of the object (e.g. around a user error handler).
  class Suspend {
   public:
    Suspend() noexcept : previous_(inside_) { inside_ = false; }
    ~Suspend() { inside_ = previous_; }
    Suspend(const Suspend&) = delete;
    Suspend& operator=(const Suspend&) = delete;

   private:
    bool previous_;
  };

 private:
  // constinit: a plain TLS slot, no per-access initialisation wrapper.
  static inline constinit thread_local bool inside_ = false;
  bool previous_;
};

}  // namespace strider::exec
