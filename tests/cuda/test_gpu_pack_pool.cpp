// The CUDA pack engine on a real device: random datatypes packed and unpacked between device
// buffers by backend::cuda::pack/unpack, against PMPI_Pack/PMPI_Unpack on host copies of the
// same bytes; plus pointer classification and the staging pools on device memory. Exits 77
// (CTest: skipped) when no device is present, before touching MPI.
//   STRIDER_FUZZ_SEED / STRIDER_FUZZ_FIRST / STRIDER_FUZZ_ITERS (default 2000) replay cases.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
#include <cuda_runtime.h>
#include <mpi.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "backend/cuda/device.hpp"
#include "backend/cuda/pack_cuda.hpp"
#include "memory/classify.hpp"
#include "memory/pool.hpp"
#include "mpi/type_builder.hpp"
#include "random_types.hpp"
#include "test_env.hpp"
#include "types/canonicalize.hpp"
#include "types/decode.hpp"

namespace {

using strider::test::env_or;
using strider::test::fill_pattern;

namespace cuda = strider::backend::cuda;

// A device allocation that frees itself (test code: errors are REQUIREd by the caller).
struct DeviceBuffer {
  void* ptr = nullptr;
  std::size_t bytes = 0;
  explicit DeviceBuffer(std::size_t n) : bytes(n) {
    if (cudaMalloc(&ptr, n == 0 ? 1 : n) != cudaSuccess) ptr = nullptr;
  }
  ~DeviceBuffer() {
    if (ptr != nullptr) (void)cudaFree(ptr);
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  unsigned char* at(std::int64_t offset) const { return static_cast<unsigned char*>(ptr) + offset; }
};

std::string check_case(const strider::core::SpecNode& spec, std::mt19937_64& rng, cudaStream_t stream) {
  MPI_Datatype type = MPI_DATATYPE_NULL;
  std::string error;
  if (strider::mpi::build_type(spec, &type, &error) != MPI_SUCCESS) return "build failed: " + error;
  if (!strider::mpi::is_predefined(type)) PMPI_Type_commit(&type);
  const auto canon = strider::types::canonicalize(*strider::types::decode(type));
  std::string failure;
  if (!canon.layout) {
    if (canon.reason.find("MPI reports true bounds") == std::string::npos) failure = "no layout: " + canon.reason;
    strider::mpi::free_built_type(&type);
    return failure;
  }
  const strider::types::Layout& layout = *canon.layout;
  const int incount = static_cast<int>(rng() % 4);
  const int position0 = static_cast<int>(rng() % 17);
  const int user_shift = static_cast<int>(rng() % 16);
  const bool empty = layout.size == 0 || incount == 0;
  const std::int64_t last = (incount > 0 ? incount - 1 : 0) * layout.extent;
  const std::int64_t lo = empty ? 0 : std::min<std::int64_t>({0, layout.true_lb, layout.true_lb + last});
  const std::int64_t hi = empty ? 1
                                : std::max<std::int64_t>({1, layout.true_lb + layout.true_extent,
                                                          layout.true_lb + layout.true_extent + last});
  const std::int64_t base_at = 64 + user_shift - lo;
  std::vector<unsigned char> user(static_cast<std::size_t>(hi - lo + 160));
  fill_pattern(user, rng());

  int packed_size = 0;
  PMPI_Pack_size(incount, type, MPI_COMM_WORLD, &packed_size);
  const std::size_t out_bytes = static_cast<std::size_t>(packed_size + position0 + 16);
  std::vector<unsigned char> native(out_bytes, 0xA5), ours(out_bytes, 0);
  int position = position0;
  PMPI_Pack(user.data() + base_at, incount, type, native.data(), static_cast<int>(out_bytes), &position,
            MPI_COMM_WORLD);

  DeviceBuffer d_user(user.size()), d_packed(out_bytes),
      workspace(static_cast<std::size_t>(cuda::workspace_bytes(layout, incount)));
  if (d_user.ptr == nullptr || d_packed.ptr == nullptr || workspace.ptr == nullptr) return "cudaMalloc failed";
  std::vector<unsigned char> fresh(out_bytes, 0xA5);
  if (cudaMemcpy(d_user.ptr, user.data(), user.size(), cudaMemcpyHostToDevice) != cudaSuccess ||
      cudaMemcpy(d_packed.ptr, fresh.data(), out_bytes, cudaMemcpyHostToDevice) != cudaSuccess)
    return "cudaMemcpy to device failed";
  if (auto s = cuda::pack(layout, incount, d_user.at(base_at), d_packed.at(position0), workspace.ptr, stream); !s)
    failure = "pack: " + s.what();
  else if (auto w = cuda::synchronize(stream); !w)
    failure = "pack sync: " + w.what();
  else if (cudaMemcpy(ours.data(), d_packed.ptr, out_bytes, cudaMemcpyDeviceToHost) != cudaSuccess)
    failure = "cudaMemcpy from device failed";
  else if (ours != native)
    failure = "packed bytes differ (incount " + std::to_string(incount) + ", position " + std::to_string(position0) +
              ", shift " + std::to_string(user_shift) + ")";
  else if (!layout.overlaps()) {
    std::vector<unsigned char> native_user(user.size());
    fill_pattern(native_user, rng());
    std::vector<unsigned char> our_user(user.size());
    if (cudaMemcpy(d_user.ptr, native_user.data(), user.size(), cudaMemcpyHostToDevice) != cudaSuccess)
      return "cudaMemcpy to device failed";
    int in_position = position0;
    PMPI_Unpack(native.data(), static_cast<int>(out_bytes), &in_position, native_user.data() + base_at, incount,
                type, MPI_COMM_WORLD);
    if (auto u = cuda::unpack(layout, incount, d_packed.at(position0), d_user.at(base_at), workspace.ptr, stream); !u)
      failure = "unpack: " + u.what();
    else if (auto v = cuda::synchronize(stream); !v)
      failure = "unpack sync: " + v.what();
    else if (cudaMemcpy(our_user.data(), d_user.ptr, user.size(), cudaMemcpyDeviceToHost) != cudaSuccess)
      failure = "cudaMemcpy from device failed";
    else if (our_user != native_user)
      failure = "unpacked bytes differ (incount " + std::to_string(incount) + ")";
  }
  if (!failure.empty()) failure += "\nlayout: " + strider::types::to_string(layout);
  strider::mpi::free_built_type(&type);
  return failure;
}

}  // namespace

TEST_CASE("random datatypes pack and unpack on the device byte for byte as the underlying MPI does",
          "[gpu]") {
  const std::uint64_t seed = env_or("STRIDER_FUZZ_SEED", 20261124);
  const std::uint64_t first = env_or("STRIDER_FUZZ_FIRST", 0);
  const std::uint64_t iterations = env_or("STRIDER_FUZZ_ITERS", 2000);
  strider::test::RandomTypeOptions options;
  options.max_extent = 4 << 20;
  options.max_packed_bytes = 1 << 20;
  cudaStream_t stream = nullptr;
  REQUIRE(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking) == cudaSuccess);
  std::uint64_t failures = 0;
  for (std::uint64_t i = first; i < first + iterations; ++i) {
    std::mt19937_64 rng(seed * 1000003ULL + i);
    const auto spec = strider::test::random_type(rng, options);
    std::string failure;
    try {
      failure = check_case(spec, rng, stream);
    } catch (const std::exception& e) {
      failure = std::string("exception: ") + e.what();
    }
    if (!failure.empty() && ++failures <= 5)
      FAIL_CHECK("seed " << seed << " index " << i << "\nspec: " << strider::test::spec_string(spec) << "\n"
                         << failure);
  }
  std::printf("gpu pack pool: %llu random types (seed %llu), %llu failures\n",
              static_cast<unsigned long long>(iterations), static_cast<unsigned long long>(seed),
              static_cast<unsigned long long>(failures));
  CHECK(cudaStreamDestroy(stream) == cudaSuccess);
  CHECK(failures == 0);
}

