#pragma once
// The reference packer: the Layout definition executed literally, one block at a time.
// Simple and obviously correct; the first backend and the second oracle in tests.
#include <cstdint>
#include <functional>

#include "types/layout.hpp"

namespace strider::backend::cpu {

// Packs `count` consecutive elements (element i starts i * layout.extent bytes after `in`)
// into `out`, which receives count * layout.size bytes.
void reference_pack(const types::Layout& layout, std::int64_t count, const void* in, void* out);
// The inverse: scatters count * layout.size bytes from `in` into the elements at `out`.
void reference_unpack(const types::Layout& layout, std::int64_t count, const void* in, void* out);
// Scatters the first `bytes` (< layout.size) packed bytes of element `element` from `in`:
// how a message that ends inside an element is unpacked.
void reference_unpack_partial(const types::Layout& layout, std::int64_t element, std::int64_t bytes,
                              const void* in, void* out);
// The copies reference_unpack_partial makes, without making them: calls
// fn(user_offset, packed_offset, bytes) for each non-empty piece of the first `bytes` packed
// bytes of element `element`, in pack order. user_offset is from the buffer pointer (element
// `element` starts element * layout.extent after it); packed_offset is from the element's
// first packed byte. For callers that cannot touch the memory (device buffers).
void reference_partial_blocks(const types::Layout& layout, std::int64_t element, std::int64_t bytes,
                              const std::function<void(std::int64_t, std::int64_t, std::int64_t)>& fn);

}  // namespace strider::backend::cpu
