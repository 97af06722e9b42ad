// The random datatype pool through the CUDA pack kernels' bodies, emulated on the CPU over
// their real launch geometry (backend/cuda/emulate.hpp), against the underlying MPI:
// PMPI_Pack / PMPI_Unpack must produce the same bytes, at random positions, incounts and
// buffer alignments. A failing case replays from (seed, index) alone:
//   STRIDER_FUZZ_SEED=<seed> STRIDER_FUZZ_FIRST=<index> STRIDER_FUZZ_ITERS=1 ./test_cuda_emulation_pool
// STRIDER_FUZZ_ITERS sets the number of cases (default 3000).
#include <catch2/catch.hpp>
#include <mpi.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "backend/cuda/emulate.hpp"
#include "mpi/type_builder.hpp"
#include "random_types.hpp"
#include "test_env.hpp"
#include "types/canonicalize.hpp"
#include "types/decode.hpp"

namespace {

using strider::test::env_or;
using strider::test::fill_pattern;

struct Tally {
  std::uint64_t cases = 0, unpacked = 0, declined = 0, bytes = 0;
  std::uint64_t shapes[5] = {};
};

std::string check_case(const strider::core::SpecNode& spec, std::mt19937_64& rng, Tally& tally) {
  namespace cuda = strider::backend::cuda;
  MPI_Datatype type = MPI_DATATYPE_NULL;
  std::string error;
  if (strider::mpi::build_type(spec, &type, &error) != MPI_SUCCESS) return "build failed: " + error;
  if (!strider::mpi::is_predefined(type)) PMPI_Type_commit(&type);
  std::string failure;
  const auto ir = strider::types::decode(type);
  const auto canon = strider::types::canonicalize(*ir);
  ++tally.cases;
  if (!canon.layout) {
    if (canon.reason.find("MPI reports true bounds") != std::string::npos)
      ++tally.declined;
    else
      failure = "no layout: " + canon.reason;
    strider::mpi::free_built_type(&type);
    return failure;
  }
  const strider::types::Layout& layout = *canon.layout;
  const int incount = static_cast<int>(rng() % 4);
  const int position0 = static_cast<int>(rng() % 17);  // odd positions break the packed alignment
  const int user_shift = static_cast<int>(rng() % 16);
  const bool empty = layout.size == 0 || incount == 0;
  const std::int64_t last = (incount > 0 ? incount - 1 : 0) * layout.extent;
  const std::int64_t lo = empty ? 0 : std::min<std::int64_t>({0, layout.true_lb, layout.true_lb + last});
  const std::int64_t hi = empty ? 1
                                : std::max<std::int64_t>({1, layout.true_lb + layout.true_extent,
                                                          layout.true_lb + layout.true_extent + last});
  const std::int64_t margin = 64;
  std::vector<unsigned char> user(static_cast<std::size_t>(hi - lo + 2 * margin + 16));
  fill_pattern(user, rng());
  // Base 16-aligned, then shifted, so every alignment class of the user pointer occurs.
  const auto addr = reinterpret_cast<std::uintptr_t>(user.data());
  const std::int64_t base_at = static_cast<std::int64_t>((16 - addr % 16) % 16) + user_shift + margin - lo;
  unsigned char* base = user.data() + base_at;

  int packed_size = 0;
  PMPI_Pack_size(incount, type, MPI_COMM_WORLD, &packed_size);
  const std::size_t out_bytes = static_cast<std::size_t>(packed_size + position0 + 16);
  std::vector<unsigned char> native(out_bytes, 0xA5), ours(out_bytes, 0xA5);
  int position = position0;
  PMPI_Pack(base, incount, type, native.data(), static_cast<int>(out_bytes), &position, MPI_COMM_WORLD);
  const auto packed = cuda::emulate_move(layout, incount, base, ours.data() + position0, false);
  tally.bytes += static_cast<std::uint64_t>(position - position0);
  if (!packed.plan.empty) ++tally.shapes[static_cast<int>(packed.plan.desc.shape)];
  if (!packed.status) {
    failure = "plan failed: " + packed.status.what();
  } else if (packed.misaligned != 0) {
    failure = "misaligned accesses: " + std::to_string(packed.misaligned);
  } else if (position - position0 != layout.size * incount) {
    failure = "MPI packed " + std::to_string(position - position0) + " bytes";
  } else if (native != ours) {
    failure = "packed bytes differ (incount " + std::to_string(incount) + ", position " +
              std::to_string(position0) + ", shift " + std::to_string(user_shift) + ")";
  } else if (!layout.overlaps()) {
    std::vector<unsigned char> native_user(user.size());
    fill_pattern(native_user, rng());
    std::vector<unsigned char> our_user = native_user;
    int in_position = position0;
    PMPI_Unpack(native.data(), static_cast<int>(out_bytes), &in_position, native_user.data() + base_at, incount,
                type, MPI_COMM_WORLD);
    const auto unpacked = cuda::emulate_move(layout, incount, native.data() + position0,
                                             our_user.data() + base_at, true);
    if (!unpacked.status)
      failure = "unpack plan failed: " + unpacked.status.what();
    else if (unpacked.misaligned != 0)
      failure = "misaligned unpack accesses: " + std::to_string(unpacked.misaligned);
    else if (native_user != our_user)
      failure = "unpacked bytes differ (incount " + std::to_string(incount) + ")";
    ++tally.unpacked;
  }
  if (!failure.empty()) failure += "\nlayout: " + strider::types::to_string(layout);
  strider::mpi::free_built_type(&type);
  return failure;
}

}  // namespace

