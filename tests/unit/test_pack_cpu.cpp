// The host pack engine against the reference packer on hand-built Layouts: every block-length
// specialisation, 1-D to N-D, sequences, block lists, outer repetitions, incount folding,
// alignment sweeps, streaming outputs and zero sizes. Bytes outside the output are checked.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "backend/cpu/pack_cpu.hpp"
#include "backend/cpu/reference_pack.hpp"
#include "types/layout.hpp"

namespace {

using strider::types::Dim;
using strider::types::Layout;
using strider::types::Piece;
namespace cpu = strider::backend::cpu;

std::int64_t blocks_of(const Piece& p) {
  std::int64_t n = 1;
  for (const Dim& d : p.dims) n *= d.count;
  return n;
}

// Fills size/extent/bounds the way MPI would (extent = true extent unless given).
Layout make_layout(std::vector<Piece> pieces, std::vector<Dim> outer = {},
                   std::int64_t extent = -1) {
  Layout l;
  l.pieces = std::move(pieces);
  l.outer = std::move(outer);
  std::int64_t per = 0;
  std::int64_t lo = INT64_MAX;
  std::int64_t hi = INT64_MIN;
  for (const Piece& p : l.pieces) {
    per += p.bytes * blocks_of(p);
    if (p.bytes == 0 || blocks_of(p) == 0) continue;
    std::int64_t a = p.offset;
    std::int64_t b = p.offset + p.bytes;
    for (const Dim& d : p.dims) {
      a += std::min<std::int64_t>(0, (d.count - 1) * d.stride);
      b += std::max<std::int64_t>(0, (d.count - 1) * d.stride);
    }
    lo = std::min(lo, a);
    hi = std::max(hi, b);
  }
  std::int64_t reps = 1;
  for (const Dim& d : l.outer) {
    reps *= d.count;
    if (d.count > 0) {
      lo += std::min<std::int64_t>(0, (d.count - 1) * d.stride);
      hi += std::max<std::int64_t>(0, (d.count - 1) * d.stride);
    }
  }
  l.size = per * reps;
  if (l.size == 0 || lo > hi) {
    lo = 0;
    hi = 0;
  }
  l.true_lb = lo;
  l.true_extent = hi - lo;
  l.lb = lo;
  l.extent = extent >= 0 ? extent : hi - lo;
  return l;
}

Layout strided(std::int64_t offset, std::int64_t bytes, std::vector<Dim> dims,
               std::int64_t extent = -1) {
  return make_layout({Piece{offset, bytes, std::move(dims)}}, {}, extent);
}

// Lowest and one-past-highest byte offset touched by `count` elements.
std::pair<std::int64_t, std::int64_t> span_of(const Layout& l, std::int64_t count) {
  if (count == 0 || l.size == 0) return {0, 0};
  std::int64_t lo = l.true_lb;
  std::int64_t hi = l.true_lb + l.true_extent;
  lo += std::min<std::int64_t>(0, (count - 1) * l.extent);
  hi += std::max<std::int64_t>(0, (count - 1) * l.extent);
  return {lo, hi};
}

constexpr std::int64_t kGuard = 64;

std::vector<unsigned char> random_bytes(std::size_t n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<unsigned char> v(n);
  for (auto& b : v) b = static_cast<unsigned char>(rng());
  return v;
}

// Packs and unpacks with both engines, with the strided buffer at `in_align` (mod 64: 0 puts
// the user pointer on a cache line) and the packed buffer at `out_align` (mod 16) and guard
// bytes around both; requires identical bytes.
void check(const Layout& l, std::int64_t count, int in_align = 0, int out_align = 0) {
  INFO("layout " << strider::types::to_string(l) << " count " << count << " in_align "
                 << in_align << " out_align " << out_align);
  const auto [lo, hi] = span_of(l, count);
  const std::int64_t strided_len = (hi - lo) + 2 * kGuard + 16;
  const std::int64_t origin = kGuard - lo;  // buffer index of the user pointer, before align
  const std::int64_t packed = count * l.size;
  const std::int64_t packed_len = packed + 2 * kGuard + 16;
  auto strided = random_bytes(static_cast<std::size_t>(strided_len), 1);
  // Over-align so that `align` is relative to a 16- or 64-byte boundary.
  auto base = [](std::vector<unsigned char>& v, std::uintptr_t boundary) {
    auto addr = reinterpret_cast<std::uintptr_t>(v.data());
    return static_cast<std::int64_t>((boundary - addr % boundary) % boundary);
  };
  auto base16 = [&](std::vector<unsigned char>& v) { return base(v, 16); };
  REQUIRE((in_align >= 0 && in_align < 64));
  // Room for up to 63 bytes to the next line and `in_align` more.
  std::vector<unsigned char> strided_buf(static_cast<std::size_t>(strided_len + 128));
  const std::int64_t s0 = base(strided_buf, 64) + in_align;
  std::copy(strided.begin(), strided.end() - 16, strided_buf.begin() + s0);
  const unsigned char* user = strided_buf.data() + s0 + origin;

  std::vector<unsigned char> ref_out(static_cast<std::size_t>(packed_len + 16), 0xA5);
  std::vector<unsigned char> out(static_cast<std::size_t>(packed_len + 16), 0xA5);
  const std::int64_t o0 = base16(out) + out_align + kGuard;
  const std::int64_t r0 = base16(ref_out) + out_align + kGuard;
  cpu::reference_pack(l, count, user, ref_out.data() + r0);
  cpu::pack(l, count, user, out.data() + o0);
  REQUIRE(std::equal(out.begin() + o0 - kGuard, out.begin() + o0 + packed + kGuard,
                     ref_out.begin() + r0 - kGuard));

  // Unpack a fresh pattern into two copies of the random strided buffer, each at the same
  // alignment as the original (a vector's copy has its own).
  const auto source = random_bytes(static_cast<std::size_t>(packed + 1), 7);
  const auto used = static_cast<std::size_t>(strided_len - 16);
  auto copy_of_strided = [&](std::vector<unsigned char>& v) {
    v.assign(strided_buf.size(), 0);
    const std::int64_t at = base(v, 64) + in_align;
    std::copy_n(strided_buf.begin() + s0, used, v.begin() + at);
    return v.data() + at;
  };
  std::vector<unsigned char> ref_buf, new_buf;
  unsigned char* ref_strided = copy_of_strided(ref_buf);
  unsigned char* new_strided = copy_of_strided(new_buf);
  cpu::reference_unpack(l, count, source.data(), ref_strided + origin);
  cpu::unpack(l, count, source.data(), new_strided + origin);
  // The first differing byte, not the buffers: Catch would print megabytes of both.
  const auto diff = std::mismatch(ref_strided, ref_strided + used, new_strided);
  INFO("first differing byte of the strided buffer: " << (diff.first - ref_strided) << " of " << used);
  REQUIRE(diff.first == ref_strided + used);
}

const std::vector<std::int64_t> kBlockBytes{1,  2,  3,  4,  5,  7,   8,   9,   12,  15,  16,
                                            17, 24, 31, 32, 33, 48,  63,  64,  65,  100, 128,
                                            255, 256, 257, 1000, 4096};

}  // namespace

