#pragma once
// The body of every exported MPI_* stub: count the call, then either forward it to the next
// MPI untouched (re-entered from inside Strider, or STRIDER_DISABLE=1) or run Strider's
// implementation of it in exec/.
#include <type_traits>
#include <utility>

#include "core/counters.hpp"
#include "exec/forward.hpp"
#include "exec/runtime.hpp"
#include "mpi/next.hpp"

namespace strider::interpose {

// The function pointer type of a member of mpi::Next, i.e. decltype(&::PMPI_X).
template <auto Slot>
using SlotType = std::remove_cvref_t<decltype(std::declval<const mpi::Next&>().*Slot)>;

// Strider's implementation of a call, inside the reentrancy guard. Out of line, so that the
// stubs' forwarding paths end in tail calls and need no stack frame of their own.
template <auto Exec, class... Args>
[[gnu::noinline]] int run(Args... args) {
  const exec::ReentryGuard guard;
  exec::ensure_started();
  return Exec(args...);
}

// Stub is the exported MPI_X itself, Slot its entry in mpi::Next, Exec its implementation.
// The checks make a stub that names the wrong slot or an exec function with another
// signature fail to compile (a stub whose own signature differs from mpi.h already does).
template <auto Stub, auto Slot, auto Exec, class... Args>
int guarded(core::Call call, Args... args) {
  static_assert(std::is_same_v<decltype(Stub), SlotType<Slot>>,
                "the exported MPI_X and the next-table slot must have mpi.h's PMPI_X signature");
  static_assert(std::is_same_v<decltype(Exec), SlotType<Slot>>,
                "the exec implementation must have the MPI signature");
  core::counters().count_call(call);
  if (exec::ReentryGuard::inside() || !exec::enabled()) return (mpi::next().*Slot)(args...);
  return run<Exec>(args...);
}

template <core::Call C, auto Stub, auto Slot, auto Exec, class... Args>
[[gnu::noinline]] int guarded_out_of_line(Args... args) {
  return guarded<Stub, Slot, Exec>(C, args...);
}

// The send and receive stubs (buffer, count, datatype and peer first): a message the forwarded-call
// fast path recognises (exec/forward.hpp) goes to the next MPI straight away, counted as a
// native transfer; everything else takes guarded() as above. Forwarding is also what
// guarded() would do when re-entered or disabled, so the order of the tests does not matter.
// Both ends are tail calls with the stub's own arguments: the fast path needs no stack frame.
template <core::Call C, auto Stub, auto Slot, auto Exec, class Buf, class... Rest>
int guarded_p2p(Buf* buf, int count, MPI_Datatype type, int peer, Rest... rest) {
  if (exec::forward_first(buf, count, type, peer)) {
    core::Counters* counters = core::counters_if_made();
    // Checked, not resolved here: a call from the stub would cost every call a stack frame.
    if (counters != nullptr && mpi::detail::g_resolved.load(std::memory_order_acquire) &&
        counters->try_count_forwarded(C))
      return (mpi::detail::g_table.*Slot)(buf, count, type, peer, rest...);
  }
  return guarded_out_of_line<C, Stub, Slot, Exec>(buf, count, type, peer, rest...);
}

}  // namespace strider::interpose
