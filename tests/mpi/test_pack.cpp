// MPI_Pack / MPI_Unpack through Strider (exec::pack / exec::unpack, the host engine) against
// the underlying MPI (mpi::pack / mpi::unpack) on real committed datatypes, byte for byte:
// alignment sweeps, odd positions, incount > 1, outsize too small, zero counts, invalid
// arguments (same return codes), and a seeded random datatype pool.
//   STRIDER_PACK_SEED=<seed> STRIDER_PACK_FIRST=<index> STRIDER_PACK_ITERS=1 ./test_pack
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <variant>
#include <vector>

#include <catch2/catch.hpp>
#include <mpi.h>

#include "core/counters.hpp"
#include "core/spec.hpp"
#include "exec/datatype.hpp"
#include "exec/pack.hpp"
#include "mpi/calls.hpp"
#include "mpi/type_builder.hpp"
#include "random_types.hpp"
#include "types/cache.hpp"

namespace {

namespace core = strider::core;
namespace exec = strider::exec;
namespace smpi = strider::mpi;

std::uint64_t env_or(const char* name, std::uint64_t fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? std::strtoull(value, nullptr, 10) : fallback;
}

void fill(std::vector<unsigned char>& v, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  for (auto& b : v) b = static_cast<unsigned char>(rng());
}

// A datatype built from spec text and committed through Strider (so the cache knows it).
struct Type {
  MPI_Datatype handle = MPI_DATATYPE_NULL;
  explicit Type(const std::string& text) {
    auto parsed = core::parse_spec(text);
    REQUIRE(std::holds_alternative<core::SpecNode>(parsed));
    build(std::get<core::SpecNode>(parsed));
  }
  explicit Type(const core::SpecNode& spec) { build(spec); }
  void build(const core::SpecNode& spec) {
    std::string error;
    REQUIRE(smpi::build_type(spec, &handle, &error) == MPI_SUCCESS);
    if (!smpi::is_predefined(handle)) REQUIRE(exec::type_commit(&handle) == MPI_SUCCESS);
  }
  ~Type() {
    if (handle != MPI_DATATYPE_NULL && !smpi::is_predefined(handle)) exec::type_free(&handle);
  }
  Type(const Type&) = delete;
  Type& operator=(const Type&) = delete;
};

struct Span {
  std::int64_t lo = 0;  // relative to the user pointer
  std::int64_t hi = 0;
};
Span span_of(MPI_Datatype type, int count) {
  MPI_Aint lb = 0, extent = 0, true_lb = 0, true_extent = 0;
  PMPI_Type_get_extent(type, &lb, &extent);
  PMPI_Type_get_true_extent(type, &true_lb, &true_extent);
  int size = 0;
  PMPI_Type_size(type, &size);
  if (size == 0) return {0, 1};  // Open MPI reports true_lb = INT64_MAX for empty types
  const std::int64_t last = (count > 0 ? count - 1 : 0) * static_cast<std::int64_t>(extent);
  return {std::min<std::int64_t>({0, true_lb, true_lb + last}),
          std::max<std::int64_t>({1, true_lb + true_extent, true_lb + true_extent + last})};
}

std::uint64_t fast_calls() { return core::counters().method_calls(core::Method::host_pack); }

// Packs and unpacks `count` elements with Strider and with the underlying MPI from a user
// buffer aligned at `align` (mod 16) into a packed buffer at `position`; returns "" or why.
// `expect_fast`: the host engine must have run (the type has a Layout).
std::string compare(MPI_Datatype type, int count, int align, int position0, bool expect_fast,
                    bool unpack_too = true) {
  const Span s = span_of(type, count);
  constexpr std::int64_t kMargin = 64;
  std::vector<unsigned char> user(static_cast<std::size_t>(s.hi - s.lo + 2 * kMargin + 16));
  fill(user, 99);
  const auto addr = reinterpret_cast<std::uintptr_t>(user.data());
  const std::int64_t origin =
      static_cast<std::int64_t>((16 - addr % 16) % 16) + align + kMargin - s.lo;
  int packed = 0;
  PMPI_Pack_size(count, type, MPI_COMM_WORLD, &packed);
  const int outsize = packed + position0 + 16;
  std::vector<unsigned char> native(static_cast<std::size_t>(outsize), 0xA5);
  std::vector<unsigned char> ours(native);
  int pos_native = position0, pos_ours = position0;
  const std::uint64_t before = fast_calls();
  const int rc_native = smpi::pack(user.data() + origin, count, type, native.data(), outsize,
                                   &pos_native, MPI_COMM_WORLD);
  const int rc_ours = exec::pack(user.data() + origin, count, type, ours.data(), outsize,
                                 &pos_ours, MPI_COMM_WORLD);
  const std::string where = " (count " + std::to_string(count) + ", align " +
                            std::to_string(align) + ", position " + std::to_string(position0) +
                            ")";
  if (rc_native != rc_ours) return "pack rc differs" + where;
  if (pos_native != pos_ours) return "pack position differs" + where;
  if (native != ours) return "packed bytes differ" + where;
  if (expect_fast && count > 0 && packed > 0 && fast_calls() != before + 1)
    return "the host engine did not run" + where;
  if (!unpack_too) return "";

  std::vector<unsigned char> user_native(user.size());
  fill(user_native, 7);
  std::vector<unsigned char> user_ours(user_native);
  pos_native = pos_ours = position0;
  const int urc_native = smpi::unpack(native.data(), outsize, &pos_native,
                                      user_native.data() + origin, count, type, MPI_COMM_WORLD);
  const int urc_ours = exec::unpack(native.data(), outsize, &pos_ours, user_ours.data() + origin,
                                    count, type, MPI_COMM_WORLD);
  if (urc_native != urc_ours) return "unpack rc differs" + where;
  if (pos_native != pos_ours) return "unpack position differs" + where;
  if (user_native != user_ours) return "unpacked bytes differ" + where;
  return "";
}

const char* const kTypes[] = {
    "int",
    "double",
    "byte",
    "contiguous(7, char)",
    "vector(33, 1, 2, char)",
    "vector(17, 1, 16, double)",
    "vector(9, 3, 5, short)",
    "vector(8, 4, 64, int)",
    "hvector(5, 1, 40, vector(6, 2, 3, float))",
    "subarray([10, 12, 14], [10, 12, 1], [0, 0, 13], C, double)",
    "subarray([10, 12, 14], [10, 1, 14], [0, 5, 0], C, double)",
    "subarray([10, 12, 14], [1, 12, 14], [3, 0, 0], C, double)",
    "subarray([10, 12, 14], [8, 1, 12], [1, 5, 1], F, double)",
    "subarray([16, 16, 16], [2, 16, 16], [0, 0, 0], F, int)",
    "struct([1, 2, 3], [0, 8, 24], [int, double, char])",
    "indexed([2, 1, 4], [0, 5, 9], int)",
    "indexed_block(2, [7, 0, 3], double)",
    "hindexed([1, 3], [100, 0], short)",
    "resized(-8, 48, vector(3, 1, 2, double))",
    "resized(0, 7, contiguous(3, short))",
    "vector(4, 1, -3, int)",
    "contiguous(3, struct([1, 1], [0, 4], [float, short]))",
};

}  // namespace

