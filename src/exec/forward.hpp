#pragma once
// The per-thread memos of host point-to-point decisions, and the forwarded-call fast path
// built on them. A real code sends the same few dozen datatypes every step; once a (type,
// count) on host memory has been decided the long way (route() in p2p.cpp), later calls find
// the answer after a few thread-local loads, without the Layout lookup, the memory query or
// the plan. Calls decided native are forwarded straight from the MPI_* stub.
//
// Every memo is valid for one decision epoch (core/config.hpp): any commit or free anywhere
// in the process moves it on, so a freed and reused handle is never served a stale answer,
// and so do a new model and a new configuration. Only
// host buffers are memoised, and a hit also needs the buffer's page to be known host memory.
#include <mpi.h>

#include <array>
#include <cstdint>
#include <memory>

#include "core/config.hpp"
#include "exec/requests.hpp"
#include "memory/classify.hpp"
#include "types/layout.hpp"

namespace strider::exec {

// A type whose elements are one contiguous run each (predefined and contiguous types).
struct ForwardMemo {
  MPI_Datatype type{};  // value-initialised: no valid handle (constant-initialisable)
  std::uint64_t epoch = ~std::uint64_t{0};  // the decision epoch it was decided in
  bool dense = false;                              // any count is one run (extent == size)
};

// The decision for one (type, count) on host memory.
struct HostRoute {
  MPI_Datatype type{};
  int count = 0;
  std::uint64_t epoch = ~std::uint64_t{0};
  bool packed = false;  // host_pack; otherwise native
  std::shared_ptr<const types::Layout> layout;
  int bytes = 0;       // packed bytes of the message
  MPI_Datatype split = MPI_DATATYPE_NULL;  // sends as one of this type (split sends, exec/p2p.cpp)
};
inline constexpr std::size_t kHostRoutes = 512;  // direct-mapped: room for a few hundred types
using HostRoutes = std::array<HostRoute, kHostRoutes>;

namespace detail {
inline constinit thread_local ForwardMemo t_forward{};
// On the heap, created by the first decision of the thread (host_routes()); thread-local
// storage holds a plain pointer, so reading it needs no initialisation check.
inline constinit thread_local HostRoutes* t_routes = nullptr;

inline std::size_t route_index(MPI_Datatype type, int count) {
  const auto key = reinterpret_cast<std::uintptr_t>(type) ^ (static_cast<std::uintptr_t>(count) << 40);
  return (key * 0x9E3779B97F4A7C15ULL >> 40) % kHostRoutes;
}
}  // namespace detail

// This thread's route table, created on first use (and freed when the thread ends).
HostRoutes& host_routes();

// The memo slot of (type, count); the caller checks it holds that pair.
inline HostRoute& host_route_slot(MPI_Datatype type, int count) {
  return host_routes()[detail::route_index(type, count)];
}

// Remembers that `type` is one contiguous run per element (`dense`: also across elements),
// decided in decision epoch `epoch`.
inline void remember_forward(MPI_Datatype type, std::uint64_t epoch, bool dense) {
  detail::t_forward = ForwardMemo{type, epoch, dense};
}

// True when (buf, count, type) certainly goes to the underlying MPI unchanged: it was decided
// native on this thread (a contiguous type, or a (type, count) the plan left to the MPI) in
// the current decision epoch, and buf lies on a page known to be host memory.
inline bool forward_native(const void* buf, int count, MPI_Datatype type) {
  const std::uint64_t epoch = core::decision_epoch();
  const ForwardMemo& memo = detail::t_forward;
  bool native = memo.type == type && (count <= 1 || memo.dense) && memo.epoch == epoch;
  if (!native) {
    const HostRoutes* routes = detail::t_routes;
    if (routes == nullptr) return false;
    const HostRoute& r = (*routes)[detail::route_index(type, count)];
    native = r.type == type && r.count == count && r.epoch == epoch && !r.packed;
  }
  return native && memory::known_host(buf);
}

// For an intercepted send or receive before Strider's prologue: forward_native(), or a
// message with nothing in it (MPI_PROC_NULL, zero or invalid counts), which Strider always
// leaves to the MPI; either only once no detached request waits for the progress that any
// Strider call makes.
inline bool forward_first(const void* buf, int count, MPI_Datatype type, int peer) {
  if (detail::g_detached.load(std::memory_order_relaxed) != 0) return false;
  return peer == MPI_PROC_NULL || count <= 0 || forward_native(buf, count, type);
}

}  // namespace strider::exec
