// Device-mode pack benchmark: Strider's CUDA pack kernels (backend::cuda::pack) on device
// buffers, against what the copy engines and Open MPI would do, all measured in this run:
//   bound   cudaMemcpy device-to-device bandwidth applied to the bytes the pack touches
//           (distinct 32-byte sectors of the strided side plus the packed side);
//   2d      cudaMemcpy2DAsync of the same rows (2-D objects);
//   block   one cudaMemcpyAsync per contiguous block, as Open MPI's datatype engine does
//           for device buffers (2-D objects with 8-byte blocks).
//
//   strider_bench_pack_device [--quick] [--json FILE] [--filter SUBSTRING]
//
// Figures are medians over repetitions (CUDA events). Every packed result is verified against
// the reference packer on a host copy. Needs a CUDA device; without one it says so and exits 77.
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "backend/cpu/reference_pack.hpp"
#include "backend/cuda/device.hpp"
#include "backend/cuda/pack_cuda.hpp"
#include "types/layout.hpp"

namespace {

namespace types = strider::types;
namespace cuda = strider::backend::cuda;

#define BENCH_CHECK(call)                                                                          \
  do {                                                                                             \
    const cudaError_t bench_error = (call);                                                        \
    if (bench_error != cudaSuccess) {                                                              \
      std::fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #call, cudaGetErrorString(bench_error)); \
      std::exit(1);                                                                                \
    }                                                                                              \
  } while (0)

struct Object {
  std::string name;
  types::Layout layout;
  bool two_d = false;  // one block over one dim: cudaMemcpy2DAsync applies
};

types::Layout make(std::int64_t bytes, std::vector<types::Dim> dims) {
  types::Layout l;
  l.pieces = {types::Piece{0, bytes, dims}};
  std::int64_t blocks = 1;
  std::int64_t hi = bytes;
  for (const auto& d : dims) {
    blocks *= d.count;
    hi += (d.count - 1) * d.stride;
  }
  l.size = bytes * blocks;
  l.extent = l.true_extent = hi;
  return l;
}

std::vector<Object> objects(bool quick) {
  std::vector<Object> out;
  const std::int64_t target = quick ? (4 << 20) : (32 << 20);  // packed bytes per object
  for (std::int64_t n : {std::int64_t{4} << 10, std::int64_t{1} << 20, target})
    out.push_back({"1d " + std::to_string(n) + "B", make(n, {}), false});
  for (std::int64_t block : {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096})
    for (int factor : {2, 16}) {
      const std::int64_t rows = std::max<std::int64_t>(1, std::min<std::int64_t>(target / block, (256 << 20) / (block * factor)));
      out.push_back({"2d b" + std::to_string(block) + " s" + std::to_string(factor) + "x",
                     make(block, {{rows, block * factor}}), true});
    }
  for (std::int64_t block : {8, 64, 512})
    for (int factor : {2, 16}) {
      const std::int64_t n0 = 64;
      const std::int64_t n1 = std::max<std::int64_t>(1, std::min<std::int64_t>(target / (block * n0), (256 << 20) / (block * factor * n0 * 2)));
      out.push_back({"3d b" + std::to_string(block) + " s" + std::to_string(factor) + "x",
                     make(block, {{n0, block * factor}, {n1, block * factor * n0 * 2}}), false});
    }
  // Faces of a 3-D grid of doubles with a halo of 1 (x fastest).
  const std::int64_t nx = quick ? 256 : 512;
  const std::int64_t ny = nx;
  const std::int64_t nz = quick ? 64 : 128;
  out.push_back({"halo x-face", make(8, {{ny, nx * 8}, {nz, nx * ny * 8}}), false});
  out.push_back({"halo y-face", make(nx * 8, {{nz, nx * ny * 8}}), true});
  out.push_back({"halo z-face", make(nx * ny * 8, {}), false});
  return out;
}

// Distinct 32-byte sectors the strided side touches plus the packed side's.
std::int64_t touched_bytes(const types::Layout& l) {
  const types::Piece& p = l.pieces.front();
  std::int64_t rows = 1;
  for (const auto& d : p.dims) rows *= d.count;
  const std::int64_t inner_stride = p.dims.empty() ? 0 : p.dims.front().stride;
  std::int64_t strided;
  if (p.dims.empty() || inner_stride < 32 + p.bytes)
    strided = ((l.true_extent + 31) / 32) * 32;  // dense: every sector of the span
  else
    // Sparse: a row's sectors, plus one where rows can straddle a sector boundary.
    strided = rows * ((p.bytes + 31) / 32 + (inner_stride % 32 == 0 && (p.bytes % 32 == 0 || p.bytes < 32) ? 0 : 1)) * 32;
  strided = std::min(strided, ((l.true_extent + 31) / 32) * 32);
  return strided + ((l.size + 31) / 32) * 32;
}

template <class Fn>
double median_ms(int reps, cudaStream_t stream, Fn&& fn) {
  cudaEvent_t start, stop;
  BENCH_CHECK(cudaEventCreate(&start));
  BENCH_CHECK(cudaEventCreate(&stop));
  fn();  // warm-up
  BENCH_CHECK(cudaStreamSynchronize(stream));
  std::vector<float> ms;
  for (int r = 0; r < reps; ++r) {
    BENCH_CHECK(cudaEventRecord(start, stream));
    fn();
    BENCH_CHECK(cudaEventRecord(stop, stream));
    BENCH_CHECK(cudaEventSynchronize(stop));
    float t = 0;
    BENCH_CHECK(cudaEventElapsedTime(&t, start, stop));
    ms.push_back(t);
  }
  BENCH_CHECK(cudaEventDestroy(start));
  BENCH_CHECK(cudaEventDestroy(stop));
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

struct Row {
  std::string name;
  std::int64_t bytes = 0, block = 0, touched = 0;
  double strider_gbs = 0, bound_gbs = 0, memcpy2d_gbs = -1, per_block_gbs = -1;
};

std::string json_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = false;
  std::string json_path, filter;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--quick") quick = true;
    else if (arg == "--json" && i + 1 < argc) json_path = argv[++i];
    else if (arg == "--filter" && i + 1 < argc) filter = argv[++i];
    else {
      std::fprintf(stderr, "usage: %s [--quick] [--json FILE] [--filter SUBSTRING]\n", argv[0]);
      return 2;
    }
  }
  if (cuda::device_count() == 0) {
    std::fprintf(stderr, "SKIP: strider_bench_pack_device: no CUDA device (or driver) found; nothing to measure\n");
    return 77;  // "skipped", as for halo3d and CTest's SKIP_RETURN_CODE
  }
  const int reps = quick ? 5 : 20;
  cudaStream_t stream;
  BENCH_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  cudaDeviceProp prop{};
  int device = 0;
  BENCH_CHECK(cudaGetDevice(&device));
  BENCH_CHECK(cudaGetDeviceProperties(&prop, device));

