#pragma once
// The body of every exported MPI_* stub: count the call, then either forward it to the next
// MPI untouched (re-entered from inside Strider, or STRIDER_DISABLE=1) or run Strider's
// implementation of it in exec/.
#include <type_traits>
#include <utility>

#include "core/counters.hpp"
#include "exec/runtime.hpp"
#include "mpi/next.hpp"

namespace strider::interpose {

// The function pointer type of a member of mpi::Next, i.e. decltype(&::PMPI_X).
template <auto Slot>
using SlotType = std::remove_cvref_t<decltype(std::declval<const mpi::Next&>().*Slot)>;

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
  const exec::ReentryGuard guard;
  exec::ensure_started();
  return Exec(args...);
}

}  // namespace strider::interpose