TEST_CASE("pack_cpu matches the reference for contiguous blocks of every length",
          "[pack_cpu]") {
  for (std::int64_t b : kBlockBytes) {
    for (std::int64_t count : {0, 1, 2, 5}) check(strided(0, b, {}), count);
  }
}

TEST_CASE("pack_cpu matches the reference for 1-D strided blocks at 2x and 16x strides",
          "[pack_cpu]") {
  for (std::int64_t b : kBlockBytes) {
    for (std::int64_t mult : {2, 16}) {
      for (std::int64_t n : {1, 2, 7, 33}) {
        const Layout l = strided(0, b, {{n, b * mult}});
        check(l, 1);
        check(l, 3);
      }
    }
  }
}

TEST_CASE("pack_cpu matches the reference for 2-D, 3-D and 5-D strided blocks",
          "[pack_cpu]") {
  for (std::int64_t b : kBlockBytes) {
    if (b > 300) continue;
    check(strided(0, b, {{3, 2 * b}, {4, 9 * b}}), 2);
    check(strided(b, b, {{3, 2 * b}, {2, 7 * b}, {3, 31 * b}}), 2);
    check(strided(0, b, {{2, 2 * b}, {2, 5 * b}, {3, 11 * b}, {2, 37 * b}, {2, 100 * b}}), 2);
  }
}

TEST_CASE("pack_cpu handles negative, zero and interleaved strides in pack order",
          "[pack_cpu]") {
  check(strided(400, 8, {{5, -16}}), 2);
  check(strided(0, 4, {{3, 0}, {2, 12}}), 2);          // the same block repeated
  check(strided(0, 8, {{4, 64}, {8, 8}}), 1);          // transposed: inner stride is the larger
  check(strided(1000, 3, {{4, -5}, {3, -40}, {2, 300}}), 3);
  // Extent smaller than the span: consecutive elements interleave (unpack order matters).
  check(strided(0, 4, {{4, 16}}, 8), 4);
  check(strided(0, 8, {{3, 24}}, 0), 3);  // extent 0: every element at the same place
}

