#include "backend/cpu/pack_cpu.hpp"

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <numeric>
#include <type_traits>

#if defined(__SSE2__)
#include <emmintrin.h>
#include <xmmintrin.h>
#define STRIDER_HAVE_SSE2_STREAM 1
#endif

namespace strider::backend::cpu {
namespace {

using types::Dim;
using types::Layout;
using types::Piece;
using Byte = unsigned char;

// The strided side is read by pack and written by unpack; the packed side the other way.
template <bool Pack>
using StridedPtr = std::conditional_t<Pack, const Byte*, Byte*>;
template <bool Pack>
using PackedPtr = std::conditional_t<Pack, Byte*, const Byte*>;

// Blocks longer than this go to memcpy: glibc's AVX2 copy beats an inline loop of 16-byte
// moves from 256 B up, in cache (45 vs 26 GB/s) and in memory (11 vs 7 GB/s at 512 B), and
// ties at 128 B (Zen 3, 2x stride, best of 200).
constexpr std::int64_t kMemcpyThreshold = 128;

// Fixed-size moves compile to single unaligned loads and stores; x86 unaligned moves cost the
// same as aligned ones unless they cross a line, so the CPU engine specialises on the block
// length, not on pointer alignment (alignment only gates the streaming stores below).
inline void copy16(Byte* d, const Byte* s) { std::memcpy(d, s, 16); }

// 1..16 bytes with two overlapping moves: one predictable branch per block instead of a call.
inline void copy_small(Byte* d, const Byte* s, std::size_t n) {
  if (n >= 8) {
    std::uint64_t a, b;
    std::memcpy(&a, s, 8);
    std::memcpy(&b, s + n - 8, 8);
    std::memcpy(d, &a, 8);
    std::memcpy(d + n - 8, &b, 8);
  } else if (n >= 4) {
    std::uint32_t a, b;
    std::memcpy(&a, s, 4);
    std::memcpy(&b, s + n - 4, 4);
    std::memcpy(d, &a, 4);
    std::memcpy(d + n - 4, &b, 4);
  } else if (n >= 2) {
    std::uint16_t a, b;
    std::memcpy(&a, s, 2);
    std::memcpy(&b, s + n - 2, 2);
    std::memcpy(d, &a, 2);
    std::memcpy(d + n - 2, &b, 2);
  } else if (n == 1) {
    *d = *s;
  }
}

// 16 < n: 16-byte moves, the last one overlapping its predecessor.
inline void copy_medium(Byte* d, const Byte* s, std::size_t n) {
  std::size_t i = 0;
  for (; i + 16 < n; i += 16) copy16(d + i, s + i);
  copy16(d + n - 16, s + n - 16);
}

inline void copy_any(Byte* d, const Byte* s, std::int64_t n) {
  const auto size = static_cast<std::size_t>(n);
  if (n <= 16) {
    copy_small(d, s, size);
  } else if (n <= kMemcpyThreshold) {
    copy_medium(d, s, size);
  } else {
    std::memcpy(d, s, size);
  }
}

// Block movers ("copiers"): bytes() and operator()(dst, src).
template <std::int64_t N>
struct Fixed {
  static constexpr std::int64_t bytes() { return N; }
  void operator()(Byte* d, const Byte* s) const { std::memcpy(d, s, N); }
};
struct Small {
  std::int64_t n;
  std::int64_t bytes() const { return n; }
  void operator()(Byte* d, const Byte* s) const { copy_small(d, s, static_cast<std::size_t>(n)); }
};
struct Medium {
  std::int64_t n;
  std::int64_t bytes() const { return n; }
  void operator()(Byte* d, const Byte* s) const {
    copy_medium(d, s, static_cast<std::size_t>(n));
  }
};
struct Large {
  std::int64_t n;
  std::int64_t bytes() const { return n; }
  void operator()(Byte* d, const Byte* s) const { std::memcpy(d, s, static_cast<std::size_t>(n)); }
};
#if STRIDER_HAVE_SSE2_STREAM
// Pack into a large output: non-temporal stores skip the read-for-ownership of output lines
// that will not be reused from cache. Requires n % 16 == 0 and a 16-byte aligned destination.
struct Stream {
  std::int64_t n;
  std::int64_t bytes() const { return n; }
  void operator()(Byte* d, const Byte* s) const {
    for (std::int64_t i = 0; i < n; i += 16) {
      const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + i));
      _mm_stream_si128(reinterpret_cast<__m128i*>(d + i), v);
    }
  }
};
// Unpack into a large strided destination: non-temporal stores for the whole lines of each
// block, which this call writes in full and will not read back; ordinary stores for a partial
// line at either end, which must be read for ownership anyway. Non-temporal stores to part of a
// line leave a partial write-combining flush: 64 B blocks straddling two lines 2.7 against 5.6
// GB/s with ordinary stores, and blocks 16 B off a line streamed 16 bytes at a time lost
// 4-40% against whole lines only (64 MiB at 2x stride, 512 B 9.5 -> 11.1 GB/s,
// 1 KiB 11.4 -> 11.9; 4 MiB of 192 B blocks 5.5 -> 9.1). tune() takes it for whole-line blocks
// and for blocks of 192 B or more (two whole lines at any alignment). `ahead`, for blocks with
// partial lines, prefetches the two end lines of a later block with intent to write (64 MiB of
// 512 B blocks 16 B off a line: 11.1 -> 12.2 GB/s; 4 MiB of 192 B: 9.1 -> 11.7); for
// whole-line blocks it would only fetch lines the streaming stores replace (64 B: 12.8 -> 6.3).
struct StreamLines {
  std::int64_t n;
  std::int64_t ahead;  // 0: none
  std::int64_t bytes() const { return n; }
  void operator()(Byte* d, const Byte* s) const {
    const auto at = reinterpret_cast<std::uintptr_t>(d);
    if (ahead != 0) {
      __builtin_prefetch(reinterpret_cast<const void*>(at + static_cast<std::uintptr_t>(ahead)), 1, 3);
      __builtin_prefetch(reinterpret_cast<const void*>(at + static_cast<std::uintptr_t>(ahead + n - 1)), 1, 3);
    }
    std::int64_t i = std::min(static_cast<std::int64_t>((64 - at % 64) % 64), n);
    if (i > 0) copy_any(d, s, i);
    for (; i + 64 <= n; i += 64) {
      for (int k = 0; k < 64; k += 16) {
        _mm_stream_si128(reinterpret_cast<__m128i*>(d + i + k), _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + i + k)));
      }
    }
    if (i < n) copy_any(d + i, s + i, n - i);
  }
};
#endif

