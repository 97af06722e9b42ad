#pragma once
// The method chosen for one message or pack. Pure: no MPI, no CUDA, no allocation.
#include <cstdint>

#include "core/config.hpp"
#include "core/counters.hpp"
#include "memory/classify.hpp"
#include "types/layout.hpp"

namespace strider::plan {

using core::Method;

struct Request {
  const types::Layout* layout = nullptr;  // null: the type has no Layout
  std::int64_t count = 0;
  memory::Kind memory = memory::Kind::host;
  core::MethodChoice forced = core::MethodChoice::automatic;
};

// MPI_Pack / MPI_Unpack: host buffers with a Layout are packed by Strider, everything else
// goes to the underlying MPI.
Method choose_pack(const Request& request);

struct Choice {
  Method method = Method::native;
  bool forced_impossible = false;  // STRIDER_METHOD named a method this message cannot use
};

// A send or receive of `count` elements. The built-in policy (until the measured model):
// host buffers whose layout is not one contiguous block, with blocks small enough that the
// underlying MPI's per-block cost dominates, are packed by Strider; the rest stays native.
Choice choose_p2p(const Request& request);

// Average contiguous block below which the built-in policy packs host messages itself.
inline constexpr std::int64_t kHostPackMaxBlock = 1024;

}  // namespace strider::plan