TEST_CASE("pack_cpu folds incount into the element dimensions", "[pack_cpu]") {
  // Extent equal to the packed row: count elements form one contiguous run.
  check(strided(0, 8, {{4, 8}}, 32), 100);
  // Vector whose extent composes with its stride: one 1-D loop over count * n blocks.
  check(strided(0, 8, {{4, 32}}, 128), 50);
  // Resized element (extent > span): one more dimension.
  check(strided(0, 8, {{4, 32}}, 1000), 7);
  // Negative extent.
  check(strided(0, 16, {{2, 32}}, -200), 3);
}

TEST_CASE("pack_cpu matches the reference at every buffer alignment 0..15", "[pack_cpu]") {
  for (std::int64_t b : {1, 2, 3, 4, 8, 12, 16, 24, 32, 48, 64, 80, 512}) {
    const Layout one = strided(0, b, {{9, 3 * b}});
    const Layout two = strided(5, b, {{3, 2 * b + 1}, {4, 17 * b + 3}});
    for (int in_align = 0; in_align < 16; ++in_align) {
      for (int out_align = 0; out_align < 16; out_align += 3) {
        check(one, 2, in_align, out_align);
        check(two, 1, in_align, out_align);
      }
    }
  }
}

TEST_CASE("pack_cpu matches the reference for sequences with outer repetitions",
          "[pack_cpu]") {
  // Two strided pieces (a struct of a column and a row), repeated over two outer dims.
  const Layout seq = make_layout({Piece{0, 8, {{4, 64}}}, Piece{8, 24, {{2, 40}}}},
                                 {{3, 512}, {2, 2048}});
  check(seq, 1);
  check(seq, 3);
  // One piece with outer dims (folds into one strided loop).
  check(make_layout({Piece{16, 4, {{5, 8}}}}, {{3, 100}, {2, 1000}}), 2);
  // Several pieces, none with dims, plus outer: a struct repeated.
  check(make_layout({Piece{0, 4, {}}, Piece{8, 8, {}}, Piece{20, 1, {}}}, {{10, 24}}), 4);
  // Pieces in decreasing address order (pack order is piece order, not address order).
  check(make_layout({Piece{300, 16, {{2, 20}}}, Piece{0, 5, {{3, 7}}}, Piece{100, 64, {}}}), 2);
}

TEST_CASE("pack_cpu matches the reference for block lists", "[pack_cpu]") {
  std::mt19937 rng(42);
  std::vector<Piece> pieces;
  std::int64_t at = 0;
  for (int i = 0; i < 500; ++i) {
    const std::int64_t bytes = 1 + static_cast<std::int64_t>(rng() % 300);
    at += static_cast<std::int64_t>(rng() % 50);
    pieces.push_back(Piece{at, bytes, {}});
    at += bytes;
  }
  const Layout l = make_layout(pieces);
  check(l, 1);
  check(l, 3, 5, 11);
}

TEST_CASE("pack_cpu leaves everything untouched for zero sizes", "[pack_cpu]") {
  check(strided(0, 8, {{4, 16}}), 0);
  check(strided(0, 8, {{0, 16}}), 3);
  check(strided(0, 8, {{4, 16}, {0, 64}}), 2);
  check(make_layout({}), 5);
  check(make_layout({Piece{0, 8, {{3, 16}}}}, {{0, 100}}), 2);
  check(make_layout({Piece{0, 0, {{3, 16}}}, Piece{4, 4, {}}}), 2);
  // Nothing may be written for count 0 even with null buffers.
  cpu::pack(strided(0, 8, {{4, 16}}), 0, nullptr, nullptr);
  cpu::unpack(strided(0, 8, {{4, 16}}), 0, nullptr, nullptr);
}

TEST_CASE("pack_cpu streams large outputs with the same bytes", "[pack_cpu]") {
  const std::int64_t rows = (cpu::kStreamingThreshold / 64) + 3;
  const Layout l = strided(0, 64, {{rows, 128}});  // streamed: short dense blocks
  check(l, 1, 0, 0);  // aligned output: streaming stores
  check(l, 1, 3, 8);  // unaligned output: ordinary stores
  check(strided(0, 48, {{rows / 2, 96 + 16}, {2, 0}}), 1, 0, 0);
}

