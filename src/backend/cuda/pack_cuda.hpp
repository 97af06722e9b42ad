#pragma once
// The CUDA pack engine's C++ API; compiles without CUDA (streams are passed as void*, a
// cudaStream_t). Same contract and byte order as backend::cpu::reference_pack. Never
// allocates, calls MPI or reads config: the caller provides `workspace_bytes` bytes of device
// memory (16-byte aligned; may be null when the query says 0) that must stay untouched until
// the work on `stream` completes. Work is only enqueued on `stream`, on the current device;
// call synchronize() when the result is needed. Without the CUDA backend or without a device
// every call returns Code::unsupported.
//
// Kernel shapes (pack_index.hpp): 1-D copy, 2-D and 3-D strided blocks take their dims as
// kernel parameters and need no workspace; N-D (4+ dims after folding incount) and
// sequences/block lists read tables from the workspace, which pack/unpack fill with one
// cudaMemcpyAsync from pageable memory (it may wait for earlier work on `stream`).
#include <cstdint>

#include "backend/cuda/pack_plan.hpp"
#include "core/status.hpp"
#include "types/layout.hpp"

namespace strider::backend::cuda {

// Packs `count` elements of `layout` (element i at in + i * layout.extent, device-accessible)
// into count * layout.size bytes at `out` (device-accessible: device, managed or mapped).
core::Status pack(const types::Layout& layout, std::int64_t count, const void* in, void* out,
                  void* workspace, void* stream);
// The inverse. The layout must not overlap itself (Layout::overlaps): chunks are written in
// parallel, so overlapping blocks would not end as MPI_Unpack leaves them.
core::Status unpack(const types::Layout& layout, std::int64_t count, const void* in, void* out,
                    void* workspace, void* stream);
// Waits for the work enqueued on `stream`; reports errors from the kernels.
core::Status synchronize(void* stream);

}  // namespace strider::backend::cuda
