#pragma once
// The CUDA pack kernels' launch descriptor and index math, as plain functions of
// (block index, thread index, launch geometry). nvcc compiles them into the kernels
// (pack_kernels.cu); g++ compiles the same bodies into the CPU emulation the unit tests run
// over the real launch geometry. Only <cstdint> and POD types: this header must stay
// parseable by both compilers and carry no host-only library code.
//
// Work unit: a chunk of `width` bytes (1, 2, 4, 8 or 16). Every block of the layout is a
// whole number of chunks and every chunk address is a multiple of `width` on both sides,
// so a chunk is one aligned load and one aligned store.
#include <cstdint>

#if defined(__CUDACC__)
#define STRIDER_HD __host__ __device__
#else
#define STRIDER_HD
#endif

namespace strider::backend::cuda {

// What the kernel executes. copy1d: one block; strided2d/3d: one block over 1 or 2 dims
// (inline in the descriptor); stridednd: one block over `ndims` dims in the workspace;
// sequence: pieces found by binary search over prefix sums of their packed bytes, repeated
// over the repetition dims (outer dims and incount); block lists are sequences.
enum class Shape : std::int32_t { copy1d, strided2d, strided3d, stridednd, sequence };
// Threads per row: flat = one chunk per thread across rows (many rows per warp for short
// blocks), warp = a warp per row, cta = a thread block per row.
enum class Mapping : std::int32_t { flat, warp, cta };

inline constexpr std::uint32_t kBlockThreads = 256;
inline constexpr std::uint32_t kWarpThreads = 32;
// Grid cap: a few waves on the largest GPUs; every mapping is a grid-stride loop, so any
// count is covered with at most this many blocks (well inside the 2^31-1 limit of gridDim.x).
inline constexpr std::uint32_t kMaxGridBlocks = 32768;

struct DimD {
  std::int64_t count;
  std::int64_t stride;  // bytes
};

struct PieceD {
  std::int64_t offset;     // bytes from the buffer pointer
  std::int64_t bytes;      // block bytes, a multiple of the width
  std::int32_t dim_first;  // its dims are dims[dim_first, dim_first + ndims), innermost first
  std::int32_t ndims;
};

// Passed by value as the kernel parameter. Pointers refer to the caller's workspace.
struct Desc {
  Shape shape;
  Mapping mapping;
  std::int32_t width;   // bytes per chunk
  std::int32_t unpack;  // 0: user buffer -> packed; 1: packed -> user buffer
  std::int64_t offset;  // strided shapes: byte offset of the first block
  std::int64_t bytes;   // strided shapes: block bytes
  std::int64_t chunks_per_row;  // strided shapes: bytes / width
  std::int64_t rows;            // strided shapes: number of blocks
  std::int64_t total;           // chunks to move in all
  DimD d0;                      // strided2d / strided3d: innermost dim
  DimD d1;                      // strided3d: next dim
  std::int32_t ndims;           // stridednd: dims in `dims`
  std::int32_t npieces;         // sequence: entries in `pieces`; `prefix` has npieces + 1
  std::int32_t rep_dim_first;   // sequence: repetition dims at dims[rep_dim_first, +rep_ndims)
  std::int32_t rep_ndims;
  std::int64_t rep_chunks;      // sequence: chunks per repetition
  const DimD* dims;
  const std::int64_t* prefix;   // sequence: packed byte where each piece starts; last = total
  const PieceD* pieces;
};

struct Geometry {
  std::uint32_t grid;   // blocks (gridDim.x)
  std::uint32_t block;  // threads per block (blockDim.x)
};

// Offset of multi-index `index` (innermost fastest) over `n` dims.
STRIDER_HD inline std::int64_t dims_offset(std::int64_t index, const DimD* dims, std::int32_t n) {
  std::int64_t offset = 0;
  for (std::int32_t k = 0; k < n; ++k) {
    const std::int64_t c = dims[k].count;
    const std::int64_t q = index / c;
    offset += (index - q * c) * dims[k].stride;
    index = q;
  }
  return offset;
}

// User-buffer offset of row (block) `row` of a strided shape.
template <Shape S>
STRIDER_HD inline std::int64_t row_offset(const Desc& d, std::int64_t row) {
  if constexpr (S == Shape::copy1d) {
    return d.offset;
  } else if constexpr (S == Shape::strided2d) {
    return d.offset + row * d.d0.stride;
  } else if constexpr (S == Shape::strided3d) {
    const std::int64_t hi = row / d.d0.count;
    return d.offset + (row - hi * d.d0.count) * d.d0.stride + hi * d.d1.stride;
  } else {
    return d.offset + dims_offset(row, d.dims, d.ndims);
  }
}

// User-buffer offset of chunk `g` of a sequence (its packed offset is g * width).
STRIDER_HD inline std::int64_t sequence_offset(const Desc& d, std::int64_t g) {
  const std::int64_t rep = g / d.rep_chunks;
  const std::int64_t pos = (g - rep * d.rep_chunks) * d.width;  // packed byte within the rep
  // Last piece whose prefix is <= pos (prefix[0] == 0, pieces are non-empty).
  std::int32_t lo = 0;
  std::int32_t hi = d.npieces - 1;
  while (lo < hi) {
    const std::int32_t mid = lo + (hi - lo + 1) / 2;
    if (d.prefix[mid] <= pos) lo = mid; else hi = mid - 1;
  }
  const PieceD& p = d.pieces[lo];
  const std::int64_t within = pos - d.prefix[lo];
  const std::int64_t block = within / p.bytes;
  return p.offset + dims_offset(block, d.dims + p.dim_first, p.ndims) + (within - block * p.bytes) +
         dims_offset(rep, d.dims + d.rep_dim_first, d.rep_ndims);
}

// Moves one chunk given its user-buffer and packed offsets. `copy(dst, src)` moves width bytes.
template <class Copy>
STRIDER_HD inline void move_chunk(const Desc& d, const unsigned char* in, unsigned char* out,
                                  std::int64_t user, std::int64_t packed, Copy& copy) {
  if (d.unpack != 0)
    copy(out + user, in + packed);
  else
    copy(out + packed, in + user);
}

// One thread's whole share of the work. `in`/`out` are the source and destination buffers
// (user buffer and packed buffer for pack, the reverse for unpack).
template <Shape S, class Copy>
STRIDER_HD void kernel_body(const Desc& d, const void* in_ptr, void* out_ptr, std::uint32_t block,
                            std::uint32_t thread, const Geometry& g, Copy& copy) {
  const auto* in = static_cast<const unsigned char*>(in_ptr);
  auto* out = static_cast<unsigned char*>(out_ptr);
  const std::int64_t w = d.width;
  if constexpr (S == Shape::sequence) {
    const std::int64_t step = static_cast<std::int64_t>(g.grid) * g.block;
    for (std::int64_t i = static_cast<std::int64_t>(block) * g.block + thread; i < d.total; i += step)
      move_chunk(d, in, out, sequence_offset(d, i), i * w, copy);
  } else {
    const std::int64_t cpr = d.chunks_per_row;
    if (d.mapping == Mapping::flat) {
      const std::int64_t step = static_cast<std::int64_t>(g.grid) * g.block;
      for (std::int64_t i = static_cast<std::int64_t>(block) * g.block + thread; i < d.total;
           i += step) {
        const std::int64_t row = i / cpr;
        move_chunk(d, in, out, row_offset<S>(d, row) + (i - row * cpr) * w, i * w, copy);
      }
    } else {
      // Rows are handed to groups of `lanes` threads; each group strides over its row.
      const std::int64_t lanes = d.mapping == Mapping::warp ? kWarpThreads : g.block;
      const std::int64_t tid = static_cast<std::int64_t>(block) * g.block + thread;
      const std::int64_t groups = static_cast<std::int64_t>(g.grid) * g.block / lanes;
      const std::int64_t lane = tid % lanes;
      for (std::int64_t row = tid / lanes; row < d.rows; row += groups) {
        const std::int64_t user = row_offset<S>(d, row);
        const std::int64_t packed = row * cpr * w;
        for (std::int64_t c = lane; c < cpr; c += lanes) move_chunk(d, in, out, user + c * w, packed + c * w, copy);
      }
    }
  }
}

}  // namespace strider::backend::cuda