TEST_CASE("MPI_Pack and MPI_Unpack through Strider match the underlying MPI byte for byte") {
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  for (const char* text : kTypes) {
    INFO("type " << text);
    Type t(text);
    REQUIRE(strider::types::type_cache().find(t.handle) != nullptr);
    for (int count : {0, 1, 2, 5}) {
      for (int align = 0; align < 16; ++align) {
        for (int position : {0, 1, 3, 8}) {
          const std::string failure = compare(t.handle, count, align, position, true);
          if (!failure.empty()) FAIL(failure);
        }
      }
    }
  }
}

TEST_CASE("MPI_Pack through Strider rejects a too-small outsize exactly as the underlying MPI") {
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  Type t("vector(8, 1, 2, int)");
  std::vector<int> user(64, 3);
  for (int outsize : {0, 1, 31, 32, 33}) {
    for (int position0 : {0, 1, 2}) {
      INFO("outsize " << outsize << " position " << position0);
      std::vector<unsigned char> a(64, 0x11), b(64, 0x11);
      int pa = position0, pb = position0;
      const int rca = smpi::pack(user.data(), 1, t.handle, a.data(), outsize, &pa, MPI_COMM_WORLD);
      const int rcb = exec::pack(user.data(), 1, t.handle, b.data(), outsize, &pb, MPI_COMM_WORLD);
      CHECK(rca == rcb);
      CHECK(pa == pb);
      CHECK(a == b);
      if (outsize - position0 < 32) {
        int cls = 0;
        MPI_Error_class(rcb, &cls);
        CHECK(cls == MPI_ERR_TRUNCATE);
      }
      // Unpack from a too-short insize.
      std::vector<int> ua(64, 1), ub(64, 1);
      pa = pb = position0;
      const int urca = smpi::unpack(a.data(), outsize, &pa, ua.data(), 1, t.handle, MPI_COMM_WORLD);
      const int urcb = exec::unpack(a.data(), outsize, &pb, ub.data(), 1, t.handle, MPI_COMM_WORLD);
      CHECK(urca == urcb);
      CHECK(pa == pb);
      CHECK(ua == ub);
    }
  }
}