TEST_CASE("device, mapped and host pointers classify with their device and are cached", "[gpu]") {
  namespace memory = strider::memory;
  DeviceBuffer device(1 << 20);
  REQUIRE(device.ptr != nullptr);
  int current = -1;
  REQUIRE(cudaGetDevice(&current) == cudaSuccess);
  const auto info = memory::query(device.at(12345));
  CHECK(info.kind == memory::Kind::device);
  CHECK(info.device == current);
  const auto before = memory::classify_stats();
  CHECK(memory::classify(device.at(1000)) == memory::Kind::device);  // same allocation: cached
  CHECK(memory::classify_stats().driver_calls == before.driver_calls);

  void* managed = nullptr;
  REQUIRE(cudaMallocManaged(&managed, 4096) == cudaSuccess);
  CHECK(memory::classify(managed) == memory::Kind::managed);
  memory::forget(managed, 4096);
  CHECK(cudaFree(managed) == cudaSuccess);

  std::vector<unsigned char> host(4096);
  CHECK(memory::classify(host.data()) == memory::Kind::host);
  CHECK(memory::classify(host.data() + 8) == memory::Kind::host);

  memory::StagingBuffer staging;
  REQUIRE(memory::acquire(memory::PoolKind::mapped, current, 1000, &staging).is_ok());
  CHECK(staging.bytes >= 1000);
  CHECK(staging.device_ptr != nullptr);
  CHECK(memory::classify(staging.ptr) == memory::Kind::mapped);
  void* first = staging.ptr;
  memory::release(staging);
  REQUIRE(memory::acquire(memory::PoolKind::mapped, current, 2000, &staging).is_ok());
  CHECK(staging.ptr == first);  // recycled
  memory::release(staging);
  REQUIRE(memory::acquire(memory::PoolKind::device, current, 1 << 20, &staging).is_ok());
  CHECK(memory::classify(staging.ptr) == memory::Kind::device);
  memory::release(staging);
  CHECK(memory::trim().is_ok());
  CHECK(memory::pool_stats().pooled_bytes == 0);
}

TEST_CASE("zero counts launch nothing on the device", "[gpu]") {
  strider::types::Layout layout;
  layout.pieces = {strider::types::Piece{0, 8, {{4, 16}}}};
  layout.size = 32;
  layout.extent = layout.true_extent = 56;
  CHECK(cuda::pack(layout, 0, nullptr, nullptr, nullptr, nullptr).is_ok());
  CHECK(cuda::unpack(layout, 0, nullptr, nullptr, nullptr, nullptr).is_ok());
  CHECK(cuda::synchronize(nullptr).is_ok());
}

int main(int argc, char** argv) {
  if (cuda::device_count() == 0) {
    std::printf("no CUDA device: skipped\n");
    return 77;
  }
  int provided = 0;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
  Catch::Session session;
  int failed = session.applyCommandLine(argc, argv);
  if (failed == 0) failed = session.run();
  MPI_Finalize();
  return failed != 0 ? 1 : 0;
}