  // Device-to-device copy bandwidth (read + write counted once each, like touched_bytes).
  const std::size_t copy_bytes = std::size_t{256} << 20;
  void *a = nullptr, *b = nullptr;
  BENCH_CHECK(cudaMalloc(&a, copy_bytes));
  BENCH_CHECK(cudaMalloc(&b, copy_bytes));
  const double copy_ms = median_ms(reps, stream, [&] {
    BENCH_CHECK(cudaMemcpyAsync(b, a, copy_bytes, cudaMemcpyDeviceToDevice, stream));
  });
  BENCH_CHECK(cudaFree(a));
  BENCH_CHECK(cudaFree(b));
  const double copy_gbs = 2.0 * static_cast<double>(copy_bytes) / (copy_ms * 1e6);  // bytes moved
  std::printf("device %s: cudaMemcpy D2D %.1f GB/s (read + write)\n\n", prop.name, copy_gbs);
  std::printf("%-18s %10s %9s %9s %7s %9s %9s\n", "object", "packed", "strider", "bound", "%bound", "2d-copy",
              "per-block");

  std::vector<Row> rows;
  for (const Object& o : objects(quick)) {
    if (!filter.empty() && o.name.find(filter) == std::string::npos) continue;
    const types::Layout& l = o.layout;
    Row row;
    row.name = o.name;
    row.bytes = l.size;
    row.block = l.pieces.front().bytes;
    row.touched = touched_bytes(l);
    void *d_in = nullptr, *d_out = nullptr, *workspace = nullptr;
    BENCH_CHECK(cudaMalloc(&d_in, static_cast<std::size_t>(l.true_extent)));
    BENCH_CHECK(cudaMalloc(&d_out, static_cast<std::size_t>(l.size)));
    const std::int64_t ws = cuda::workspace_bytes(l, 1);
    if (ws > 0) BENCH_CHECK(cudaMalloc(&workspace, static_cast<std::size_t>(ws)));
    std::vector<unsigned char> host(static_cast<std::size_t>(l.true_extent));
    for (std::size_t i = 0; i < host.size(); ++i) host[i] = static_cast<unsigned char>(i * 131 + (i >> 9));
    BENCH_CHECK(cudaMemcpy(d_in, host.data(), host.size(), cudaMemcpyHostToDevice));

    bool ok = true;
    const double strider_ms = median_ms(reps, stream, [&] {
      if (auto s = cuda::pack(l, 1, d_in, d_out, workspace, stream); !s) {
        std::fprintf(stderr, "%s: pack failed: %s\n", o.name.c_str(), s.what().c_str());
        ok = false;
      }
    });
    if (auto s = cuda::synchronize(stream); !s) {
      std::fprintf(stderr, "%s: %s\n", o.name.c_str(), s.what().c_str());
      return 1;
    }
    std::vector<unsigned char> expect(static_cast<std::size_t>(l.size)), got(expect.size());
    strider::backend::cpu::reference_pack(l, 1, host.data(), expect.data());
    BENCH_CHECK(cudaMemcpy(got.data(), d_out, got.size(), cudaMemcpyDeviceToHost));
    if (!ok || got != expect) {
      std::fprintf(stderr, "%s: packed bytes differ from the reference packer\n", o.name.c_str());
      return 1;
    }
    row.strider_gbs = static_cast<double>(l.size) / (strider_ms * 1e6);
    // The bound: touched bytes at copy bandwidth, expressed as packed GB/s.
    row.bound_gbs = copy_gbs * static_cast<double>(l.size) / static_cast<double>(row.touched);
    if (o.two_d) {
      const types::Dim d = l.pieces.front().dims.empty() ? types::Dim{1, row.block} : l.pieces.front().dims.front();
      const double ms = median_ms(reps, stream, [&] {
        BENCH_CHECK(cudaMemcpy2DAsync(d_out, static_cast<std::size_t>(row.block), d_in, static_cast<std::size_t>(d.stride),
                                      static_cast<std::size_t>(row.block), static_cast<std::size_t>(d.count),
                                      cudaMemcpyDeviceToDevice, stream));
      });
      row.memcpy2d_gbs = static_cast<double>(l.size) / (ms * 1e6);
      if (row.block == 8 && d.count <= (quick ? (1 << 14) : (1 << 17))) {
        const double per = median_ms(quick ? 2 : 3, stream, [&] {
          for (std::int64_t r = 0; r < d.count; ++r)
            BENCH_CHECK(cudaMemcpyAsync(static_cast<char*>(d_out) + r * 8, static_cast<const char*>(d_in) + r * d.stride, 8,
                                        cudaMemcpyDeviceToDevice, stream));
        });
        row.per_block_gbs = static_cast<double>(l.size) / (per * 1e6);
      }
    }
    BENCH_CHECK(cudaFree(d_in));
    BENCH_CHECK(cudaFree(d_out));
    if (workspace != nullptr) BENCH_CHECK(cudaFree(workspace));
    auto cell = [](double v) {
      char text[32] = "-";
      if (v >= 0) std::snprintf(text, sizeof text, "%.1f", v);
      return std::string(text);
    };
    std::printf("%-18s %10lld %9.1f %9.1f %6.0f%% %9s %9s\n", row.name.c_str(), static_cast<long long>(row.bytes),
                row.strider_gbs, row.bound_gbs, 100.0 * row.strider_gbs / row.bound_gbs, cell(row.memcpy2d_gbs).c_str(),
                cell(row.per_block_gbs).c_str());
    rows.push_back(row);
  }
  BENCH_CHECK(cudaStreamDestroy(stream));

