// MPI_Pack / MPI_Unpack on host buffers: Strider (exec::pack / exec::unpack, i.e. the full
// MPI_Pack path: type-cache lookup, classification, plan, host engine) against the underlying
// MPI (mpi::pack / mpi::unpack = PMPI_Pack / PMPI_Unpack), and against the memory bound
// measured in the same run: memcpy of as many bytes as the pack touches, where touched bytes
// are the distinct 64-byte lines of the strided side plus the lines of the packed side; and
// against the line-read floor: one load from each touched line of the strided side, in pack
// order (see read_lines).
//
//   strider_bench_pack [--quick] [--json FILE] [--filter SUBSTRING]
//
// Every figure is a median over repetitions; the three timings of a cell alternate within
// each repetition so that machine noise hits them alike. Packed and unpacked bytes are
// verified against the underlying MPI for every cell.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include <mpi.h>
#include <nlohmann/json.hpp>

#include "core/spec.hpp"
#include "exec/datatype.hpp"
#include "exec/pack.hpp"
#include "mpi/calls.hpp"
#include "mpi/type_builder.hpp"
#include "types/cache.hpp"
#include "types/layout.hpp"

namespace {

using Clock = std::chrono::steady_clock;
namespace types = strider::types;

struct Buffer {
  std::unique_ptr<unsigned char, decltype(&std::free)> data{nullptr, &std::free};
  std::int64_t size = 0;
  explicit Buffer(std::int64_t bytes, unsigned char fill = 0) : size(bytes) {
    const auto rounded = static_cast<std::size_t>((std::max<std::int64_t>(bytes, 1) + 4095) / 4096 * 4096);
    data.reset(static_cast<unsigned char*>(std::aligned_alloc(4096, rounded)));
    if (!data) {
      std::fprintf(stderr, "out of memory (%lld bytes)\n", static_cast<long long>(bytes));
      std::exit(2);
    }
    std::memset(data.get(), fill, rounded);
  }
  unsigned char* get() const { return data.get(); }
};

// Calls fn(offset, bytes) for every block of `count` elements, in pack order.
template <class Fn>
void for_each_block(const types::Layout& l, std::int64_t count, Fn&& fn) {
  std::int64_t outer_total = 1;
  for (const auto& d : l.outer) outer_total *= d.count;
  for (std::int64_t e = 0; e < count; ++e) {
    for (std::int64_t o = 0; o < outer_total; ++o) {
      std::int64_t rest = o, base = e * l.extent;
      for (const auto& d : l.outer) {
        base += (rest % d.count) * d.stride;
        rest /= d.count;
      }
      for (const auto& p : l.pieces) {
        std::int64_t blocks = 1;
        for (const auto& d : p.dims) blocks *= d.count;
        for (std::int64_t b = 0; b < blocks; ++b) {
          std::int64_t r = b, off = base + p.offset;
          for (const auto& d : p.dims) {
            off += (r % d.count) * d.stride;
            r /= d.count;
          }
          fn(off, p.bytes);
        }
      }
    }
  }
}

// The distinct 64-byte lines of the strided side, in the order a pack first touches them, as
// offsets from `base` rounded down to their line (found with a bitmap over the span).
std::vector<std::int64_t> strided_lines(const types::Layout& l, std::int64_t count, std::uintptr_t base,
                                        std::int64_t lo, std::int64_t hi) {
  const std::int64_t first_line = static_cast<std::int64_t>((base + static_cast<std::uintptr_t>(lo)) / 64);
  const std::int64_t nlines = (hi - lo) / 64 + 2;
  std::vector<std::uint64_t> bits(static_cast<std::size_t>(nlines / 64 + 1));
  std::vector<std::int64_t> lines;
  for_each_block(l, count, [&](std::int64_t off, std::int64_t bytes) {
    const auto a = static_cast<std::int64_t>((base + static_cast<std::uintptr_t>(off)) / 64) - first_line;
    const auto z = static_cast<std::int64_t>((base + static_cast<std::uintptr_t>(off + bytes - 1)) / 64) - first_line;
    for (std::int64_t line = a; line <= z; ++line) {
      auto& word = bits[static_cast<std::size_t>(line / 64)];
      const std::uint64_t bit = std::uint64_t{1} << (line % 64);
      if ((word & bit) == 0) {
        word |= bit;
        lines.push_back((first_line + line) * 64 - static_cast<std::int64_t>(base));
      }
    }
  });
  return lines;
}

// The line-read floor: one 8-byte load from each touched line of the strided side, in pack
// order, from a list of their offsets. Any pack has to load every one of those lines, so its
// time is a floor for packing that no kernel goes under by much. Where the memory system
// fetches lines that are apart slowly (on the development VM a loop reading one double every
// 128 B took 7.4-8 ns a line against 2.6-3.1 every 64 B), this floor, not memcpy's, is what
// sparse layouts can reach.
std::uint64_t read_lines(const unsigned char* base, const std::vector<std::int64_t>& lines) {
  std::uint64_t sum = 0;
  for (const std::int64_t off : lines) {
    std::uint64_t word;
    std::memcpy(&word, base + off, sizeof word);
    sum += word;
  }
  return sum;
}

struct Case {
  std::string group;  // "1d", "2d", "3d", "halo", "transpose", "struct", "indexed"
  std::string name;
  std::string spec;
  int count = 1;
  std::int64_t block = 0;  // bytes per contiguous block (0: mixed)
};

std::string fmt(const char* f, auto... args) {
  char buf[512];
  std::snprintf(buf, sizeof buf, f, args...);
  return buf;
}

// The element type and the block spelled in doubles (chars for 1-byte blocks).
std::string strided_1d(std::int64_t n, std::int64_t block, std::int64_t mult) {
  if (block == 1) return fmt("vector(%lld, 1, %lld, char)", static_cast<long long>(n), static_cast<long long>(mult));
  const std::int64_t k = block / 8;
  return fmt("vector(%lld, %lld, %lld, double)", static_cast<long long>(n),
             static_cast<long long>(k), static_cast<long long>(k * mult));
}

std::vector<Case> make_cases(bool quick) {
  std::vector<Case> cases;
  const std::vector<std::int64_t> blocks = quick ? std::vector<std::int64_t>{1, 8, 64, 4096}
                                                 : std::vector<std::int64_t>{1, 8, 64, 512, 4096};
  const std::vector<std::int64_t> sizes =
      quick ? std::vector<std::int64_t>{4 << 10, 1 << 20}
            : std::vector<std::int64_t>{4 << 10, 256 << 10, 4 << 20, 64 << 20};
  for (std::int64_t mult : {2, 16}) {
    for (std::int64_t block : blocks) {
      for (std::int64_t size : sizes) {
        const std::int64_t nb = std::max<std::int64_t>(1, size / block);
        const std::string tag = fmt("b%lld s%lldx %lldK", static_cast<long long>(block),
                                    static_cast<long long>(mult), static_cast<long long>(size >> 10));
        // 1-D
        cases.push_back({"1d", "1d " + tag, strided_1d(nb, block, mult), 1, block});
        // 2-D: rows whose pitch does not compose with the inner stride.
        const auto nx = std::max<std::int64_t>(1, static_cast<std::int64_t>(std::sqrt(static_cast<double>(nb))));
        const std::int64_t ny = std::max<std::int64_t>(1, nb / nx);
        const std::int64_t row = nx * mult * block + 64;
        cases.push_back({"2d", "2d " + tag,
                         fmt("hvector(%lld, 1, %lld, %s)", static_cast<long long>(ny),
                             static_cast<long long>(row), strided_1d(nx, block, mult).c_str()),
                         1, block});
        // 3-D
        const auto cx = std::max<std::int64_t>(1, static_cast<std::int64_t>(std::cbrt(static_cast<double>(nb))));
        const std::int64_t cy = cx;
        const std::int64_t cz = std::max<std::int64_t>(1, nb / (cx * cy));
        const std::int64_t row3 = cx * mult * block + 64;
        const std::int64_t plane = cy * row3 + 128;
        cases.push_back({"3d", "3d " + tag,
                         fmt("hvector(%lld, 1, %lld, hvector(%lld, 1, %lld, %s))",
                             static_cast<long long>(cz), static_cast<long long>(plane),
                             static_cast<long long>(cy), static_cast<long long>(row3),
                             strided_1d(cx, block, mult).c_str()),
                         1, block});
      }
    }
  }
  // 3-D halo faces (width 1) of an N^3 cube of doubles, each axis, C and Fortran order.
  const std::vector<int> edges = quick ? std::vector<int>{32, 128} : std::vector<int>{32, 128, 320};
  for (int n : edges) {
    for (const char* order : {"C", "F"}) {
      for (int axis = 0; axis < 3; ++axis) {
        int sub[3] = {n, n, n};
        int start[3] = {0, 0, 0};
        sub[axis] = 1;
        start[axis] = n - 1;
        // Block length: 8 B for the face across the fastest axis (last in C, first in F), a
        // row for the middle axis, the whole contiguous plane for the slowest.
        const int k = order[0] == 'C' ? 2 - axis : axis;
        const std::int64_t block = k == 0 ? 8 : (k == 1 ? 8LL * n : 8LL * n * n);
        cases.push_back({"halo", fmt("halo n%d %s axis%d", n, order, axis),
                         fmt("subarray([%d, %d, %d], [%d, %d, %d], [%d, %d, %d], %s, double)", n, n,
                             n, sub[0], sub[1], sub[2], start[0], start[1], start[2], order),
                         1, block});
      }
    }
  }
  // Transposing layouts: consecutive blocks far apart, the next column adjacent. The
  // resized-column idiom over an N x N matrix of doubles (and of floats), and the x-z transpose
  // of an N^3 cube (x fastest in the packed order, 8 B apart in memory along z).
  const std::vector<int> sides = quick ? std::vector<int>{32, 512} : std::vector<int>{32, 256, 1024, 2896};
  for (int n : sides) {
    cases.push_back({"transpose", fmt("transpose %dx%d double", n, n),
                     fmt("contiguous(%d, resized(0, 8, vector(%d, 1, %d, double)))", n, n, n), 1, 8});
    cases.push_back({"transpose", fmt("transpose %dx%d float", n, n),
                     fmt("contiguous(%d, resized(0, 4, vector(%d, 1, %d, float)))", n, n, n), 1, 4});
    cases.push_back({"transpose", fmt("transpose %dx%d char", n, n),
                     fmt("contiguous(%d, resized(0, 1, vector(%d, 1, %d, char)))", n, n, n), 1, 1});
    cases.push_back({"transpose", fmt("transpose %dx%d short", n, n),
                     fmt("contiguous(%d, resized(0, 2, vector(%d, 1, %d, short)))", n, n, n), 1, 2});
  }
  // The z-faces (R planes) of an N^3 array with a halo of one built the same way: the columns'
  // lines stay in L1 from one column to the next, so pack order is right for them.
  for (int n : {64, 128}) {
    for (int r : {1, 2}) {
      const long long l = n + 2;
      cases.push_back({"transpose", fmt("zface n%d r%d", n, r),
                       fmt("hvector(%d, 1, %lld, contiguous(%d, resized(0, 8, vector(%d, 1, %lld, double))))", r,
                           l * l * 8, n, n, l),
                       1, 8});
    }
  }
  const std::vector<int> cubes = quick ? std::vector<int>{16, 64} : std::vector<int>{16, 64, 256};
  for (int n : cubes) {
    const long long row = 8LL * n, plane = row * n;
    cases.push_back({"transpose", fmt("transpose xz n%d", n),
                     fmt("hvector(%d, 1, 8, hvector(%d, 1, %lld, hvector(%d, 1, %lld, double)))", n, n, row, n, plane),
                     1, 8});
  }
  // A struct (int, double, 3 floats; extent 32) and an irregular indexed type, repeated.
  const std::vector<std::int64_t> reps = quick ? std::vector<std::int64_t>{4 << 10, 1 << 20}
                                               : std::vector<std::int64_t>{4 << 10, 256 << 10, 4 << 20, 64 << 20};
  std::string lens, displs;
  {
    std::uint32_t x = 12345;
    std::int64_t at = 0;
    for (int i = 0; i < 256; ++i) {
      x = x * 1664525u + 1013904223u;
      const int len = 1 + static_cast<int>((x >> 16) % 8);
      at += 1 + static_cast<int>((x >> 8) % 4);
      lens += (i ? ", " : "") + std::to_string(len);
      displs += (i ? ", " : "") + std::to_string(at);
      at += len;
    }
  }
  for (std::int64_t size : reps) {
    cases.push_back({"struct", fmt("struct %lldK", static_cast<long long>(size >> 10)),
                     "struct([1, 1, 3], [0, 8, 16], [int, double, float])",
                     static_cast<int>(std::max<std::int64_t>(1, size / 24)), 0});
    const std::string idx = "indexed([" + lens + "], [" + displs + "], double)";
    cases.push_back({"indexed", fmt("indexed %lldK", static_cast<long long>(size >> 10)), idx,
                     static_cast<int>(std::max<std::int64_t>(1, size / (8 * 1152))), 0});
  }
  return cases;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

// Runs fn enough times per sample that a sample lasts ~`sample_s`; returns seconds per call.
struct Timer {
  int inner = 1;
  void calibrate(const std::function<void()>& fn, double sample_s) {
    fn();  // warm up: page faults, caches
    const auto t0 = Clock::now();
    fn();
    const double one = std::chrono::duration<double>(Clock::now() - t0).count();
    inner = static_cast<int>(std::clamp(sample_s / std::max(one, 1e-9), 1.0, 100000.0));
  }
  double sample(const std::function<void()>& fn) const {
    const auto t0 = Clock::now();
    for (int i = 0; i < inner; ++i) fn();
    return std::chrono::duration<double>(Clock::now() - t0).count() / inner;
  }
};

struct Result {
  Case c;
  std::int64_t packed = 0;
  std::int64_t touched = 0;
  double native_pack = 0, strider_pack = 0, native_unpack = 0, strider_unpack = 0, bound = 0;  // GB/s
  double line_read = 0;  // GB/s of packed bytes at the line-read floor (see read_lines)
  bool verified = false;
};

bool run_case(const Case& c, bool quick, Result& r) {
  r.c = c;
  auto parsed = strider::core::parse_spec(c.spec);
  if (!std::holds_alternative<strider::core::SpecNode>(parsed)) {
    std::fprintf(stderr, "bad spec %s\n", c.spec.c_str());
    return false;
  }
  MPI_Datatype type = MPI_DATATYPE_NULL;
  std::string error;
  if (strider::mpi::build_type(std::get<strider::core::SpecNode>(parsed), &type, &error) != MPI_SUCCESS) {
    std::fprintf(stderr, "cannot build %s: %s\n", c.spec.c_str(), error.c_str());
    return false;
  }
  strider::exec::type_commit(&type);
  const auto layout = types::type_cache().find(type);
  if (!layout) {
    std::fprintf(stderr, "no layout for %s\n", c.spec.c_str());
    strider::exec::type_free(&type);
    return false;
  }
  const std::int64_t count = c.count;
  const std::int64_t lo = std::min<std::int64_t>(layout->true_lb, layout->true_lb + (count - 1) * layout->extent);
  const std::int64_t hi = std::max<std::int64_t>(layout->true_lb + layout->true_extent,
                                                 layout->true_lb + layout->true_extent + (count - 1) * layout->extent);
  r.packed = count * layout->size;
  Buffer user(hi - lo + 64), other(hi - lo + 64);
  for (std::int64_t i = 0; i < user.size; ++i) user.get()[i] = static_cast<unsigned char>(i * 131 + (i >> 9));
  unsigned char* in = user.get() - lo;
  const int outsize = static_cast<int>(r.packed);
  Buffer native(r.packed), ours(r.packed);
  const std::int64_t out_lines = (r.packed + 63) / 64;
  // Rounded down to their lines, the offsets stay inside `user` (4096-aligned, whole pages).
  const std::vector<std::int64_t> lines = strided_lines(*layout, count, reinterpret_cast<std::uintptr_t>(in), lo, hi);
  r.touched = 64 * (static_cast<std::int64_t>(lines.size()) + out_lines);
  Buffer copy_src(r.touched / 2 + 64), copy_dst(r.touched / 2 + 64);

  const int n = static_cast<int>(count);
  auto native_pack = [&] {
    int pos = 0;
    strider::mpi::pack(in, n, type, native.get(), outsize, &pos, MPI_COMM_WORLD);
  };
  auto strider_pack = [&] {
    int pos = 0;
    strider::exec::pack(in, n, type, ours.get(), outsize, &pos, MPI_COMM_WORLD);
  };
  // Unpack targets start zeroed: holes must stay zero, packed bytes must land in place.
  Buffer mine(hi - lo + 64);
  unsigned char* in_other = other.get() - lo;
  unsigned char* in_mine = mine.get() - lo;
  auto native_unpack = [&] {
    int pos = 0;
    strider::mpi::unpack(native.get(), outsize, &pos, in_other, n, type, MPI_COMM_WORLD);
  };
  auto strider_unpack = [&] {
    int pos = 0;
    strider::exec::unpack(ours.get(), outsize, &pos, in_mine, n, type, MPI_COMM_WORLD);
  };
  const auto copy_bytes = static_cast<std::size_t>(r.touched / 2);
  auto bound = [&] { std::memcpy(copy_dst.get(), copy_src.get(), copy_bytes); };
  volatile std::uint64_t sink = 0;
  auto line_read = [&] { sink = sink + read_lines(in, lines); };

  native_pack();
  strider_pack();
  r.verified = std::memcmp(native.get(), ours.get(), static_cast<std::size_t>(r.packed)) == 0;
  native_unpack();
  strider_unpack();
  const auto span = static_cast<std::size_t>(user.size);
  r.verified = r.verified && std::memcmp(mine.get(), other.get(), span) == 0;

  const double sample_s = quick ? 2e-3 : 5e-3;
  const int samples = quick ? 5 : 11;
  std::vector<std::function<void()>> fns{native_pack, strider_pack, native_unpack, strider_unpack, bound, line_read};
  std::vector<Timer> timers(fns.size());
  for (std::size_t i = 0; i < fns.size(); ++i) timers[i].calibrate(fns[i], sample_s);
  std::vector<std::vector<double>> t(fns.size());
  for (int s = 0; s < samples; ++s) {
    for (std::size_t i = 0; i < fns.size(); ++i) t[i].push_back(timers[i].sample(fns[i]));
  }
  const double bytes = static_cast<double>(r.packed);
  r.native_pack = bytes / median(t[0]) / 1e9;
  r.strider_pack = bytes / median(t[1]) / 1e9;
  r.native_unpack = bytes / median(t[2]) / 1e9;
  r.strider_unpack = bytes / median(t[3]) / 1e9;
  r.bound = bytes / median(t[4]) / 1e9;
  r.line_read = bytes / median(t[5]) / 1e9;
  r.verified = r.verified && std::memcmp(mine.get(), other.get(), span) == 0;
  // The packed side must also have reached every packed byte of the source.
  int pos = 0;
  strider::mpi::pack(in_mine, n, type, ours.get(), outsize, &pos, MPI_COMM_WORLD);
  r.verified = r.verified && std::memcmp(native.get(), ours.get(), static_cast<std::size_t>(r.packed)) == 0;
  strider::exec::type_free(&type);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  bool quick = false;
  std::string json_path, filter;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--quick") {
      quick = true;
    } else if (a == "--json" && i + 1 < argc) {
      json_path = argv[++i];
    } else if (a == "--filter" && i + 1 < argc) {
      filter = argv[++i];
    } else {
      std::fprintf(stderr, "usage: %s [--quick] [--json FILE] [--filter SUBSTRING]\n", argv[0]);
      MPI_Finalize();
      return 2;
    }
  }
  std::printf("Strider pack benchmark: GB/s of packed bytes (medians); S = Strider exec::pack/unpack,\n"
              "N = native PMPI_Pack/Unpack, bound = memcpy of the touched 64-B lines, read = one load\n"
              "from each touched line of the strided side in pack order (same run)\n");
  std::printf("%-26s %9s %8s %8s %8s %8s %8s %8s %8s | %7s %7s %7s %7s %7s %s\n", "case", "packed", "N-pack",
              "S-pack", "N-unpk", "S-unpk", "bound", "read", "touch/B", "Sp/Np", "Su/Nu", "Sp/bnd", "Su/bnd", "Sp/rd",
              "ok");
  nlohmann::json out = nlohmann::json::array();
  bool all_ok = true;
  for (const Case& c : make_cases(quick)) {
    if (!filter.empty() && c.name.find(filter) == std::string::npos) continue;
    Result r;
    if (!run_case(c, quick, r)) {
      all_ok = false;
      continue;
    }
    all_ok = all_ok && r.verified;
    std::printf("%-26s %8lldK %8.2f %8.2f %8.2f %8.2f %8.2f %8.2f %8.2f | %7.2f %7.2f %7.2f %7.2f %7.2f %s\n",
                c.name.c_str(), static_cast<long long>(r.packed >> 10), r.native_pack, r.strider_pack,
                r.native_unpack, r.strider_unpack, r.bound, r.line_read,
                static_cast<double>(r.touched) / static_cast<double>(r.packed),
                r.strider_pack / r.native_pack, r.strider_unpack / r.native_unpack,
                r.strider_pack / r.bound, r.strider_unpack / r.bound, r.strider_pack / r.line_read,
                r.verified ? "yes" : "NO");
    std::fflush(stdout);
    out.push_back({{"group", c.group},
                   {"case", c.name},
                   {"spec", c.spec},
                   {"count", c.count},
                   {"block_bytes", c.block},
                   {"packed_bytes", r.packed},
                   {"touched_bytes", r.touched},
                   {"gbps", {{"native_pack", r.native_pack},
                             {"strider_pack", r.strider_pack},
                             {"native_unpack", r.native_unpack},
                             {"strider_unpack", r.strider_unpack},
                             {"memcpy_bound", r.bound},
                             {"line_read_floor", r.line_read}}},
                   {"ratio", {{"pack_vs_native", r.strider_pack / r.native_pack},
                              {"unpack_vs_native", r.strider_unpack / r.native_unpack},
                              {"pack_vs_bound", r.strider_pack / r.bound},
                              {"unpack_vs_bound", r.strider_unpack / r.bound},
                              {"pack_vs_line_read", r.strider_pack / r.line_read}}},
                   {"verified", r.verified}});
  }
  if (!json_path.empty()) {
    std::ofstream f(json_path);
    f << nlohmann::json{{"benchmark", "pack"}, {"quick", quick}, {"statistic", "median"},
                        {"strider_path", "exec::pack/exec::unpack (MPI_Pack semantics)"},
                        {"native_path", "PMPI_Pack/PMPI_Unpack via mpi::pack/unpack"},
                        {"results", out}}
             .dump(2)
      << "\n";
  }
  MPI_Finalize();
  return all_ok ? 0 : 1;
}
