#pragma once
// The host pack engine: any Layout between two host buffers at memory speed. Same contract and
// byte order as reference_pack (the oracle in tests); never allocates, reads config or calls MPI.
#include <cstdint>

#include "types/layout.hpp"

namespace strider::backend::cpu {

// Packs `count` consecutive elements (element i starts i * layout.extent bytes after `in`)
// into `out`, which receives count * layout.size bytes. `in` and `out` must not overlap.
void pack(const types::Layout& layout, std::int64_t count, const void* in, void* out);
// The inverse: scatters count * layout.size bytes from `in` into the elements at `out`,
// writing blocks in pack order (so overlapping layouts end as MPI_Unpack leaves them).
void unpack(const types::Layout& layout, std::int64_t count, const void* in, void* out);

// Output size above which pack streams its output past the caches (non-temporal stores),
// when block bytes and the output address are multiples of 16. Exposed for tests/benchmarks.
inline constexpr std::int64_t kStreamingThreshold = std::int64_t{8} << 20;

}  // namespace strider::backend::cpu