  if (!json_path.empty()) {
    FILE* f = std::fopen(json_path.c_str(), "w");
    if (f == nullptr) {
      std::fprintf(stderr, "cannot write %s\n", json_path.c_str());
      return 1;
    }
    std::fprintf(f, "{\n  \"benchmark\": \"pack_device\",\n  \"device\": \"%s\",\n  \"d2d_copy_gbs\": %.3f,\n  \"rows\": [\n",
                 json_escape(prop.name).c_str(), copy_gbs);
    for (std::size_t i = 0; i < rows.size(); ++i) {
      const Row& r = rows[i];
      std::fprintf(f,
                   "    {\"object\": \"%s\", \"packed_bytes\": %lld, \"block_bytes\": %lld, \"touched_bytes\": %lld, "
                   "\"strider_gbs\": %.3f, \"bound_gbs\": %.3f, \"fraction_of_bound\": %.4f, \"memcpy2d_gbs\": %s, "
                   "\"per_block_memcpy_gbs\": %s}%s\n",
                   json_escape(r.name).c_str(), static_cast<long long>(r.bytes), static_cast<long long>(r.block),
                   static_cast<long long>(r.touched), r.strider_gbs, r.bound_gbs, r.strider_gbs / r.bound_gbs,
                   r.memcpy2d_gbs < 0 ? "null" : std::to_string(r.memcpy2d_gbs).c_str(),
                   r.per_block_gbs < 0 ? "null" : std::to_string(r.per_block_gbs).c_str(),
                   i + 1 < rows.size() ? "," : "");
    }
    std::fprintf(f, "  ]\n}\n");
    std::fclose(f);
  }
  return 0;
}
