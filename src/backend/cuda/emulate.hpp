#pragma once
// CPU emulation of a kernel launch: runs the kernels' own bodies (pack_index.hpp) for every
// block and every thread of the planned geometry, in order. `access(dst, src, width)` is
// called for every chunk the kernel would move and must move it (tests check alignment and
// coverage there). Host-only; for tests and tools, never on a hot path.
#include <cstdint>
#include <cstring>
#include <vector>

#include "backend/cuda/pack_index.hpp"
#include "backend/cuda/pack_plan.hpp"

namespace strider::backend::cuda {

namespace detail {
template <class Access>
struct EmulatedCopy {
  Access* access;
  std::int32_t width;
  void operator()(unsigned char* dst, const unsigned char* src) { (*access)(dst, src, width); }
};

template <Shape S, class Access>
void emulate_shape(const Plan& plan, const void* in, void* out, Access& access) {
  EmulatedCopy<Access> copy{&access, plan.desc.width};
  for (std::uint32_t b = 0; b < plan.geometry.grid; ++b)
    for (std::uint32_t t = 0; t < plan.geometry.block; ++t)
      kernel_body<S>(plan.desc, in, out, b, t, plan.geometry, copy);
}
}  // namespace detail

// `in` and `out` as the kernel receives them: (user, packed) to pack, (packed, user) to unpack.
template <class Access>
void emulate(const Plan& plan, const void* in, void* out, Access&& access) {
  if (plan.empty) return;
  switch (plan.desc.shape) {
    case Shape::copy1d: detail::emulate_shape<Shape::copy1d>(plan, in, out, access); break;
    case Shape::strided2d: detail::emulate_shape<Shape::strided2d>(plan, in, out, access); break;
    case Shape::strided3d: detail::emulate_shape<Shape::strided3d>(plan, in, out, access); break;
    case Shape::stridednd: detail::emulate_shape<Shape::stridednd>(plan, in, out, access); break;
    case Shape::sequence: detail::emulate_shape<Shape::sequence>(plan, in, out, access); break;
  }
}

struct EmulationReport {
  core::Status status;
  Plan plan;
  std::int64_t chunks = 0;      // chunk moves performed
  std::int64_t misaligned = 0;  // chunk moves whose source or destination was not width-aligned
};

// What pack (unpack = false: user `in` -> packed `out`) or unpack (packed `in` -> user
// `out`) would do on a device, done on the CPU through the kernels' bodies: plans as the
// launcher does, encodes the workspace tables into host memory and runs every thread.
inline EmulationReport emulate_move(const types::Layout& layout, std::int64_t count, const void* in,
                                    void* out, bool unpack, std::uint32_t max_grid = kMaxGridBlocks) {
  EmulationReport r;
  const void* user = unpack ? static_cast<const void*>(out) : in;
  const void* packed = unpack ? in : static_cast<const void*>(out);
  r.status = make_plan(layout, count, user, packed, unpack, &r.plan, max_grid);
  if (!r.status || r.plan.empty) return r;
  struct alignas(16) Cell {
    unsigned char bytes[16];
  };
  std::vector<Cell> tables(static_cast<std::size_t>((r.plan.workspace_bytes + 15) / 16));
  encode_tables(layout, count, r.plan, tables.data(), tables.data());
  emulate(r.plan, in, out, [&](unsigned char* dst, const unsigned char* src, std::int32_t width) {
    const auto w = static_cast<std::uintptr_t>(width);
    if (reinterpret_cast<std::uintptr_t>(dst) % w != 0 || reinterpret_cast<std::uintptr_t>(src) % w != 0)
      ++r.misaligned;
    ++r.chunks;
    std::memcpy(dst, src, static_cast<std::size_t>(width));
  });
  return r;
}

}  // namespace strider::backend::cuda