TEST_CASE("random datatypes pack and unpack through the emulated CUDA kernels as the underlying MPI does",
          "[cuda][emulation]") {
  const std::uint64_t seed = env_or("STRIDER_FUZZ_SEED", 20261123);
  const std::uint64_t first = env_or("STRIDER_FUZZ_FIRST", 0);
  const std::uint64_t iterations = env_or("STRIDER_FUZZ_ITERS", 3000);
  strider::test::RandomTypeOptions options;
  options.max_extent = 1 << 20;  // every thread of every block runs on the CPU: keep it small
  options.max_packed_bytes = 256 << 10;
  Tally tally;
  std::uint64_t failures = 0;
  for (std::uint64_t i = first; i < first + iterations; ++i) {
    std::mt19937_64 rng(seed * 1000003ULL + i);
    const auto spec = strider::test::random_type(rng, options);
    std::string failure;
    try {
      failure = check_case(spec, rng, tally);
    } catch (const std::exception& e) {
      failure = std::string("exception: ") + e.what();
    }
    if (!failure.empty() && ++failures <= 5)
      FAIL_CHECK("seed " << seed << " index " << i << "\nspec: " << strider::test::spec_string(spec) << "\n"
                         << failure);
  }
  std::printf("cuda emulation pool: %llu types (seed %llu), %llu unpacked, %llu left to MPI, %llu bytes; "
              "shapes copy1d %llu 2d %llu 3d %llu nd %llu sequence %llu; %llu failures\n",
              static_cast<unsigned long long>(tally.cases), static_cast<unsigned long long>(seed),
              static_cast<unsigned long long>(tally.unpacked), static_cast<unsigned long long>(tally.declined),
              static_cast<unsigned long long>(tally.bytes), static_cast<unsigned long long>(tally.shapes[0]),
              static_cast<unsigned long long>(tally.shapes[1]), static_cast<unsigned long long>(tally.shapes[2]),
              static_cast<unsigned long long>(tally.shapes[3]), static_cast<unsigned long long>(tally.shapes[4]),
              static_cast<unsigned long long>(failures));
  CHECK(failures == 0);
  CHECK(tally.cases == iterations);
}