// Pack of 64..128-byte blocks from a sparse source much larger than the caches: each block is a
// line (or two) of its own, and fetching a few blocks ahead in software helps the hardware
// prefetchers (Zen 4 here, bench/pack medians, prefetch on/off alternating): 64 B blocks at 2x
// stride, 64 MiB: 4.6-7.3 -> 7.5-12.3 GB/s; at 16x stride 3.7-4.6 -> 4.4-5.0 GB/s. For 8-byte
// blocks it showed no consistent gain (x-faces of a 128^3 array: 4.4 -> 3.8 GB/s in one
// round, 2.7 -> 4.2 in another), and prefetching unpack's packed source did not gain. `ahead`
// is in bytes of the strided side; prefetches never fault, so the address may run past the
// buffer. Unpack of the same blocks, line-aligned, into a destination larger than L2 but not
// streamed (see tune()): a prefetch with intent to write, ahead on the strided side, starts
// each line's read-for-ownership early (64 B blocks at 2x stride, 4 MiB: 16-21 -> 28 GB/s; 2 MiB
// 14 -> 20; 16x stride, 1 MiB: 13.7 -> 16.5).
template <bool Pack, class Copy>
struct Prefetching {
  Copy copy;
  std::int64_t ahead;
  std::int64_t bytes() const { return copy.bytes(); }
  // d, s: destination and source, so the strided side is s for pack and d for unpack.
  void operator()(Byte* d, const Byte* s) const {
    const Byte* strided = Pack ? s : d;
    const auto target = reinterpret_cast<std::uintptr_t>(strided) + static_cast<std::uintptr_t>(ahead);
    __builtin_prefetch(reinterpret_cast<const void*>(target), Pack ? 0 : 1, 3);
    copy(d, s);
  }
};