TEST_CASE("MPI_Pack and MPI_Unpack through Strider return the underlying MPI's errors") {
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  Type t("vector(4, 1, 2, int)");
  MPI_Datatype uncommitted = MPI_DATATYPE_NULL;
  PMPI_Type_vector(4, 1, 2, MPI_INT, &uncommitted);
  std::vector<int> user(64, 5);
  struct Case {
    const char* what;
    const void* in;
    int count;
    MPI_Datatype type;
    int size;
    int position;
    bool null_position;
  };
  std::vector<unsigned char> buf(256, 0);
  const Case cases[] = {
      {"negative count", user.data(), -1, t.handle, 256, 0, false},
      {"null type", user.data(), 1, MPI_DATATYPE_NULL, 256, 0, false},
      {"uncommitted type", user.data(), 1, uncommitted, 256, 0, false},
      {"null position", user.data(), 1, t.handle, 256, 0, true},
      {"negative size", user.data(), 1, t.handle, -1, 0, false},
      {"zero count, position beyond size", user.data(), 0, t.handle, 16, 20, false},
      {"zero count, position at size", user.data(), 0, t.handle, 16, 16, false},
      {"zero size", user.data(), 1, t.handle, 0, 0, false},
      {"exact fit", user.data(), 1, t.handle, 20, 4, false},
      {"one short", user.data(), 1, t.handle, 19, 4, false},
  };
  for (const Case& c : cases) {
    INFO(c.what);
    std::vector<unsigned char> a(buf), b(buf);
    int pa = c.position, pb = c.position;
    CHECK(smpi::pack(c.in, c.count, c.type, a.data(), c.size, c.null_position ? nullptr : &pa,
                     MPI_COMM_WORLD) ==
          exec::pack(c.in, c.count, c.type, b.data(), c.size, c.null_position ? nullptr : &pb,
                     MPI_COMM_WORLD));
    CHECK(pa == pb);
    CHECK(a == b);
    std::vector<int> ua(user), ub(user);
    pa = pb = c.position;
    CHECK(smpi::unpack(a.data(), c.size, c.null_position ? nullptr : &pa, ua.data(), c.count,
                       c.type, MPI_COMM_WORLD) ==
          exec::unpack(a.data(), c.size, c.null_position ? nullptr : &pb, ub.data(), c.count,
                       c.type, MPI_COMM_WORLD));
    CHECK(pa == pb);
    CHECK(ua == ub);
  }
  // Null buffers (MPI_ERR_BUFFER / MPI_ERR_ARG) and MPI_COMM_NULL.
  int pa = 0, pb = 0;
  CHECK(smpi::pack(nullptr, 1, t.handle, buf.data(), 256, &pa, MPI_COMM_WORLD) ==
        exec::pack(nullptr, 1, t.handle, buf.data(), 256, &pb, MPI_COMM_WORLD));
  CHECK(smpi::pack(user.data(), 1, t.handle, nullptr, 256, &pa, MPI_COMM_WORLD) ==
        exec::pack(user.data(), 1, t.handle, nullptr, 256, &pb, MPI_COMM_WORLD));
  CHECK(smpi::unpack(buf.data(), 256, &pa, nullptr, 1, t.handle, MPI_COMM_WORLD) ==
        exec::unpack(buf.data(), 256, &pb, nullptr, 1, t.handle, MPI_COMM_WORLD));
  CHECK(smpi::unpack(nullptr, 256, &pa, user.data(), 1, t.handle, MPI_COMM_WORLD) ==
        exec::unpack(nullptr, 256, &pb, user.data(), 1, t.handle, MPI_COMM_WORLD));
  CHECK(smpi::pack(user.data(), 1, t.handle, buf.data(), 256, &pa, MPI_COMM_NULL) ==
        exec::pack(user.data(), 1, t.handle, buf.data(), 256, &pb, MPI_COMM_NULL));
  CHECK(pa == pb);
  int sa = 0, sb = 0;
  CHECK(smpi::pack_size(3, t.handle, MPI_COMM_WORLD, &sa) ==
        exec::pack_size(3, t.handle, MPI_COMM_WORLD, &sb));
  CHECK(sa == sb);
  CHECK(sb == 48);
  PMPI_Type_free(&uncommitted);
}

