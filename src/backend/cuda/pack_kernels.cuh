#pragma once
// The pack/unpack kernels: thin __global__ wrappers around kernel_body (pack_index.hpp), one
// per (shape, width). CUDA only.
#include <cstdint>

#include <cuda_runtime.h>

#include "backend/cuda/pack_index.hpp"

namespace strider::backend::cuda {

template <int W> struct Word;
template <> struct Word<1> { using type = std::uint8_t; };
template <> struct Word<2> { using type = std::uint16_t; };
template <> struct Word<4> { using type = std::uint32_t; };
template <> struct Word<8> { using type = uint2; };
template <> struct Word<16> { using type = uint4; };

// One aligned load and one aligned store of W bytes (the plan guarantees the alignment).
template <int W>
struct DeviceCopy {
  __device__ void operator()(unsigned char* dst, const unsigned char* src) const {
    using T = typename Word<W>::type;
    *reinterpret_cast<T*>(dst) = *reinterpret_cast<const T*>(src);
  }
};

template <Shape S, int W>
__global__ void __launch_bounds__(kBlockThreads) pack_kernel(Desc desc, const void* in, void* out) {
  DeviceCopy<W> copy;
  kernel_body<S>(desc, in, out, blockIdx.x, threadIdx.x, Geometry{gridDim.x, blockDim.x}, copy);
}

}  // namespace strider::backend::cuda
