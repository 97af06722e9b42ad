#include <vector>

#include <cuda_runtime.h>

#include "backend/cuda/device.hpp"
#include "backend/cuda/pack_cuda.hpp"
#include "backend/cuda/pack_kernels.cuh"

namespace strider::backend::cuda {
namespace {

core::Status cuda_status(cudaError_t error, const char* what) {
  if (error == cudaSuccess) return core::Status::ok();
  return {core::Code::resource, std::string(what) + ": " + cudaGetErrorName(error) + " (" +
                                    cudaGetErrorString(error) + ")"};
}

template <Shape S>
cudaError_t launch_shape(const Plan& plan, const void* in, void* out, cudaStream_t stream) {
  const dim3 grid(plan.geometry.grid);
  const dim3 block(plan.geometry.block);
  switch (plan.desc.width) {
    case 1: pack_kernel<S, 1><<<grid, block, 0, stream>>>(plan.desc, in, out); break;
    case 2: pack_kernel<S, 2><<<grid, block, 0, stream>>>(plan.desc, in, out); break;
    case 4: pack_kernel<S, 4><<<grid, block, 0, stream>>>(plan.desc, in, out); break;
    case 8: pack_kernel<S, 8><<<grid, block, 0, stream>>>(plan.desc, in, out); break;
    default: pack_kernel<S, 16><<<grid, block, 0, stream>>>(plan.desc, in, out); break;
  }
  return cudaGetLastError();
}

// `in` -> `out`: user buffer -> packed bytes, or the reverse when `unpack`.
core::Status run(const types::Layout& layout, std::int64_t count, const void* in, void* out,
                 bool unpack, void* workspace, void* stream_ptr) {
  const void* user = unpack ? static_cast<const void*>(out) : in;
  const void* packed = unpack ? in : static_cast<const void*>(out);
  if (device_count() == 0) return {core::Code::unsupported, "no CUDA device"};
  Plan plan;
  if (core::Status s = make_plan(layout, count, user, packed, unpack, &plan); !s) return s;
  if (plan.empty) return core::Status::ok();  // zero counts and empty types launch nothing
  auto stream = static_cast<cudaStream_t>(stream_ptr);
  if (plan.workspace_bytes > 0) {
    if (workspace == nullptr || reinterpret_cast<std::uintptr_t>(workspace) % 16 != 0)
      return {core::Code::invalid, "workspace missing or not 16-byte aligned"};
    // Tables are encoded on the host and copied on the stream. The copy from pageable memory
    // has consumed the source when cudaMemcpyAsync returns, so the vector may go right after.
    std::vector<unsigned char> tables(static_cast<std::size_t>(plan.workspace_bytes));
    encode_tables(layout, count, plan, tables.data(), workspace);
    if (core::Status s = cuda_status(cudaMemcpyAsync(workspace, tables.data(), tables.size(),
                                                     cudaMemcpyHostToDevice, stream),
                                     "cudaMemcpyAsync (pack tables)");
        !s)
      return s;
  }
  cudaError_t error = cudaSuccess;
  switch (plan.desc.shape) {
    case Shape::copy1d: error = launch_shape<Shape::copy1d>(plan, in, out, stream); break;
    case Shape::strided2d: error = launch_shape<Shape::strided2d>(plan, in, out, stream); break;
    case Shape::strided3d: error = launch_shape<Shape::strided3d>(plan, in, out, stream); break;
    case Shape::stridednd: error = launch_shape<Shape::stridednd>(plan, in, out, stream); break;
    case Shape::sequence: error = launch_shape<Shape::sequence>(plan, in, out, stream); break;
  }
  return cuda_status(error, unpack ? "unpack kernel launch" : "pack kernel launch");
}

}  // namespace

core::Status pack(const types::Layout& layout, std::int64_t count, const void* in, void* out,
                  void* workspace, void* stream) {
  return run(layout, count, in, out, false, workspace, stream);
}

core::Status unpack(const types::Layout& layout, std::int64_t count, const void* in, void* out,
                    void* workspace, void* stream) {
  return run(layout, count, in, out, true, workspace, stream);
}

core::Status synchronize(void* stream) {
  if (device_count() == 0) return {core::Code::unsupported, "no CUDA device"};
  return cuda_status(cudaStreamSynchronize(static_cast<cudaStream_t>(stream)), "cudaStreamSynchronize");
}

}  // namespace strider::backend::cuda