// Unpack of blocks shorter than a line whose stride is a multiple of 512 B: every block maps to
// one of at most 8 of the L1's 64 sets, and a loop that runs ahead keeps more stores to missing
// lines in flight than those sets have ways, so lines are evicted before their stores land.
// Three stores to one hot stack line per block keep fewer of them in flight. 8-byte blocks,
// 16 Ki of them: 512 B apart 2.3 -> 5.8 GB/s, 1 KiB 2.1 -> 4.6, 1.5 KiB 3.2 -> 4.6, 2 KiB
// 1.5 -> 2.6; strides that spread over the sets (1040 B: 11.9 GB/s) need no pacing.
template <class Copy>
struct Paced {
  Copy copy;
  volatile std::uint64_t* sink;
  std::int64_t bytes() const { return copy.bytes(); }
  void operator()(Byte* d, const Byte* s) const {
    copy(d, s);
    sink[0] = 0;
    sink[1] = 0;
    sink[2] = 0;
  }
};

// Per-call choices for one folded piece, made in run() from its shape and size.
struct Tuning {
  bool stream = false;     // non-temporal stores: Stream (pack), StreamLines (unpack)
  std::int64_t ahead = 0;  // software prefetch distance (Prefetching), 0 for none
  std::int64_t stream_ahead = 0;  // StreamLines' prefetch distance for partial lines, 0 for none
  bool pace = false;       // unpack: Paced
};

template <bool Pack, class Copy>
inline void move(const Copy& copy, StridedPtr<Pack> s, PackedPtr<Pack> p) {
  if constexpr (Pack) {
    copy(p, s);
  } else {
    copy(s, p);
  }
}

// Loops indexed from the base so that no pointer beyond the last block is ever formed.
// n blocks, `stride` apart on the strided side and `unit` apart on the packed side.
template <bool Pack, class Copy>
void run_column(const Copy& copy, StridedPtr<Pack> s, std::int64_t stride, PackedPtr<Pack> p,
                std::int64_t unit, std::int64_t n) {
  // Unrolled by 4: for 8-byte blocks the loop overhead halved the in-cache rate (8 vs 22 GB/s).
  std::int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    move<Pack>(copy, s + i * stride, p + i * unit);
    move<Pack>(copy, s + (i + 1) * stride, p + (i + 1) * unit);
    move<Pack>(copy, s + (i + 2) * stride, p + (i + 2) * unit);
    move<Pack>(copy, s + (i + 3) * stride, p + (i + 3) * unit);
  }
  for (; i < n; ++i) move<Pack>(copy, s + i * stride, p + i * unit);
}

// The packed side contiguous: blocks back to back.
template <bool Pack, class Copy>
void run_1d(const Copy& copy, StridedPtr<Pack> s, std::int64_t n, std::int64_t stride,
            PackedPtr<Pack> p) {
  run_column<Pack>(copy, s, stride, p, copy.bytes(), n);
}

template <bool Pack, class Copy, class D>
void run_2d(const Copy& copy, StridedPtr<Pack> s, const D* d, PackedPtr<Pack> p) {
  const std::int64_t row = copy.bytes() * d[0].count;
  for (std::int64_t j = 0; j < d[1].count; ++j) {
    run_1d<Pack>(copy, s + j * d[1].stride, d[0].count, d[0].stride, p + j * row);
  }
}

template <bool Pack, class Copy, class D>
void run_3d(const Copy& copy, StridedPtr<Pack> s, const D* d, PackedPtr<Pack> p) {
  const std::int64_t plane = copy.bytes() * d[0].count * d[1].count;
  for (std::int64_t k = 0; k < d[2].count; ++k) {
    run_2d<Pack>(copy, s + k * d[2].stride, d, p + k * plane);
  }
}

// nd >= 3; recursion depth nd - 3, no allocation.
template <bool Pack, class Copy, class D>
void run_nd(const Copy& copy, StridedPtr<Pack> s, const D* d, int nd, PackedPtr<Pack> p) {
  if (nd == 3) {
    run_3d<Pack>(copy, s, d, p);
    return;
  }
  std::int64_t inner = copy.bytes();
  for (int i = 0; i + 1 < nd; ++i) inner *= d[i].count;
  const D& top = d[nd - 1];
  for (std::int64_t j = 0; j < top.count; ++j) {
    run_nd<Pack>(copy, s + j * top.stride, d, nd - 1, p + j * inner);
  }
}

template <bool Pack, class Copy, class D>
void run_dims(const Copy& copy, StridedPtr<Pack> s, const D* d, int nd, PackedPtr<Pack> p) {
  switch (nd) {
    case 0: move<Pack>(copy, s, p); return;
    case 1: run_1d<Pack>(copy, s, d[0].count, d[0].stride, p); return;
    case 2: run_2d<Pack>(copy, s, d, p); return;
    case 3: run_3d<Pack>(copy, s, d, p); return;
    default: run_nd<Pack>(copy, s, d, nd, p); return;
  }
}

