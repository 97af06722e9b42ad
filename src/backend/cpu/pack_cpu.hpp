#pragma once
// The host pack engine: any Layout between two host buffers at memory speed. Same contract and
// byte order as reference_pack (the oracle in tests); never allocates, reads config or calls MPI.
#include <cstdint>

#include "types/layout.hpp"

namespace strider::backend::cpu {

// Packs `count` consecutive elements (element i starts i * layout.extent bytes after `in`)
// into `out`, which receives count * layout.size bytes. `in` and `out` must not overlap.
void pack(const types::Layout& layout, std::int64_t count, const void* in, void* out);
// Output size above which pack streams its output past the caches (non-temporal stores),
// when block bytes and the output address are multiples of 16, and unpack its blocks of whole
// lines. Exposed for tests/benchmarks.
inline constexpr std::int64_t kStreamingThreshold = std::int64_t{8} << 20;

// The same for unpacks of received messages: a message of megabytes lands in memory that the
// cache no longer holds, and two ranks share the cache while it moves. 2-rank Sendrecv
// exchanges of 4 MiB vectors (2x stride, host-pack forced, medians of 60), streamed from 1 MiB
// against from 8 MiB: 64 B blocks 1.19-1.62 against 1.48-1.73 ms, 128 B 1.21-1.25 against
// 1.47-2.03, 512 B 1.04-1.23 against 1.51-1.56, 4 KiB even; at 1 MiB streaming lost (128 B:
// 250 against 222 us) and at 2 MiB it was mixed.
inline constexpr std::int64_t kReceiveStreamingThreshold = std::int64_t{4} << 20;

// The inverse: scatters count * layout.size bytes from `in` into the elements at `out`,
// writing blocks in pack order (so overlapping layouts end as MPI_Unpack leaves them).
// Unpacks of `stream_from` bytes or more may use non-temporal stores.
void unpack(const types::Layout& layout, std::int64_t count, const void* in, void* out,
            std::int64_t stream_from = kStreamingThreshold);

}  // namespace strider::backend::cpu