TEST_CASE("MPI_Pack through Strider forwards when incount * size exceeds INT_MAX") {
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  Type t("contiguous(1048576, char)");
  std::vector<unsigned char> user(16), buf(16);
  int pa = 0, pb = 0;
  const std::uint64_t before = fast_calls();
  // 4096 MiB packed into 16 bytes: both truncate without touching the buffers.
  CHECK(smpi::pack(user.data(), 4096, t.handle, buf.data(), 16, &pa, MPI_COMM_WORLD) ==
        exec::pack(user.data(), 4096, t.handle, buf.data(), 16, &pb, MPI_COMM_WORLD));
  CHECK(pa == pb);
  CHECK(fast_calls() == before);
}

TEST_CASE("random datatypes pack and unpack through Strider exactly as the underlying MPI") {
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  const std::uint64_t seed = env_or("STRIDER_PACK_SEED", 4141);
  const std::uint64_t first = env_or("STRIDER_PACK_FIRST", 0);
  const std::uint64_t iterations = env_or("STRIDER_PACK_ITERS", 3000);
  strider::test::RandomTypeOptions options;
  options.max_extent = 1 << 20;
  options.max_packed_bytes = 256 << 10;
  std::uint64_t fast = 0, failures = 0;
  for (std::uint64_t i = first; i < first + iterations; ++i) {
    std::mt19937_64 rng(seed * 1000003ULL + i);
    const auto random = strider::test::random_type_with_bounds(rng, options);
    Type t(random.spec);
    const bool has_layout = strider::types::type_cache().find(t.handle) != nullptr;
    fast += has_layout ? 1 : 0;
    const int count = static_cast<int>(rng() % 4);
    const int align = static_cast<int>(rng() % 16);
    const int position = static_cast<int>(rng() % 9);
    const std::string failure =
        compare(t.handle, count, align, position, has_layout, !random.bounds.may_overlap);
    if (!failure.empty() && ++failures <= 5) {
      FAIL_CHECK("seed " << seed << " index " << i << "\nspec: "
                         << strider::test::spec_string(random.spec) << "\n"
                         << failure);
    }
  }
  std::printf("test_pack: %llu random types, %llu through the host engine, %llu failures\n",
              static_cast<unsigned long long>(iterations), static_cast<unsigned long long>(fast),
              static_cast<unsigned long long>(failures));
  CHECK(failures == 0);
  CHECK(fast * 10 >= iterations * 9);  // nearly every type has a Layout
}
