#include "backend/cpu/reference_pack.hpp"

#include <cstring>

namespace strider::backend::cpu {
namespace {

// Calls fn(offset, bytes) for every block of elements [first, first + count), in pack order,
// until fn returns false.
template <class Fn>
void for_each_block(const types::Layout& layout, std::int64_t first, std::int64_t count, Fn&& fn) {
  const auto& outer = layout.outer;
  for (std::int64_t element = first; element < first + count; ++element) {
    const std::int64_t element_base = element * layout.extent;
    std::int64_t outer_total = 1;
    for (const auto& d : outer) outer_total *= d.count;
    for (std::int64_t o = 0; o < outer_total; ++o) {
      // Decompose o into the outer indices, innermost fastest.
      std::int64_t rest = o;
      std::int64_t outer_offset = 0;
      for (const auto& d : outer) {
        outer_offset += (rest % d.count) * d.stride;
        rest /= d.count;
      }
      for (const auto& piece : layout.pieces) {
        const std::int64_t blocks = piece.blocks();
        for (std::int64_t b = 0; b < blocks; ++b) {
          std::int64_t r = b;
          std::int64_t offset = element_base + outer_offset + piece.offset;
          for (const auto& d : piece.dims) {
            offset += (r % d.count) * d.stride;
            r /= d.count;
          }
          if (!fn(offset, piece.bytes)) return;
        }
      }
    }
  }
}

}  // namespace

void reference_pack(const types::Layout& layout, std::int64_t count, const void* in, void* out) {
  const auto* src = static_cast<const unsigned char*>(in);
  auto* dst = static_cast<unsigned char*>(out);
  for_each_block(layout, 0, count, [&](std::int64_t offset, std::int64_t bytes) {
    if (bytes == 0) return true;  // memcpy's pointers must be valid even for zero bytes
    std::memcpy(dst, src + offset, static_cast<std::size_t>(bytes));
    dst += bytes;
    return true;
  });
}

void reference_unpack(const types::Layout& layout, std::int64_t count, const void* in, void* out) {
  const auto* src = static_cast<const unsigned char*>(in);
  auto* dst = static_cast<unsigned char*>(out);
  for_each_block(layout, 0, count, [&](std::int64_t offset, std::int64_t bytes) {
    if (bytes == 0) return true;
    std::memcpy(dst + offset, src, static_cast<std::size_t>(bytes));
    src += bytes;
    return true;
  });
}

void reference_unpack_partial(const types::Layout& layout, std::int64_t element, std::int64_t bytes,
                              const void* in, void* out) {
  const auto* src = static_cast<const unsigned char*>(in);
  auto* dst = static_cast<unsigned char*>(out);
  std::int64_t left = bytes;
  for_each_block(layout, element, 1, [&](std::int64_t offset, std::int64_t block) {
    const std::int64_t n = block < left ? block : left;
    std::memcpy(dst + offset, src, static_cast<std::size_t>(n));
    src += n;
    left -= n;
    return left > 0;
  });
}

void reference_partial_blocks(const types::Layout& layout, std::int64_t element, std::int64_t bytes,
                              const std::function<void(std::int64_t, std::int64_t, std::int64_t)>& fn) {
  std::int64_t left = bytes;
  std::int64_t packed = 0;
  if (left <= 0) return;
  for_each_block(layout, element, 1, [&](std::int64_t offset, std::int64_t block) {
    const std::int64_t n = block < left ? block : left;
    if (n > 0) fn(offset, packed, n);
    packed += n;
    left -= n;
    return left > 0;
  });
}

}  // namespace strider::backend::cpu
