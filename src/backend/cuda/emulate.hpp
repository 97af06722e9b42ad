#pragma once
// CPU emulation of a kernel launch: runs the kernels' own bodies (pack_index.hpp) for every
// block and every thread of the planned geometry, in order. `access(dst, src, width)` is
// called for every chunk the kernel would move and must move it (tests check alignment and
// coverage there). Host-only; for tests and tools, never on a hot path.
#include <cstdint>

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

}  // namespace strider::backend::cuda
