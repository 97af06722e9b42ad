// Strider's device paths on a real device, through the interposed MPI_* calls (the program is
// linked with libstrider.so ahead of libmpi; PMPI_* reach the underlying MPI, the oracle):
//   * MPI_Pack / MPI_Unpack with device buffers (device to device, device to host, host to
//     device) over random datatypes, byte for byte against PMPI_Pack / PMPI_Unpack of host
//     copies;
//   * two ranks: device sends and receives (blocking, nonblocking, partial messages) with the
//     method STRIDER_METHOD forces (one CTest entry per method), against a native host
//     transfer of the same data.
// Exits 77 (CTest: skipped) without a device, before touching MPI. `--probe` only answers
// that question (0: a device is present), for the multi-rank entries.
//   STRIDER_FUZZ_SEED / STRIDER_FUZZ_ITERS (default 300) replay cases.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
#include <cuda_runtime.h>
#include <mpi.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "mpi/type_builder.hpp"
#include "random_types.hpp"
#include "test_env.hpp"

namespace {

using strider::test::env_or;
using strider::test::fill_pattern;

struct DeviceBuffer {
  void* ptr = nullptr;
  explicit DeviceBuffer(std::size_t n) {
    if (cudaMalloc(&ptr, n == 0 ? 1 : n) != cudaSuccess) ptr = nullptr;
  }
  ~DeviceBuffer() {
    if (ptr != nullptr) (void)cudaFree(ptr);
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  unsigned char* at(std::int64_t offset) const { return static_cast<unsigned char*>(ptr) + offset; }
};

void to_device(const DeviceBuffer& d, const std::vector<unsigned char>& h) {
  REQUIRE(cudaMemcpy(d.ptr, h.data(), h.size(), cudaMemcpyHostToDevice) == cudaSuccess);
}
std::vector<unsigned char> from_device(const DeviceBuffer& d, std::size_t n) {
  std::vector<unsigned char> h(n);
  REQUIRE(cudaMemcpy(h.data(), d.ptr, n, cudaMemcpyDeviceToHost) == cudaSuccess);
  return h;
}

// A committed random type and the span `count` elements of it cover.
struct Case {
  MPI_Datatype type = MPI_DATATYPE_NULL;
  std::int64_t size = 0, lo = 0, hi = 0;
  int count = 0;
  std::string spec;
  ~Case() {
    if (type != MPI_DATATYPE_NULL) strider::mpi::free_built_type(&type);
  }
  std::size_t span() const { return static_cast<std::size_t>(hi - lo); }
};

// False: the type is not usable here (build failure, empty, overlapping); try another.
bool make_case(std::mt19937_64& rng, Case& c) {
  strider::test::RandomTypeOptions options;
  options.max_packed_bytes = 1 << 20;
  options.max_extent = 8 << 20;
  const auto t = strider::test::random_type_with_bounds(rng, options);
  c.spec = strider::test::spec_string(t.spec);
  c.count = 1 + static_cast<int>(rng() % 3);
  std::string error;
  if (strider::mpi::build_type(t.spec, &c.type, &error) != MPI_SUCCESS) return false;
  if (!strider::mpi::is_predefined(c.type)) MPI_Type_commit(&c.type);  // through Strider
  int size = 0;
  MPI_Aint lb = 0, extent = 0, true_lb = 0, true_extent = 0;
  PMPI_Type_size(c.type, &size);
  PMPI_Type_get_extent(c.type, &lb, &extent);
  PMPI_Type_get_true_extent(c.type, &true_lb, &true_extent);
  if (size <= 0 || t.bounds.may_overlap) return false;
  c.size = size;
  const std::int64_t last = static_cast<std::int64_t>(c.count - 1) * extent;
  c.lo = std::min<std::int64_t>({0, true_lb, true_lb + last});
  c.hi = std::max<std::int64_t>({1, true_lb + true_extent, true_lb + true_extent + last});
  return true;
}

int rank_of() {
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  return rank;
}
int size_of() {
  int size = 0;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  return size;
}

}  // namespace

TEST_CASE("MPI_Pack and MPI_Unpack with device buffers match PMPI_Pack of host copies", "[gpu]") {
  const std::uint64_t seed = env_or("STRIDER_FUZZ_SEED", 20240611) + static_cast<std::uint64_t>(rank_of());
  const std::uint64_t iters = env_or("STRIDER_FUZZ_ITERS", 300);
  std::mt19937_64 rng(seed);
  std::uint64_t checked = 0;
  for (std::uint64_t i = 0; i < iters; ++i) {
    Case c;
    if (!make_case(rng, c)) continue;
    INFO("seed " << seed << " index " << i << " spec " << c.spec << " count " << c.count);
    std::vector<unsigned char> user(c.span());
    fill_pattern(user, seed + i);
    DeviceBuffer d_user(c.span());
    REQUIRE(d_user.ptr != nullptr);
    to_device(d_user, user);
    int packed_size = 0;
    REQUIRE(PMPI_Pack_size(c.count, c.type, MPI_COMM_WORLD, &packed_size) == MPI_SUCCESS);
    const int start = static_cast<int>(rng() % 17);
    const int room = packed_size + start;
    std::vector<unsigned char> oracle(static_cast<std::size_t>(room), 0);
    int oracle_position = start;
    REQUIRE(PMPI_Pack(user.data() - c.lo, c.count, c.type, oracle.data(), room, &oracle_position, MPI_COMM_WORLD) ==
            MPI_SUCCESS);

    // Device to device, device to host, host to device.
    DeviceBuffer d_packed(static_cast<std::size_t>(room));
    REQUIRE(d_packed.ptr != nullptr);
    to_device(d_packed, std::vector<unsigned char>(static_cast<std::size_t>(room), 0));
    int position = start;
    REQUIRE(MPI_Pack(d_user.at(-c.lo), c.count, c.type, d_packed.ptr, room, &position, MPI_COMM_WORLD) == MPI_SUCCESS);
    CHECK(position == oracle_position);
    CHECK(from_device(d_packed, static_cast<std::size_t>(room)) == oracle);

    std::vector<unsigned char> h_packed(static_cast<std::size_t>(room), 0);
    position = start;
    REQUIRE(MPI_Pack(d_user.at(-c.lo), c.count, c.type, h_packed.data(), room, &position, MPI_COMM_WORLD) ==
            MPI_SUCCESS);
    CHECK(position == oracle_position);
    CHECK(h_packed == oracle);

    to_device(d_packed, std::vector<unsigned char>(static_cast<std::size_t>(room), 0));
    position = start;
    REQUIRE(MPI_Pack(user.data() - c.lo, c.count, c.type, d_packed.ptr, room, &position, MPI_COMM_WORLD) ==
            MPI_SUCCESS);
    CHECK(position == oracle_position);
    CHECK(from_device(d_packed, static_cast<std::size_t>(room)) == oracle);

    // Unpack into a differently filled buffer: what is not in the typemap stays as it was.
    std::vector<unsigned char> background(c.span());
    fill_pattern(background, ~(seed + i));
    std::vector<unsigned char> expected = background;
    position = start;
    REQUIRE(PMPI_Unpack(oracle.data(), room, &position, expected.data() - c.lo, c.count, c.type, MPI_COMM_WORLD) ==
            MPI_SUCCESS);
    // Host packed bytes to device elements, device packed bytes to device elements.
    for (int from_device_bytes = 0; from_device_bytes < 2; ++from_device_bytes) {
      to_device(d_user, background);
      to_device(d_packed, oracle);
      const void* in = from_device_bytes != 0 ? d_packed.ptr : static_cast<const void*>(oracle.data());
      position = start;
      REQUIRE(MPI_Unpack(in, room, &position, d_user.at(-c.lo), c.count, c.type, MPI_COMM_WORLD) == MPI_SUCCESS);
      CHECK(position == oracle_position);
      CHECK(from_device(d_user, c.span()) == expected);
    }
    // Device packed bytes to host elements.
    std::vector<unsigned char> host_out = background;
    position = start;
    REQUIRE(MPI_Unpack(d_packed.ptr, room, &position, host_out.data() - c.lo, c.count, c.type, MPI_COMM_WORLD) ==
            MPI_SUCCESS);
    CHECK(host_out == expected);
    ++checked;
  }
  CHECK(checked > iters / 4);
}

// Rank `from` sends `count` elements from a device buffer with MPI_Send / MPI_Isend (through
// Strider), and the same data natively from a host copy; rank `to` receives the first with
// MPI_Recv / MPI_Irecv into a device buffer, the second with PMPI_Recv into a host buffer of
// the same background. The two results must be equal.
TEST_CASE("device point-to-point with the forced method matches a native host transfer", "[gpu]") {
  if (size_of() < 2) return;
  const int rank = rank_of();
  const std::uint64_t seed = env_or("STRIDER_FUZZ_SEED", 777);
  const std::uint64_t iters = env_or("STRIDER_FUZZ_ITERS", 300) / 3;
  std::mt19937_64 rng(seed);  // the same sequence of types on both ranks
  for (std::uint64_t i = 0; i < iters; ++i) {
    Case c;
    if (!make_case(rng, c)) continue;
    const int from = static_cast<int>(i % 2);
    const int to = 1 - from;
    const bool nonblocking = (i / 2) % 2 == 1;
    // 0: whole message; 1: fewer elements than posted; 2: a message ending inside an element.
    const int shape = static_cast<int>(i % 3);
    INFO("seed " << seed << " index " << i << " spec " << c.spec << " count " << c.count << " shape " << shape);
    std::vector<unsigned char> data(c.span());
    fill_pattern(data, seed * 31 + i);
    std::vector<unsigned char> background(c.span());
    fill_pattern(background, seed * 17 + i);
    const int tag = static_cast<int>(i % 1000);
    if (rank == from) {
      DeviceBuffer d(c.span());
      REQUIRE(d.ptr != nullptr);
      to_device(d, data);
      if (shape == 2) {
        // Packed bytes of all but part of the last element, sent as bytes.
        int packed_size = 0;
        PMPI_Pack_size(c.count, c.type, MPI_COMM_WORLD, &packed_size);
        std::vector<unsigned char> packed(static_cast<std::size_t>(packed_size));
        int position = 0;
        PMPI_Pack(data.data() - c.lo, c.count, c.type, packed.data(), packed_size, &position, MPI_COMM_WORLD);
        const int bytes = position - 1 - static_cast<int>(rng() % static_cast<std::uint64_t>(std::min<std::int64_t>(c.size, position)));
        const int cut = std::max(bytes, 1);
        REQUIRE(PMPI_Send(packed.data(), cut, MPI_BYTE, to, tag, MPI_COMM_WORLD) == MPI_SUCCESS);
        REQUIRE(PMPI_Send(packed.data(), cut, MPI_BYTE, to, tag, MPI_COMM_WORLD) == MPI_SUCCESS);
      } else {
        const int count = shape == 1 ? std::max(1, c.count - 1) : c.count;
        if (nonblocking) {
          MPI_Request request;
          REQUIRE(MPI_Isend(d.at(-c.lo), count, c.type, to, tag, MPI_COMM_WORLD, &request) == MPI_SUCCESS);
          REQUIRE(MPI_Wait(&request, MPI_STATUS_IGNORE) == MPI_SUCCESS);
        } else {
          REQUIRE(MPI_Send(d.at(-c.lo), count, c.type, to, tag, MPI_COMM_WORLD) == MPI_SUCCESS);
        }
        REQUIRE(PMPI_Send(data.data() - c.lo, count, c.type, to, tag, MPI_COMM_WORLD) == MPI_SUCCESS);
      }
    } else {
      if (shape == 2) (void)rng();  // keep both ranks' generators in step
      DeviceBuffer d(c.span());
      REQUIRE(d.ptr != nullptr);
      to_device(d, background);
      MPI_Status status;
      if (nonblocking) {
        MPI_Request request;
        REQUIRE(MPI_Irecv(d.at(-c.lo), c.count, c.type, from, tag, MPI_COMM_WORLD, &request) == MPI_SUCCESS);
        REQUIRE(MPI_Wait(&request, &status) == MPI_SUCCESS);
      } else {
        REQUIRE(MPI_Recv(d.at(-c.lo), c.count, c.type, from, tag, MPI_COMM_WORLD, &status) == MPI_SUCCESS);
      }
      std::vector<unsigned char> expected = background;
      MPI_Status native;
      REQUIRE(PMPI_Recv(expected.data() - c.lo, c.count, c.type, from, tag, MPI_COMM_WORLD, &native) == MPI_SUCCESS);
      int got = 0, want = 0;
      PMPI_Get_count(&status, MPI_BYTE, &got);
      PMPI_Get_count(&native, MPI_BYTE, &want);
      CHECK(got == want);
      CHECK(from_device(d, c.span()) == expected);
    }
  }
  MPI_Barrier(MPI_COMM_WORLD);
}

int main(int argc, char** argv) {
  int devices = 0;
  if (cudaGetDeviceCount(&devices) != cudaSuccess) devices = 0;
  if (argc > 1 && std::strcmp(argv[1], "--probe") == 0) return devices > 0 ? 0 : 77;
  if (devices == 0) {
    std::printf("no CUDA device: skipped\n");
    return 77;
  }
  MPI_Init(&argc, &argv);
  const int result = Catch::Session().run(argc, argv);
  MPI_Finalize();
  return result == 0 ? 0 : 1;
}