// Runs `copy` over the dimensions, wrapped as the tuning says.
template <bool Pack, class Copy, class D>
void run_copy(const Copy& copy, StridedPtr<Pack> s, const D* d, int nd, PackedPtr<Pack> p,
              const Tuning& t) {
  if (t.ahead > 0) {
    run_dims<Pack>(Prefetching<Pack, Copy>{copy, t.ahead}, s, d, nd, p);
    return;
  }
  if constexpr (!Pack) {
    if (t.pace) {
      volatile std::uint64_t sink[3];
      run_dims<Pack>(Paced<Copy>{copy, sink}, s, d, nd, p);
      return;
    }
  }
  run_dims<Pack>(copy, s, d, nd, p);
}

// Calls f with the copier for blocks of `bytes`: a fixed-size one for common lengths, else by
// range. The length is chosen once per loop, never per block.
template <class F>
void with_copier(std::int64_t bytes, F&& f) {
  switch (bytes) {
    case 1: f(Fixed<1>{}); return;
    case 2: f(Fixed<2>{}); return;
    case 4: f(Fixed<4>{}); return;
    case 8: f(Fixed<8>{}); return;
    case 12: f(Fixed<12>{}); return;
    case 16: f(Fixed<16>{}); return;
    case 24: f(Fixed<24>{}); return;
    case 32: f(Fixed<32>{}); return;
    case 48: f(Fixed<48>{}); return;
    case 64: f(Fixed<64>{}); return;
    default: break;
  }
  if (bytes < 16) {
    f(Small{bytes});
  } else if (bytes <= kMemcpyThreshold) {
    f(Medium{bytes});
  } else {
    f(Large{bytes});
  }
}

// One strided piece: the block length is chosen once here, then a tight loop runs.
template <bool Pack, class D>
void run_piece(StridedPtr<Pack> s, std::int64_t bytes, const D* d, int nd, PackedPtr<Pack> p,
               const Tuning& t) {
#if STRIDER_HAVE_SSE2_STREAM
  if (t.stream) {
    if constexpr (Pack) {
      run_copy<Pack>(Stream{bytes}, s, d, nd, p, t);
    } else {
      run_copy<Pack>(StreamLines{bytes, t.stream_ahead}, s, d, nd, p, t);
    }
    _mm_sfence();  // order the weakly-ordered stores before anyone reads the output
    return;
  }
#endif
  // Long blocks: memcpy, prefetched only by pack from sources far larger than L3 (see tune()).
  with_copier(bytes, [&](const auto& copy) { run_copy<Pack>(copy, s, d, nd, p, t); });
}

// Short block lists repeated many times (a struct of a few fields, thousands of elements):
// field by field over a tile of elements, so that each inner loop moves one fixed-size field
// between two fixed strides instead of choosing a length for every field of every element.
// The tile keeps the elements' lines in L1 across the fields. bench/pack's struct {int; double;
// float[3]} (extent 32), 256 KiB packed: 4.8 -> 28.8 GB/s (PMPI_Pack: 2.7); 64 MiB: 4.6 -> 8.2.
constexpr std::int64_t kTileElements = 64;
constexpr std::size_t kMaxTiledPieces = 16;

// False (nothing done) unless the layout is a short list of dimensionless pieces repeated at
// least two tiles' worth, by `count` and at most one outer dimension that composes with it.
// Unpack also needs the pieces in increasing, disjoint order within a span no longer than the
// repetition stride, so that writing field by field lands every byte where element order would.
template <bool Pack>
bool run_tiled(const Layout& layout, std::int64_t count, StridedPtr<Pack> s, PackedPtr<Pack> p) {
  const std::size_t np = layout.pieces.size();
  if (np < 2 || np > kMaxTiledPieces || layout.outer.size() > 1) return false;
  std::int64_t reps = count;
  std::int64_t stride = layout.extent;
  if (layout.outer.size() == 1) {
    const Dim& o = layout.outer.front();
    if (o.count * o.stride != layout.extent) return false;
    reps = count * o.count;
    stride = o.stride;
  }
  if (reps < 2 * kTileElements) return false;
  std::int64_t at[kMaxTiledPieces];  // packed offset of each piece within one repetition
  std::int64_t unit = 0;
  for (std::size_t k = 0; k < np; ++k) {
    const Piece& piece = layout.pieces[k];
    if (!piece.dims.empty() || piece.bytes <= 0) return false;
    if constexpr (!Pack) {
      if (k > 0 && piece.offset < layout.pieces[k - 1].offset + layout.pieces[k - 1].bytes) return false;
    }
    at[k] = unit;
    unit += piece.bytes;
  }
  if constexpr (!Pack) {
    const Piece& last = layout.pieces.back();
    if (last.offset + last.bytes - layout.pieces.front().offset > stride) return false;
  }
  for (std::int64_t e0 = 0; e0 < reps; e0 += kTileElements) {
    const std::int64_t n = std::min(kTileElements, reps - e0);
    for (std::size_t k = 0; k < np; ++k) {
      const Piece& piece = layout.pieces[k];
      with_copier(piece.bytes, [&](const auto& copy) {
        run_column<Pack>(copy, s + e0 * stride + piece.offset, stride, p + e0 * unit + at[k], unit, n);
      });
    }
  }
  return true;
}

