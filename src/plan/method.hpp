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

// The built-in policy until the measured model exists: host buffers with a Layout are packed
// by Strider, everything else goes to the underlying MPI.
Method choose_pack(const Request& request);

}  // namespace strider::plan
