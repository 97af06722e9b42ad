// The CUDA pack kernels' bodies run on the CPU over their real launch geometry (every block,
// every thread) against the reference packer: every kernel shape and thread mapping, the
// access-width alignment sweep, incount, zero counts and the grid/coverage arithmetic for
// counts far too large to allocate. Needs no GPU and no nvcc (pack_index.hpp is plain C++).
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "backend/cpu/reference_pack.hpp"
#include "backend/cuda/emulate.hpp"
#include "backend/cuda/pack_plan.hpp"
#include "memory/classify.hpp"
#include "memory/pool.hpp"
#include "types/layout.hpp"

namespace {

using strider::types::Dim;
using strider::types::Layout;
using strider::types::Piece;
namespace cuda = strider::backend::cuda;
namespace cpu = strider::backend::cpu;
using cuda::Mapping;
using cuda::Shape;

// size/extent/true bounds as MPI would report them (extent = true extent unless given).
Layout layout_of(std::vector<Piece> pieces, std::vector<Dim> outer = {}, std::int64_t extent = -1) {
  Layout l;
  l.pieces = std::move(pieces);
  l.outer = std::move(outer);
  std::int64_t per = 0;
  std::int64_t lo = std::numeric_limits<std::int64_t>::max();
  std::int64_t hi = std::numeric_limits<std::int64_t>::min();
  for (const Piece& p : l.pieces) {
    per += p.packed_bytes();
    if (p.packed_bytes() == 0) continue;
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
  if (l.size == 0) lo = hi = 0;
  l.true_lb = l.lb = lo;
  l.true_extent = hi - lo;
  l.extent = extent >= 0 ? extent : hi - lo;
  return l;
}

Layout strided(std::int64_t offset, std::int64_t bytes, std::vector<Dim> dims, std::int64_t extent = -1) {
  return layout_of({Piece{offset, bytes, std::move(dims)}}, {}, extent);
}

std::vector<unsigned char> pattern(std::size_t n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<unsigned char> v(n);
  for (auto& b : v) b = static_cast<unsigned char>(rng());
  return v;
}

struct Outcome {
  cuda::Plan pack_plan;
  cuda::Plan unpack_plan;
};

// Packs (and, unless `overlapping`, unpacks) `count` elements through the emulated kernels
// with the user buffer at `user_align` and the packed buffer at `packed_align` (mod 16);
// requires the reference packer's bytes (guard bytes included), aligned accesses only, and
// exactly one chunk move per packed byte / width.
Outcome check(const Layout& l, std::int64_t count, int user_align = 0, int packed_align = 0,
              std::uint32_t max_grid = cuda::kMaxGridBlocks) {
  INFO("layout " << strider::types::to_string(l) << " count " << count << " user_align " << user_align
                 << " packed_align " << packed_align << " max_grid " << max_grid);
  constexpr std::int64_t guard = 48;
  std::int64_t lo = 0;
  std::int64_t hi = 0;
  if (count > 0 && l.size > 0) {
    lo = l.true_lb + std::min<std::int64_t>(0, (count - 1) * l.extent);
    hi = l.true_lb + l.true_extent + std::max<std::int64_t>(0, (count - 1) * l.extent);
  }
  const std::int64_t packed_bytes = count * l.size;
  auto aligned_at = [](std::vector<unsigned char>& v, std::int64_t want) {
    const auto addr = reinterpret_cast<std::uintptr_t>(v.data());
    return static_cast<std::int64_t>((16 - addr % 16) % 16) + want;
  };

  std::vector<unsigned char> user = pattern(static_cast<std::size_t>(hi - lo + 2 * guard + 32), 11);
  const std::int64_t u0 = aligned_at(user, user_align) + guard - lo;  // index of the user pointer
  std::vector<unsigned char> ours(static_cast<std::size_t>(packed_bytes + 2 * guard + 32), 0xA5);
  std::vector<unsigned char> ref = ours;
  const std::int64_t p0 = aligned_at(ours, packed_align) + guard;
  const std::int64_t r0 = aligned_at(ref, packed_align) + guard;

  cpu::reference_pack(l, count, user.data() + u0, ref.data() + r0);
  const auto packed = cuda::emulate_move(l, count, user.data() + u0, ours.data() + p0, false, max_grid);
  REQUIRE(packed.status.is_ok());
  CHECK(packed.misaligned == 0);
  REQUIRE(std::equal(ours.begin() + p0 - guard, ours.begin() + p0 + packed_bytes + guard, ref.begin() + r0 - guard));
  if (!packed.plan.empty) {
    CHECK(packed.chunks * packed.plan.desc.width == packed_bytes);
    CHECK(packed.plan.geometry.grid >= 1);
    CHECK(packed.plan.geometry.grid <= max_grid);
    CHECK(packed.plan.workspace_bytes == cuda::workspace_bytes(l, count));
  } else {
    CHECK(packed_bytes == 0);
    CHECK(packed.chunks == 0);
  }

  Outcome outcome{packed.plan, {}};
  if (l.overlaps()) return outcome;  // unpacking into overlapping blocks is undefined in MPI
  const auto source = pattern(static_cast<std::size_t>(packed_bytes + 32), 23);
  std::vector<unsigned char> src_buf(source.size() + 16);
  const std::int64_t s0 = aligned_at(src_buf, packed_align);
  std::copy(source.begin(), source.end(), src_buf.begin() + s0);
  std::vector<unsigned char> ref_user = user;
  std::vector<unsigned char> our_user = user;
  cpu::reference_unpack(l, count, src_buf.data() + s0, ref_user.data() + u0);
  const auto unpacked = cuda::emulate_move(l, count, src_buf.data() + s0, our_user.data() + u0, true, max_grid);
  REQUIRE(unpacked.status.is_ok());
  CHECK(unpacked.misaligned == 0);
  REQUIRE(our_user == ref_user);
  if (!unpacked.plan.empty) CHECK(unpacked.chunks * unpacked.plan.desc.width == packed_bytes);
  outcome.unpack_plan = unpacked.plan;
  return outcome;
}

}  // namespace

TEST_CASE("emulated kernels pack a contiguous type as one 1-D copy at 16 bytes per access",
          "[cuda][emulation]") {
  const auto o = check(strided(0, 4096, {}), 1);
  CHECK(o.pack_plan.desc.shape == Shape::copy1d);
  CHECK(o.pack_plan.desc.width == 16);
  CHECK(o.pack_plan.desc.mapping == Mapping::flat);
  CHECK(o.pack_plan.geometry.grid == 1);  // 256 chunks of 16 bytes: one block of 256 threads
  check(strided(0, 4096, {}), 7);  // incount folds into the block
  check(strided(-24, 1000, {}), 3, 5, 9);
}

TEST_CASE("emulated kernels pack 2-D, 3-D and N-D strided types", "[cuda][emulation]") {
  SECTION("2-D vector of doubles") {
    const auto o = check(strided(0, 8, {{100, 24}}), 1);
    CHECK(o.pack_plan.desc.shape == Shape::strided2d);
    CHECK(o.pack_plan.desc.width == 8);
  }
  SECTION("3-D subarray face") {
    const auto o = check(strided(64, 48, {{10, 96}, {7, 1200}}), 2);
    CHECK(o.pack_plan.desc.shape == Shape::stridednd);  // incount adds the third dim
    const auto one = check(strided(64, 48, {{10, 96}, {7, 1200}}), 1);
    CHECK(one.pack_plan.desc.shape == Shape::strided3d);
    CHECK(one.pack_plan.workspace_bytes == 0);
  }
  SECTION("5-D with a negative stride reads its dims from the workspace") {
    const auto o = check(strided(4000, 4, {{3, 12}, {4, -100}, {2, 1000}, {3, 2500}}), 1);
    CHECK(o.pack_plan.desc.shape == Shape::stridednd);
    CHECK(o.pack_plan.workspace_bytes > 0);
    CHECK(o.pack_plan.desc.width == 4);
  }
  SECTION("zero stride repeats the same bytes (pack only)") { check(strided(0, 16, {{5, 0}, {3, 64}}), 2); }
}

TEST_CASE("emulated kernels map long rows to a warp or a block per row", "[cuda][emulation]") {
  SECTION("short rows: one chunk per thread, many rows per warp") {
    const auto o = check(strided(0, 32, {{4096, 48}}), 1);
    CHECK(o.pack_plan.desc.mapping == Mapping::flat);
  }
  SECTION("rows of 512 bytes: a warp per row") {
    const auto o = check(strided(0, 512, {{2048, 640}}), 1);
    CHECK(o.pack_plan.desc.mapping == Mapping::warp);
    CHECK(o.pack_plan.desc.shape == Shape::strided2d);
  }
  SECTION("rows of 16 KiB: a block per row, also in 3-D") {
    const auto o = check(strided(0, 16384, {{64, 16512}, {32, 16512 * 64 + 256}}), 1);
    CHECK(o.pack_plan.desc.mapping == Mapping::cta);
    CHECK(o.pack_plan.desc.shape == Shape::strided3d);
  }
  SECTION("few long rows stay flat so the whole grid works") {
    const auto o = check(strided(0, 16384, {{8, 20000}}), 1);
    CHECK(o.pack_plan.desc.mapping == Mapping::flat);
  }
  SECTION("a capped grid strides over rows") {
    const auto w = check(strided(0, 512, {{2048, 640}}), 1, 0, 0, 3);
    CHECK(w.pack_plan.desc.mapping == Mapping::warp);
    CHECK(w.pack_plan.geometry.grid == 3);
    const auto c = check(strided(0, 16384, {{64, 16512}, {32, 16512 * 64 + 256}}), 1, 0, 0, 5);
    CHECK(c.pack_plan.geometry.grid == 5);
  }
}

TEST_CASE("emulated kernels pack sequences of strided blocks with outer repetitions",
          "[cuda][emulation]") {
  SECTION("struct of a double, a vector of ints and a char") {
    const Layout l = layout_of({Piece{0, 8, {}}, Piece{16, 4, {{6, 8}}}, Piece{70, 1, {}}}, {}, 72);
    const auto o = check(l, 3);
    CHECK(o.pack_plan.desc.shape == Shape::sequence);
    CHECK(o.pack_plan.desc.width == 1);
    check(l, 1, 3, 7);
  }
  SECTION("pieces over outer dims, negative outer stride") {
    const Layout l = layout_of({Piece{0, 16, {{2, 32}}}, Piece{96, 32, {}}}, {{3, 256}, {2, -1024}});
    const auto o = check(l, 2);
    CHECK(o.pack_plan.desc.shape == Shape::sequence);
    CHECK(o.pack_plan.desc.width == 16);
    check(l, 2, 8, 8);
  }
}

TEST_CASE("emulated kernels pack block lists by binary search over prefix sums", "[cuda][emulation]") {
  std::mt19937 rng(5);
  std::vector<Piece> pieces;
  std::int64_t at = 0;
  for (int i = 0; i < 300; ++i) {
    at += static_cast<std::int64_t>(rng() % 40);
    const std::int64_t bytes = 1 + static_cast<std::int64_t>(rng() % 70);
    pieces.push_back({at, bytes, {}});
    at += bytes;
  }
  const Layout l = layout_of(pieces);
  const auto o = check(l, 2);
  CHECK(o.pack_plan.desc.shape == Shape::sequence);
  CHECK(o.pack_plan.desc.npieces == 300);
  check(l, 1, 1, 2);
  check(l, 3, 0, 0, 2);  // grid-stride loop over a 2-block grid
  // Block lengths and offsets all multiples of 8: 8-byte accesses.
  std::vector<Piece> even;
  for (int i = 0; i < 50; ++i) even.push_back({i * 40, 8 * (1 + i % 3), {}});
  const auto e = check(layout_of(even), 2);
  CHECK(e.pack_plan.desc.width == 8);
}

TEST_CASE("emulated kernels choose the widest access both pointers, the position and all strides allow",
          "[cuda][emulation]") {
  const std::vector<std::int64_t> blocks{1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 100};
  const std::vector<std::int64_t> strides{1, 2, 4, 8, 16, 24, 32};  // extra bytes between blocks
  for (std::int64_t bytes : blocks)
    for (std::int64_t gap : strides) {
      const Layout l = strided(0, bytes, {{9, bytes + gap}, {3, 11 * (bytes + gap) + 16}});
      for (int user_align = 0; user_align < 16; ++user_align)
        for (int packed_align : {0, 1, 2, 4, 8, 13}) {
          const auto o = check(l, 2, user_align, packed_align);
          // Expected: the largest power of two <= 16 dividing every term.
          const std::uint64_t all = static_cast<std::uint64_t>(bytes) | static_cast<std::uint64_t>(bytes + gap) |
                                    static_cast<std::uint64_t>(11 * (bytes + gap) + 16) |
                                    static_cast<std::uint64_t>(l.extent) | static_cast<std::uint64_t>(user_align) |
                                    static_cast<std::uint64_t>(packed_align);
          std::int32_t want = 16;
          while (want > 1 && (all & static_cast<std::uint64_t>(want - 1)) != 0) want /= 2;
          // Merged dims can only drop terms, never add any, so the width is at least `want`.
          CHECK(o.pack_plan.desc.width >= want);
        }
    }
}

TEST_CASE("emulated kernels handle incount with extents that differ from the size",
          "[cuda][emulation]") {
  for (std::int64_t count = 1; count <= 5; ++count) {
    check(strided(0, 8, {{4, 16}}, 80), count);       // resized: extent beyond the data
    check(strided(8, 8, {{4, 16}}, 40), count);       // extent shorter than the data: interleaved
    check(strided(0, 8, {{4, 16}}, 64), count, 3, 5);  // extent == row span: folds to one dim
    check(layout_of({Piece{0, 4, {}}, Piece{12, 2, {}}}, {}, 20), count, 1, 2);
  }
}

TEST_CASE("zero counts and empty types launch nothing", "[cuda][emulation]") {
  for (const Layout& l : {strided(0, 8, {{4, 16}}), strided(0, 8, {{0, 16}}), strided(0, 0, {}),
                          layout_of({Piece{0, 4, {}}, Piece{8, 4, {}}}, {{0, 64}})}) {
    for (std::int64_t count : {0, 3}) {
      cuda::Plan plan;
      int dummy = 0;
      REQUIRE(cuda::make_plan(l, count, &dummy, &dummy, false, &plan).is_ok());
      if (count == 0 || l.size == 0) {
        CHECK(plan.empty);
        CHECK(plan.geometry.grid == 0);
        CHECK(cuda::workspace_bytes(l, count) == 0);
      }
      check(l, count);
    }
  }
  cuda::Plan plan;
  int dummy = 0;
  CHECK(cuda::make_plan(strided(0, 8, {}), -1, &dummy, &dummy, false, &plan).code() ==
        strider::core::Code::invalid);
}

TEST_CASE("huge counts keep the grid within launch limits and cover every chunk once",
          "[cuda][emulation]") {
  // Geometry only: nothing this large is allocated. The kernels are grid-stride loops, so a
  // chunk index i is handled by thread i mod T on iteration i div T (T = grid * block).
  const auto user = reinterpret_cast<const void*>(std::uintptr_t{1} << 20);
  const auto packed = reinterpret_cast<const void*>(std::uintptr_t{1} << 30);
  struct Case {
    Layout layout;
    std::int64_t count;
  };
  const std::vector<Case> cases{
      {strided(0, 8, {{1000, 64}}), std::int64_t{1} << 40},           // 2-D, folds incount
      {strided(0, 4, {}, 8), std::int64_t{1} << 55},                  // 1-D with gaps
      {strided(0, 16384, {{3, 20000}}, 80000), std::int64_t{1} << 40},  // long rows: a block per row
      {strided(0, 640, {{7, 1000}}, 9000), std::int64_t{1} << 42},     // a warp per row
      {layout_of({Piece{0, 8, {}}, Piece{16, 8, {}}}, {}, 32), std::int64_t{1} << 50},  // sequence
  };
  for (const Case& c : cases) {
    INFO(strider::types::to_string(c.layout) << " count " << c.count);
    cuda::Plan plan;
    REQUIRE(cuda::make_plan(c.layout, c.count, user, packed, false, &plan).is_ok());
    REQUIRE_FALSE(plan.empty);
    CHECK(plan.geometry.grid >= 1);
    CHECK(plan.geometry.grid <= cuda::kMaxGridBlocks);  // far below gridDim.x's 2^31 - 1
    CHECK(plan.geometry.block == cuda::kBlockThreads);
    CHECK(plan.desc.total * plan.desc.width == c.count * c.layout.size);
    const std::int64_t threads = static_cast<std::int64_t>(plan.geometry.grid) * plan.geometry.block;
    if (plan.desc.mapping == Mapping::flat) {
      // Per-thread iteration counts of the grid-stride loop add up to the chunk count.
      std::int64_t covered = 0;
      for (std::int64_t t = 0; t < threads; ++t)
        covered += t < plan.desc.total ? (plan.desc.total - t + threads - 1) / threads : 0;
      CHECK(covered == plan.desc.total);
    } else {
      const std::int64_t lanes = plan.desc.mapping == Mapping::warp ? cuda::kWarpThreads : cuda::kBlockThreads;
      const std::int64_t groups = threads / lanes;
      std::int64_t rows = 0;
      for (std::int64_t g = 0; g < groups; ++g) rows += g < plan.desc.rows ? (plan.desc.rows - g + groups - 1) / groups : 0;
      CHECK(rows == plan.desc.rows);
      CHECK(plan.desc.rows * plan.desc.chunks_per_row == plan.desc.total);
    }
    // The last chunk maps to the last byte of the last element (independently computed).
    if (plan.desc.shape != Shape::sequence) {
      const std::int64_t last = plan.desc.total - 1;
      const std::int64_t row = last / plan.desc.chunks_per_row;
      std::int64_t offset = 0;
      switch (plan.desc.shape) {
        case Shape::copy1d: offset = cuda::row_offset<Shape::copy1d>(plan.desc, row); break;
        case Shape::strided2d: offset = cuda::row_offset<Shape::strided2d>(plan.desc, row); break;
        case Shape::strided3d: offset = cuda::row_offset<Shape::strided3d>(plan.desc, row); break;
        default: break;
      }
      if (plan.desc.shape != Shape::stridednd) {
        const Piece& p = c.layout.pieces.front();
        std::int64_t expect = (c.count - 1) * c.layout.extent + p.offset + p.bytes;
        for (const Dim& d : p.dims) expect += (d.count - 1) * d.stride;
        CHECK(offset + (last - row * plan.desc.chunks_per_row + 1) * plan.desc.width == expect);
      }
    }
  }
  // Sizes beyond 64 bits are refused, not wrapped.
  cuda::Plan plan;
  CHECK(cuda::make_plan(strided(0, 1 << 20, {}, 1 << 21), std::int64_t{1} << 50, user, packed, false, &plan)
            .code() == strider::core::Code::invalid);
}

TEST_CASE("a host pointer classifies as host without the CUDA driver, then from the cache",
          "[memory]") {
  std::vector<unsigned char> buffer(1 << 16);
  const auto before = strider::memory::classify_stats();
  // Two addresses in one 4 KiB page of the buffer.
  const auto addr = reinterpret_cast<std::uintptr_t>(buffer.data());
  unsigned char* page = buffer.data() + ((4096 - addr % 4096) % 4096);
  CHECK(strider::memory::classify(page + 100) == strider::memory::Kind::host);
  CHECK(strider::memory::classify(page + 200) == strider::memory::Kind::host);
  const auto after = strider::memory::classify_stats();
  CHECK(after.queries - before.queries == 2);
  CHECK(after.host_hits - before.host_hits >= 1);  // same page: the second one is a cache hit
  CHECK(after.driver_calls - before.driver_calls <= 1);  // none without a driver, then cached
  CHECK(strider::memory::query(buffer.data()).device == -1);

  // Ranges Strider registers itself answer without the driver, until forgotten.
  strider::memory::remember(buffer.data() + 4096, 8192, {strider::memory::Kind::mapped, 1});
  const auto info = strider::memory::query(buffer.data() + 5000);
  CHECK(info.kind == strider::memory::Kind::mapped);
  CHECK(info.device == 1);
  CHECK(strider::memory::classify(buffer.data() + 4096 + 8192) == strider::memory::Kind::host);
  strider::memory::forget(buffer.data() + 4096, 8192);
  CHECK(strider::memory::classify(buffer.data() + 5000) == strider::memory::Kind::host);
  CHECK(strider::memory::pool_size_class(1) == 64 * 1024);
  CHECK(strider::memory::pool_size_class(100000) == 128 * 1024);
}