// A single piece with the outer and incount repetitions folded in as further dimensions,
// simplified on the stack (merging composable dimensions, folding contiguous ones into the
// block), so that e.g. a vector with count > 1 runs as one 2-D loop or one memcpy.
constexpr int kMaxFoldedDims = 16;
// Trivially constructible on purpose: zero-initialising the array cost a `rep stos` of 30 ns
// per call, more than packing a small type.
struct FoldedDim {
  std::int64_t count;
  std::int64_t stride;
};
struct Folded {
  std::int64_t offset;
  std::int64_t bytes;
  int nd;
  bool empty;
  FoldedDim dims[kMaxFoldedDims];
};

inline bool push_dim(Folded& f, std::int64_t count, std::int64_t stride) {
  if (count == 0) f.empty = true;
  if (count == 1) return true;
  if (f.nd > 0) {
    FoldedDim& last = f.dims[f.nd - 1];
    if (stride == last.count * last.stride) {
      last.count *= count;
      return true;
    }
  }
  if (f.nd == kMaxFoldedDims) return false;
  f.dims[f.nd++] = FoldedDim{count, stride};
  return true;
}

// False when the dimensions do not fit the stack array (the generic path runs instead).
inline bool fold(const Layout& layout, std::int64_t count, Folded& f) {
  const Piece& piece = layout.pieces.front();
  f.offset = piece.offset;
  f.bytes = piece.bytes;
  f.nd = 0;
  f.empty = false;
  for (const Dim& d : piece.dims) {
    if (!push_dim(f, d.count, d.stride)) return false;
  }
  for (const Dim& d : layout.outer) {
    if (!push_dim(f, d.count, d.stride)) return false;
  }
  if (!push_dim(f, count, layout.extent)) return false;
  int drop = 0;
  while (drop < f.nd && f.dims[drop].stride == f.bytes) f.bytes *= f.dims[drop++].count;
  if (drop > 0) {
    for (int i = drop; i < f.nd; ++i) f.dims[i - drop] = f.dims[i];
    f.nd -= drop;
  }
  return true;
}

// Transposing layouts: the innermost dimension's blocks far apart while another dimension
// steps by less than a line, e.g. the resized-column idiom (a column of a row-major matrix,
// resized to one element, repeated) or an x-z transpose built from hvectors. In pack order
// every line of the far dimension is touched once per step of the near one, which costs
// nothing while those lines stay in L1 (64 columns of a 66-wide array, 528 B apart: pack 33,
// unpack 26 GB/s), and a miss per block once they do not, because there are too many of them
// or because a power-of-two stride puts them all in a few cache sets (256x256 doubles, 2 KiB
// apart: 3.6 / 3.2 GB/s). Then one line's worth of the near dimension is moved for every block
// of the far one, in tiles, so that each line is used whole while in L1 and the packed side is
// written as that many sequential streams: 256x256 -> 13.6 / 14.8 GB/s; 2896x2896 doubles
// 2.4 / 3.5 -> 4.6 / 4.7; an x-z transpose of a 64^3 cube 2.3 / 2.0 -> 6.6 / 10.4; 1024x1024
// doubles (one cache set) 2.6 / 2.1 -> 2.8-4.1 / 3.1-3.9 (bench/pack, medians). Tiles of two,
// four or eight lines were slower wherever tiles pay, and tiles where the lines do stay in L1
// halve the rate.
constexpr std::int64_t kTransposeFar = 256;              // the innermost stride from which blocks are "far"
constexpr std::int64_t kTransposeFootprint = 16 << 10;  // below this everything stays in L1
constexpr std::int64_t kL1Sets = 64;                    // 32 KiB, 8 ways, 64-byte lines
constexpr std::int64_t kL1Ways = 8;

