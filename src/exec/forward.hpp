#pragma once
// The forwarded-call fast path. Most point-to-point calls of a real code move contiguous host
// data that Strider leaves to the underlying MPI; once one such call has been decided the
// long way (route() in p2p.cpp), the same datatype on a known host page is forwarded after a
// few thread-local loads, without the Layout lookup, the memory query or the plan.
#include <mpi.h>

#include <cstdint>

#include "exec/requests.hpp"
#include "memory/classify.hpp"
#include "types/cache.hpp"

namespace strider::exec {

struct ForwardMemo {
  MPI_Datatype type{};  // value-initialised: no valid handle (constant-initialisable)
  std::uint64_t generation = ~std::uint64_t{0};  // the type cache's, when decided
  bool dense = false;                              // any count is one run (extent == size)
};

namespace detail {
inline constinit thread_local ForwardMemo t_forward{};
}  // namespace detail

// Remembers that `type` is one contiguous run per element (`dense`: also across elements),
// decided with the type cache at `generation`.
inline void remember_forward(MPI_Datatype type, std::uint64_t generation, bool dense) {
  detail::t_forward = ForwardMemo{type, generation, dense};
}

// True when (buf, count, type) certainly goes to the underlying MPI unchanged: the type was
// decided native on this thread, no datatype was committed or freed since (a reused handle
// is never served stale), and buf lies on a page known to be host memory.
inline bool forward_native(const void* buf, int count, MPI_Datatype type) {
  const ForwardMemo& memo = detail::t_forward;
  if (memo.type != type || (count > 1 && !memo.dense)) return false;
  if (memo.generation != types::TypeCache::generation()) return false;
  return memory::known_host(buf);
}

// forward_native() for an intercepted call before Strider's prologue: also requires that no
// detached request waits for progress (which any Strider call would otherwise make).
inline bool forward_first(const void* buf, int count, MPI_Datatype type) {
  return detail::g_detached.load(std::memory_order_relaxed) == 0 && forward_native(buf, count, type);
}

}  // namespace strider::exec