// Sources spanning more than a MiB with 64..128-byte blocks take the software-prefetch path in
// pack; short blocks at multiples of 512 B take the paced path in unpack.
TEST_CASE("pack_cpu prefetched packs and paced unpacks give the same bytes", "[pack_cpu]") {
  check(strided(0, 8, {{2048, 1024}}), 1);                  // an x-face: 8 B blocks 1 KiB apart
  check(strided(0, 8, {{128, 1040}, {24, 1040 * 130}}), 1, 3, 5);  // one with halo padding
  check(strided(0, 100, {{12000, 256}}), 1, 0, 7);          // medium blocks
  check(strided(8, 64, {{9000, 192}}), 2, 1, 0);            // incount 2, unaligned source
  check(strided(0, 64, {{20000, 128}}), 1, 0, 8);           // prefetched and streamed
  check(strided(4000, 12, {{300, -512}, {3, 7}}), 2, 5, 3);  // paced, negative stride
  check(strided(0, 1, {{100, 1536}}), 1);                   // paced single bytes
}

// Unpacks of 8 MiB or more into whole-line blocks, or blocks of 512 B or more at any alignment,
// stream into the strided side; smaller line-aligned ones prefetch it for writing.
TEST_CASE("pack_cpu streamed and prefetched unpacks give the same bytes", "[pack_cpu]") {
  const std::int64_t lines = cpu::kStreamingThreshold / 64 + 3;
  check(strided(0, 64, {{lines, 128}}), 1, 0, 0);           // whole lines: streamed
  check(strided(0, 64, {{lines, 128}}), 1, 8, 0);           // straddling lines: ordinary stores
  check(strided(0, 512, {{lines / 8, 1024}}), 1, 8, 3);     // long blocks off a line: streamed
  check(strided(0, 520, {{lines / 8, 1040}}), 1, 3, 0);     // a length not a multiple of 16
  check(strided(0, 4096, {{lines / 128, 4096 + 1024}, {2, -(lines / 128) * 5120 - 8192}}), 1, 0, 0);
  check(strided(64, 128, {{lines / 4, 384}}), 2, 0, 5);     // incount 2
  check(strided(0, 64, {{9000, 256}, {3, 64 * 1024 * 40}}), 1, 0, 0);  // prefetched, 2-D
  check(strided(0, 128, {{8192, 4096}}), 1, 0, 0);         // 1 MiB over 32 MiB: streamed
  // Blocks of 192 B or more off a line: ordinary stores at the partial ends, whole lines streamed.
  check(strided(0, 192, {{lines / 3, 384}}), 1, 16, 0);     // two whole lines and two ends
  check(strided(0, 200, {{lines / 3, 600}}), 1, 5, 1);      // an odd length at an odd offset
  check(strided(0, 1000, {{lines / 15, -2000}}), 1, 40, 0); // backwards, a head of 24 B
  check(strided(0, 193, {{lines / 3, 193 * 3}}), 1, 0, 0);  // heads and tails of every length
  // Pack of long blocks from a source over 32 MiB: prefetched ahead of memcpy.
  check(strided(0, 4100, {{4100, 8200}}), 1, 3, 5);
}

// Short lists of dimensionless pieces repeated many times run field by field over tiles.
TEST_CASE("pack_cpu tiled block lists give the same bytes", "[pack_cpu]") {
  const std::vector<Piece> fields{Piece{0, 4, {}}, Piece{8, 8, {}}, Piece{16, 12, {}}};
  const Layout s32 = make_layout(fields, {}, 32);  // struct {int; double; float[3]}
  check(s32, 128);
  check(s32, 1000, 3, 5);      // several tiles and a partial one, odd alignments
  check(s32, 127);             // below two tiles: element by element
  check(make_layout(fields, {{50, 32}}, 1600), 7, 0, 1);  // an outer dimension that composes
  check(make_layout(fields, {{50, 40}}, 1600), 7);        // one that does not
  // Unpack takes the element-by-element path for pieces out of order, overlapping ones, and
  // elements wider than their stride; pack tiles them all.
  check(make_layout({Piece{16, 8, {}}, Piece{0, 8, {}}, Piece{8, 2, {}}}, {}, 24), 300, 1, 0);
  check(make_layout({Piece{0, 8, {}}, Piece{4, 8, {}}}, {}, 16), 300);
  check(make_layout({Piece{0, 8, {}}, Piece{40, 3, {}}}, {}, 24), 300, 0, 2);
  check(make_layout({Piece{0, 1, {}}, Piece{3, 200, {}}, Piece{300, 17, {}}}, {}, 320), 150);
}