// Whether `count` lines `stride` bytes apart stay in L1 with room to spare: the sets a
// line-multiple stride reaches are those of its step in lines (all of them for a stride that is
// not a whole number of lines, which drifts across sets).
inline bool lines_stay_in_l1(std::int64_t count, std::int64_t stride) {
  std::int64_t sets = kL1Sets;
  if (stride % 64 == 0) sets = kL1Sets / std::gcd((stride / 64) % kL1Sets, kL1Sets);
  return 2 * count <= kL1Ways * sets;
}

struct TransposeDim {
  std::int64_t count;
  std::int64_t stride;  // strided side
  std::int64_t packed;  // packed side
};

// The near dimension of a transposing piece, or 0 when it is not one (or when walking it out of
// pack order could land bytes differently: only disjoint blocks at positive strides qualify).
inline int transpose_near(const Folded& f) {
  if (f.nd < 2 || f.bytes >= 64 || f.dims[0].stride < kTransposeFar ||
      lines_stay_in_l1(f.dims[0].count, f.dims[0].stride)) {
    return 0;
  }
  int near = 0;
  for (int i = 1; i < f.nd; ++i) {
    if (f.dims[i].stride <= 0) return 0;
    if (f.dims[i].stride < 64 && (near == 0 || f.dims[i].stride < f.dims[near].stride)) near = i;
  }
  if (near == 0) return 0;
  // Disjoint blocks: by increasing stride, each dimension steps past everything the smaller
  // ones span.
  std::int64_t order[kMaxFoldedDims];
  for (int i = 0; i < f.nd; ++i) order[i] = i;
  std::sort(order, order + f.nd, [&](std::int64_t a, std::int64_t b) { return f.dims[a].stride < f.dims[b].stride; });
  std::int64_t span = f.bytes;
  for (int i = 0; i < f.nd; ++i) {
    const FoldedDim& d = f.dims[order[i]];
    if (d.stride < span) return 0;
    span = d.stride * (d.count - 1) + span;
  }
  return span >= kTransposeFootprint ? near : 0;
}

// Tiles over the far dimension `far` (all of it) and a slice of the near one.
template <bool Pack, class Copy>
void run_transpose_tile(const Copy& copy, StridedPtr<Pack> s, PackedPtr<Pack> p, const TransposeDim& far,
                        const TransposeDim& near, std::int64_t tile) {
  for (std::int64_t j0 = 0; j0 < near.count; j0 += tile) {
    const std::int64_t n = std::min(tile, near.count - j0);
    StridedPtr<Pack> sj = s + j0 * near.stride;
    PackedPtr<Pack> pj = p + j0 * near.packed;
    for (std::int64_t i = 0; i < far.count; ++i) {
      run_column<Pack>(copy, sj + i * far.stride, near.stride, pj + i * far.packed, near.packed, n);
    }
  }
}

// The other dimensions (outermost last) around the tiles.
template <bool Pack, class Copy>
void run_transpose_rest(const Copy& copy, StridedPtr<Pack> s, PackedPtr<Pack> p, const TransposeDim* rest,
                        int nrest, const TransposeDim& far, const TransposeDim& near, std::int64_t tile) {
  if (nrest == 0) {
    run_transpose_tile<Pack>(copy, s, p, far, near, tile);
    return;
  }
  const TransposeDim& top = rest[nrest - 1];
  for (std::int64_t j = 0; j < top.count; ++j) {
    run_transpose_rest<Pack>(copy, s + j * top.stride, p + j * top.packed, rest, nrest - 1, far, near, tile);
  }
}

