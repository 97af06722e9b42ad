// plan::choose_p2p / choose_pack for device buffers: the built-in device rule, forced methods
// and forced methods a device buffer or a plain MPI cannot use. No MPI, no GPU.
#include <catch2/catch.hpp>

#include <cstdint>

#include "plan/method.hpp"
#include "types/layout.hpp"

namespace {

using strider::core::Method;
using strider::core::MethodChoice;
namespace plan = strider::plan;
namespace types = strider::types;
namespace memory = strider::memory;

// `n` blocks of `block` bytes, each `stride` bytes after the previous.
types::Layout strided(std::int64_t n, std::int64_t block, std::int64_t stride) {
  types::Layout l;
  types::Piece p;
  p.bytes = block;
  if (n > 1) p.dims.push_back({n, stride});
  l.pieces.push_back(p);
  l.size = n * block;
  l.extent = l.true_extent = (n - 1) * stride + block;
  types::normalize(l);
  return l;
}

plan::Choice device_choice(const types::Layout* layout, std::int64_t count, bool cuda_aware,
                           MethodChoice forced = MethodChoice::automatic) {
  plan::Request r;
  r.layout = layout;
  r.count = count;
  r.memory = memory::Kind::device;
  r.cuda_aware = cuda_aware;
  r.forced = forced;
  return plan::choose_p2p(r);
}

}  // namespace

TEST_CASE("built-in device rule thresholds", "[plan][device]") {
  CHECK(plan::builtin_device_method(true, plan::kDeviceMinBytes - 1) == Method::one_shot);
  CHECK(plan::builtin_device_method(true, plan::kDeviceMinBytes) == Method::device);
  CHECK(plan::builtin_device_method(false, plan::kStagedMinBytes - 1) == Method::one_shot);
  CHECK(plan::builtin_device_method(false, plan::kStagedMinBytes) == Method::staged);
  CHECK(plan::builtin_device_method(false, std::int64_t{1} << 40) == Method::staged);
}

TEST_CASE("device buffers: automatic choice by bytes and CUDA awareness", "[plan][device]") {
  const types::Layout small = strided(64, 8, 16);                 // 512 B
  const types::Layout large = strided(1 << 19, 8, 16);            // 4 MiB
  const types::Layout mid = strided(1 << 17, 8, 16);              // 1 MiB
  for (bool aware : {false, true}) {
    const plan::Choice c = device_choice(&small, 1, aware);
    CHECK(c.method == Method::one_shot);
    CHECK_FALSE(c.forced_impossible);
  }
  CHECK(device_choice(&mid, 1, true).method == Method::device);
  CHECK(device_choice(&mid, 1, false).method == Method::one_shot);
  CHECK(device_choice(&large, 1, false).method == Method::staged);
  CHECK(device_choice(&large, 1, true).method == Method::device);
  // count multiplies the bytes.
  CHECK(device_choice(&small, 8192, false).method == Method::staged);
}

TEST_CASE("device buffers: contiguous data is native only with a CUDA-aware MPI", "[plan][device]") {
  const types::Layout contiguous = strided(1, 4096, 0);
  REQUIRE(contiguous.klass() == types::LayoutClass::contiguous);
  CHECK(device_choice(&contiguous, 1, true).method == Method::native);
  CHECK(device_choice(&contiguous, 16, true).method == Method::native);
  // A plain MPI cannot read device memory: contiguous data goes through one-shot or staged.
  CHECK(device_choice(&contiguous, 1, false).method == Method::one_shot);
  CHECK(device_choice(&contiguous, 4096, false).method == Method::staged);
}

TEST_CASE("device buffers: forced methods", "[plan][device]") {
  const types::Layout l = strided(64, 8, 16);
  for (bool aware : {false, true}) {
    plan::Choice c = device_choice(&l, 1, aware, MethodChoice::one_shot);
    CHECK(c.method == Method::one_shot);
    CHECK_FALSE(c.forced_impossible);
    c = device_choice(&l, 1, aware, MethodChoice::staged);
    CHECK(c.method == Method::staged);
    CHECK_FALSE(c.forced_impossible);
  }
  plan::Choice c = device_choice(&l, 1, true, MethodChoice::device);
  CHECK(c.method == Method::device);
  CHECK_FALSE(c.forced_impossible);
  c = device_choice(&l, 1, true, MethodChoice::native);
  CHECK(c.method == Method::native);
  CHECK_FALSE(c.forced_impossible);
}

TEST_CASE("device buffers: impossible forced methods warn and take the automatic choice", "[plan][device]") {
  const types::Layout l = strided(64, 8, 16);
  // device needs a CUDA-aware MPI.
  plan::Choice c = device_choice(&l, 1, false, MethodChoice::device);
  CHECK(c.forced_impossible);
  CHECK(c.method == Method::one_shot);
  // native with a plain MPI would hand device memory to an MPI that cannot read it.
  c = device_choice(&l, 1, false, MethodChoice::native);
  CHECK(c.forced_impossible);
  CHECK(c.method == Method::one_shot);
  // host-pack cannot read device memory.
  for (bool aware : {false, true}) {
    c = device_choice(&l, 1, aware, MethodChoice::host_pack);
    CHECK(c.forced_impossible);
    CHECK(c.method == Method::one_shot);
  }
  // No layout: nothing to pack, the underlying MPI gets the call.
  c = device_choice(nullptr, 1, false, MethodChoice::staged);
  CHECK(c.forced_impossible);
  CHECK(c.method == Method::native);
  c = device_choice(nullptr, 1, false);
  CHECK_FALSE(c.forced_impossible);
  CHECK(c.method == Method::native);
}

TEST_CASE("device buffers: empty messages stay native without a warning", "[plan][device]") {
  const types::Layout l = strided(64, 8, 16);
  const plan::Choice c = device_choice(&l, 0, false, MethodChoice::staged);
  CHECK(c.method == Method::native);
  CHECK_FALSE(c.forced_impossible);
}

TEST_CASE("host buffers keep their choices with device methods forced", "[plan][device]") {
  const types::Layout l = strided(64, 8, 16);
  plan::Request r;
  r.layout = &l;
  r.count = 1;
  r.memory = memory::Kind::host;
  r.forced = MethodChoice::staged;
  const plan::Choice c = plan::choose_p2p(r);
  CHECK(c.forced_impossible);
  CHECK((c.method == Method::native || c.method == Method::host_pack));
}

TEST_CASE("MPI_Pack of device buffers is packed on the device", "[plan][device]") {
  const types::Layout l = strided(64, 8, 16);
  plan::Request r;
  r.layout = &l;
  r.count = 1;
  r.memory = memory::Kind::device;
  CHECK(plan::choose_pack(r) == Method::device);
  r.forced = MethodChoice::native;
  CHECK(plan::choose_pack(r) == Method::native);
  r.forced = MethodChoice::automatic;
  r.memory = memory::Kind::managed;
  CHECK(plan::choose_pack(r) == Method::native);
  r.memory = memory::Kind::host;
  CHECK(plan::choose_pack(r) == Method::host_pack);
  r.layout = nullptr;
  r.memory = memory::Kind::device;
  CHECK(plan::choose_pack(r) == Method::native);
}
