#pragma once
// The reference packer: the Layout definition executed literally, one block at a time.
// Simple and obviously correct; the first backend and the second oracle in tests.
#include <cstdint>

#include "types/layout.hpp"

namespace strider::backend::cpu {

// Packs `count` consecutive elements (element i starts i * layout.extent bytes after `in`)
// into `out`, which receives count * layout.size bytes.
void reference_pack(const types::Layout& layout, std::int64_t count, const void* in, void* out);
// The inverse: scatters count * layout.size bytes from `in` into the elements at `out`.
void reference_unpack(const types::Layout& layout, std::int64_t count, const void* in, void* out);

}  // namespace strider::backend::cpu