template <bool Pack>
void run_transposed(const Folded& f, int near_dim, StridedPtr<Pack> s, PackedPtr<Pack> p) {
  TransposeDim dims[kMaxFoldedDims];
  std::int64_t packed = f.bytes;
  for (int i = 0; i < f.nd; ++i) {
    dims[i] = TransposeDim{f.dims[i].count, f.dims[i].stride, packed};
    packed *= f.dims[i].count;
  }
  TransposeDim rest[kMaxFoldedDims];
  int nrest = 0;
  for (int i = 1; i < f.nd; ++i) {
    if (i != near_dim) rest[nrest++] = dims[i];
  }
  // A tile is a line's worth of the near dimension, written as that many packed streams, each
  // one element per far block. Where a sweep of those streams outgrows L1, more than eight of
  // them lose to a tile of eight that reads each line in two or more sweeps (from L2), pack
  // (bench/pack): 1024x1024 floats 1.4 -> 3.1-5.0 GB/s, 2896x2896 floats 1.6 -> 3.0-3.1,
  // 1024x1024 chars 1.0 -> 1.7-1.8, shorts 1.3 -> 3.2-3.4; where the sweep stays in L1
  // (256x256 chars, 16 KiB) the whole line wins, 3.2-3.5 against 2.0.
  std::int64_t tile = std::max<std::int64_t>(1, 64 / dims[near_dim].stride);
  if (tile > kL1Ways && tile * dims[0].count * f.bytes > kTransposeFootprint) tile = kL1Ways;
  with_copier(f.bytes, [&](const auto& copy) {
    run_transpose_rest<Pack>(copy, s, p, rest, nrest, dims[0], dims[near_dim], tile);
  });
}

// The tuning of one folded piece (see Stream, Prefetching and Paced for the measurements).
constexpr std::int64_t kPrefetchSpan = std::int64_t{1} << 20;
constexpr std::int64_t kStreamAnyAlignment = 192;
template <bool Pack>
Tuning tune(const Folded& f, std::int64_t packed_bytes, const void* packed, const void* strided,
            std::int64_t stream_from) {
  Tuning t;
  const std::int64_t stride = f.dims[0].stride;
  const std::int64_t inner = stride < 0 ? -stride : stride;
  const std::int64_t blocks = packed_bytes / f.bytes;
  const std::int64_t ahead = std::max<std::int64_t>(8 * inner, 2048);  // prefetches: 8 blocks, 2 KiB at least
  if constexpr (Pack) {
    // Streaming pays for short blocks from a dense source (64 B blocks at 2x stride, 64 MiB:
    // 4.8 -> 7.1 GB/s on one day, a loss without prefetching on another) and loses for sparse
    // sources (16x: 2.8 -> 2.3 GB/s) and for long blocks, where glibc's memcpy wins (512 B at
    // 2x, 64 MiB: 1.7 vs 3.3 GB/s).
    t.stream = packed_bytes >= kStreamingThreshold && f.bytes % 16 == 0 &&
               f.bytes <= kMemcpyThreshold && inner <= 4 * f.bytes &&
               reinterpret_cast<std::uintptr_t>(packed) % 16 == 0;
    // Long blocks (memcpy's) from a source far larger than L3: the first line of a block 8
    // strides ahead, so that its fetch starts before memcpy reaches it (bench/pack, 64 MiB at 2x
    // stride, 512 B and 4 KiB blocks, two runs each: 0.89-1.09x native, mean 0.97, before;
    // 0.96-1.09x, mean 1.03, after).
    const bool short_blocks = stride >= 64 && f.bytes >= 64 && f.bytes <= kMemcpyThreshold &&
                              blocks * stride >= kPrefetchSpan;
    const bool long_blocks = stride > f.bytes && f.bytes > kMemcpyThreshold &&
                             blocks * stride >= 4 * kStreamingThreshold;
    if (short_blocks || long_blocks) t.ahead = ahead;
  } else {
    t.pace = f.bytes < 64 && inner != 0 && inner % 512 == 0 && blocks >= 64;
    // Every block whole lines of its own (in memory much larger than L3, 64 MiB packed, 64 B
    // blocks at 16x stride: 4.1 -> 8.5 GB/s; 512 B at 2x 6.4 -> 13.2; 4 KiB 8.2 -> 15.8).
    bool lines = reinterpret_cast<std::uintptr_t>(strided) % 64 == 0 && f.bytes % 64 == 0;
    for (int i = 0; i < f.nd; ++i) lines = lines && f.dims[i].stride % 64 == 0;
    // Streaming, from `stream_from` up: by default the pack threshold (8 MiB: 64 B blocks at
    // 2x 9.5 -> 27 GB/s, 512 B 10.4 -> 15.6, 4 KiB even). Below it the lines may be read back
    // from L3: 4 MiB of 4 KiB blocks at 2x streamed 14 against 35 GB/s (see
    // kReceiveStreamingThreshold for received messages). Blocks of 192 B or more need not be
    // aligned (16 B off a line, 2x stride, ordinary stores against StreamLines: 64 MiB of
    // 192 B blocks 6.2 -> 8.0 GB/s, 512 B 5.6 -> 12.2, 4 KiB 6.8 -> 11.5; 4 MiB of 192 B at 3x
    // 6.5 -> 12.0); 128 B and 160 B blocks off a line gained nothing.
    // Short blocks far apart use a fraction of L3's sets, so they stream from a 32 MiB span up
    // (64 B blocks at 16x, 2 MiB: 10.3 prefetched -> 14.6; at 8x, 4 MiB: 7.5 -> 12.4; 16x,
    // 1 MiB, a 16 MiB span: 16.5 -> 10.2, so not there; 512 B at 16x, 4 MiB: 23 -> 12).
    const bool far = f.bytes <= kMemcpyThreshold && blocks * inner >= 4 * kStreamingThreshold;
    t.stream = f.bytes >= 64 && (lines || f.bytes >= kStreamAnyAlignment) &&
               (packed_bytes >= stream_from || (lines && far));
    if (t.stream && !lines) t.stream_ahead = stride < 0 ? -ahead : ahead;  // in the walk's direction
    if (!t.stream && lines && stride >= 64 && f.bytes <= kMemcpyThreshold && blocks * stride >= kPrefetchSpan) {
      t.ahead = ahead;
    }
  }
  return t;
}

