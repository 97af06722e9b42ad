#pragma once
// Per-process counters: intercepted calls, calls and bytes per method, fallbacks and why.
// Lock-free (relaxed atomics); printed at MPI_Finalize under STRIDER_STATS=1.
#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

namespace strider::core {

// Every intercepted MPI function; the interpose layer counts each call into one slot.
enum class Call : std::uint8_t {
  Init, Init_thread, Finalize, Type_commit, Type_free, Type_dup, Pack, Unpack, Pack_size,
  Send, Ssend, Bsend, Rsend, Recv, Isend, Issend, Ibsend, Irsend, Irecv, Mrecv, Imrecv,
  Sendrecv, Sendrecv_replace, Send_init, Bsend_init, Ssend_init, Rsend_init, Recv_init, Start,
  Startall, Wait, Waitall, Waitany, Waitsome, Test, Testall, Testany, Testsome, Request_free,
  Cancel, Request_get_status, Neighbor_alltoallw, Alltoallw, Ineighbor_alltoallw, Ialltoallw,
  Alltoallv, Ialltoallv, Neighbor_alltoallv, Ineighbor_alltoallv, Gatherv, Igatherv, Scatterv,
  Iscatterv, count_
};
inline constexpr std::size_t kCallCount = static_cast<std::size_t>(Call::count_);
std::string_view call_name(Call call);  // "MPI_Send"

// How a data movement was carried out.
enum class Method : std::uint8_t { native, host_pack, device, one_shot, staged, count_ };
inline constexpr std::size_t kMethodCount = static_cast<std::size_t>(Method::count_);
std::string_view method_name(Method method);  // "host-pack"

// Why an optimisation fell back to the underlying MPI.
enum class Fallback : std::uint8_t {
  disabled, unsupported_type, device_buffer, resource, internal, count_
};
inline constexpr std::size_t kFallbackCount = static_cast<std::size_t>(Fallback::count_);
std::string_view fallback_name(Fallback reason);

// Each thread counts into its own shard with plain (uncontended) stores, so counting costs an
// increment on the hot path; reading sums the shards. Shards live until the process exits,
// so the counts of finished threads are kept.
class Counters {
 public:
  Counters();
  ~Counters();
  Counters(const Counters&) = delete;
  Counters& operator=(const Counters&) = delete;

  void count_call(Call call) { bump(index(call), 1); }
  void count_method(Method method, std::uint64_t bytes) {
    bump(kMethodCallsBase + index(method), 1);
    if (bytes != 0) bump(kMethodBytesBase + index(method), bytes);
  }
  void count_fallback(Fallback reason) { bump(kFallbackBase + index(reason), 1); }
  // An intercepted call forwarded unchanged by the fast path: counts the call and a native
  // transfer when this thread's shard exists, else returns false (nothing counted) so the
  // caller takes its ordinary path. Calls nothing, so a stub using it needs no stack frame.
  bool try_count_forwarded(Call call) {
    Shard* mine = t_shard_;
    if (mine == nullptr || t_owner_ != this) return false;
    increment(mine->slots[kForwardedBase + index(call)], 1);  // one slot: call and native
    return true;
  }

  std::uint64_t calls(Call call) const { return sum(index(call)) + sum(kForwardedBase + index(call)); }
  std::uint64_t method_calls(Method method) const {
    return sum(kMethodCallsBase + index(method)) + (method == Method::native ? forwarded() : 0);
  }
  std::uint64_t method_bytes(Method method) const { return sum(kMethodBytesBase + index(method)); }
  std::uint64_t fallbacks(Fallback reason) const { return sum(kFallbackBase + index(reason)); }

  // Multi-line report, one "group key value" line per non-zero counter, each prefixed by `prefix`.
  std::string report(std::string_view prefix) const;
  void reset();

  static constexpr std::size_t kMethodCallsBase = kCallCount;
  static constexpr std::size_t kMethodBytesBase = kMethodCallsBase + kMethodCount;
  static constexpr std::size_t kFallbackBase = kMethodBytesBase + kMethodCount;
  // Calls the fast path forwarded, per call: each is also a native transfer.
  static constexpr std::size_t kForwardedBase = kFallbackBase + kFallbackCount;
  static constexpr std::size_t kSlots = kForwardedBase + kCallCount;

  struct Shard {
    std::array<std::atomic<std::uint64_t>, kSlots> slots{};
  };

 private:
  template <class E>
  static constexpr std::size_t index(E e) { return static_cast<std::size_t>(e); }
  // Only the owning thread writes its shard: a relaxed load and store, no locked RMW.
  static void increment(std::atomic<std::uint64_t>& value, std::uint64_t n) {
    value.store(value.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  void bump(std::size_t slot, std::uint64_t n) { increment(shard().slots[slot], n); }
  // The calling thread's shard: two thread-local loads once it exists.
  Shard& shard() {
    if (t_owner_ == this && t_shard_ != nullptr) [[likely]]
      return *t_shard_;
    return new_shard();
  }
  Shard& new_shard();
  static inline thread_local const Counters* t_owner_ = nullptr;
  static inline thread_local Shard* t_shard_ = nullptr;
  std::uint64_t sum(std::size_t slot) const;
  std::uint64_t forwarded() const;

  struct Registry;
  Registry* registry_;
};

namespace detail {
inline constinit std::atomic<Counters*> g_counters{nullptr};
Counters& make_counters();
}  // namespace detail

// The process-wide counters once they exist, else null (no call, no allocation).
inline Counters* counters_if_made() { return detail::g_counters.load(std::memory_order_acquire); }

// The process-wide counters (never destroyed: threads may count during exit).
inline Counters& counters() {
  if (Counters* existing = detail::g_counters.load(std::memory_order_acquire)) [[likely]]
    return *existing;
  return detail::make_counters();
}

}  // namespace strider::core
