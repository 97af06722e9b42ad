#pragma once
// Host side of the CUDA pack kernels: Layout + count + buffer addresses -> launch descriptor,
// geometry and workspace tables. Pure computation (no CUDA calls), compiled in every build so
// the CPU emulation tests exercise exactly what the device launcher uses.
#include <cstdint>

#include "backend/cuda/pack_index.hpp"
#include "core/status.hpp"
#include "types/layout.hpp"

namespace strider::backend::cuda {

struct Plan {
  Desc desc{};
  Geometry geometry{0, kBlockThreads};
  std::int64_t workspace_bytes = 0;  // bytes of tables the kernel reads from the workspace
  bool empty = true;                 // nothing to move: launch nothing
};

// Device workspace pack/unpack of `count` elements need (0 for 1-D, 2-D and 3-D shapes).
// Independent of the buffer addresses.
std::int64_t workspace_bytes(const types::Layout& layout, std::int64_t count);

// Plans moving `count` elements between the user buffer `user` and the packed buffer
// `packed` (pack reads user, unpack writes it). The width is the largest power of two <= 16
// dividing both addresses, every offset, block length and stride that is used. `max_grid`
// caps the grid (tests lower it to force the grid-stride loops). The desc's table pointers
// stay null until encode_tables. Returns invalid for negative counts or 64-bit overflow.
core::Status make_plan(const types::Layout& layout, std::int64_t count, const void* user,
                       const void* packed, bool unpack, Plan* plan,
                       std::uint32_t max_grid = kMaxGridBlocks);

// Writes the plan's tables (plan.workspace_bytes bytes) to `host_tables` and points the
// descriptor at the same tables at `device_tables` (the workspace the kernel will read; the
// two are equal in CPU emulation). Both must be 16-byte aligned.
void encode_tables(const types::Layout& layout, std::int64_t count, Plan& plan, void* host_tables,
                   const void* device_tables);

}  // namespace strider::backend::cuda