std::int64_t piece_bytes(const Piece& piece) {
  std::int64_t n = piece.bytes;
  for (const Dim& d : piece.dims) n *= d.count;
  return n;
}

// The general case (several pieces, block lists, very many dimensions): outer repetitions by
// recursion, then each piece in order. Dimensionless pieces (block lists) skip the dispatch.
template <bool Pack>
PackedPtr<Pack> run_pieces(const Layout& layout, std::size_t level, StridedPtr<Pack> s,
                           PackedPtr<Pack> p) {
  if (level == 0) {
    for (const Piece& piece : layout.pieces) {
      if (piece.bytes <= 0) continue;
      if (piece.dims.empty()) {
        if constexpr (Pack) {
          copy_any(p, s + piece.offset, piece.bytes);
        } else {
          copy_any(s + piece.offset, p, piece.bytes);
        }
        p += piece.bytes;
      } else {
        const std::int64_t n = piece_bytes(piece);
        if (n == 0) continue;
        run_piece<Pack>(s + piece.offset, piece.bytes, piece.dims.data(),
                        static_cast<int>(piece.dims.size()), p, Tuning{});
        p += n;
      }
    }
    return p;
  }
  const Dim& d = layout.outer[level - 1];
  for (std::int64_t j = 0; j < d.count; ++j) {
    p = run_pieces<Pack>(layout, level - 1, s + j * d.stride, p);
  }
  return p;
}

template <bool Pack>
void run(const Layout& layout, std::int64_t count, StridedPtr<Pack> s, PackedPtr<Pack> p,
         std::int64_t stream_from = kStreamingThreshold) {
  if (count <= 0 || layout.size <= 0 || layout.pieces.empty()) return;
  if (layout.pieces.size() == 1) {
    Folded f;
    if (fold(layout, count, f)) {
      if (f.empty || f.bytes <= 0) return;
      if (f.nd == 0) {
        // Contiguous: glibc's memcpy already streams copies larger than the cache.
        if constexpr (Pack) {
          std::memcpy(p, s + f.offset, static_cast<std::size_t>(f.bytes));
        } else {
          std::memcpy(s + f.offset, p, static_cast<std::size_t>(f.bytes));
        }
        return;
      }
      if (const int near = transpose_near(f); near != 0) {
        run_transposed<Pack>(f, near, s + f.offset, p);
        return;
      }
      run_piece<Pack>(s + f.offset, f.bytes, f.dims, f.nd, p, tune<Pack>(f, count * layout.size, p, s + f.offset, stream_from));
      return;
    }
  }
  if (run_tiled<Pack>(layout, count, s, p)) return;
  for (std::int64_t e = 0; e < count; ++e) {
    p = run_pieces<Pack>(layout, layout.outer.size(), s + e * layout.extent, p);
  }
}

}  // namespace

void pack(const types::Layout& layout, std::int64_t count, const void* in, void* out) {
  run<true>(layout, count, static_cast<const Byte*>(in), static_cast<Byte*>(out));
}

void unpack(const types::Layout& layout, std::int64_t count, const void* in, void* out, std::int64_t stream_from) {
  run<false>(layout, count, static_cast<Byte*>(out), static_cast<const Byte*>(in), stream_from);
}

}  // namespace strider::backend::cpu