// Blocks far apart in pack order with another dimension stepping by less than a line run in
// line-sized tiles when the far dimension's lines would not stay in L1 (too many of them, or a
// stride that keeps them in a few cache sets); layouts whose blocks could overlap, or step
// backwards, keep pack order. (Two dimensions alone cannot reorder the writes of overlapping
// blocks: that takes a far stride under a line.)
TEST_CASE("pack_cpu transposing layouts give the same bytes", "[pack_cpu]") {
  check(strided(0, 8, {{256, 2048}, {256, 8}}), 1);          // a 256x256 matrix by columns
  check(strided(0, 4, {{600, 2400}, {300, 4}}), 1, 3, 5);    // floats, a partial last tile
  check(strided(0, 4, {{64, 256}, {64, 4}}), 1);             // floats, a sweep inside L1: whole lines
  check(strided(0, 1, {{1024, 1024}, {1024, 1}}), 1, 1, 0);  // chars: tiles of eight, a line in 8 sweeps
  check(strided(0, 2, {{700, 1400}, {300, 2}}), 1, 0, 3);    // shorts: tiles of eight, a partial last one
  check(strided(0, 8, {{40, 5120}, {16, 320}, {40, 8}}), 1, 0, 1);  // an x-z transpose
  check(strided(0, 8, {{40, 5120}, {40, 8}, {16, 320}}), 1);  // the near dimension in the middle
  check(strided(0, 8, {{600, 4800}, {200, 24}}), 1, 1, 0);   // near stride 24: tiles of two
  check(strided(16, 8, {{128, 1024}, {128, 8}}), 3, 0, 7);   // incount 3
  check(strided(0, 8, {{48, 512}, {48, 8}}), 1);             // 24 KiB, just over the floor
  check(strided(0, 8, {{64, 528}, {64, 8}}), 1);             // lines that stay in L1: in order
  check(strided(0, 8, {{200, 4096}, {100, 4}}), 1, 2, 0);    // overlapping blocks
  check(strided(0, 8, {{300, 256}, {40, 8}}), 1, 0, 3);      // rows that run into the next
  // A dimension nested between the far and the near one whose blocks land on the near one's:
  // tiles would reorder the writes to the same bytes.
  check(strided(0, 8, {{64, 4096}, {2, 72}, {10, 8}}), 1);
  check(strided(8 * 99, 8, {{200, 2048}, {100, -8}}), 1);    // the near dimension backwards
}

TEST_CASE("pack_cpu matches the reference for many dimensions beyond the folded limit",
          "[pack_cpu]") {
  std::vector<Dim> dims;
  std::int64_t stride = 12;
  for (int i = 0; i < 20; ++i) {
    dims.push_back(Dim{2, stride});
    stride = stride * 2 + 4;  // never composes, so nothing merges
  }
  dims.resize(18);
  const Layout l = strided(0, 3, dims);
  check(l, 1);
  check(make_layout({Piece{0, 3, dims}}, {{2, stride * 3}}), 1);
}

TEST_CASE("pack_cpu matches the reference on random layouts", "[pack_cpu]") {
  const std::uint32_t seed = GENERATE(1u, 2u, 3u);
  std::mt19937 rng(seed);
  auto pick = [&](std::int64_t lo, std::int64_t hi) {
    return lo + static_cast<std::int64_t>(rng() % static_cast<std::uint32_t>(hi - lo + 1));
  };
  for (int iter = 0; iter < 400; ++iter) {
    std::vector<Piece> pieces;
    const int npieces = static_cast<int>(pick(1, 4));
    for (int i = 0; i < npieces; ++i) {
      Piece p;
      p.bytes = pick(0, 4) == 0 ? pick(1, 300) : (std::int64_t{1} << pick(0, 5));
      p.offset = pick(-200, 200);
      const int nd = static_cast<int>(pick(0, 4));
      for (int k = 0; k < nd; ++k) p.dims.push_back(Dim{pick(0, 5), pick(-3, 10) * p.bytes + pick(-3, 3)});
      pieces.push_back(std::move(p));
    }
    std::vector<Dim> outer;
    const int no = static_cast<int>(pick(0, 2));
    for (int k = 0; k < no; ++k) outer.push_back(Dim{pick(1, 3), pick(-2000, 2000)});
    const Layout l = make_layout(pieces, outer, pick(0, 1) == 0 ? -1 : pick(0, 3000));
    INFO("seed " << seed << " iteration " << iter);
    check(l, pick(0, 3), static_cast<int>(pick(0, 15)), static_cast<int>(pick(0, 15)));
  }
}
