// mpi::build_type against datatypes built directly with the MPI constructors, and the random
// generator's promises (bounds, no overlap) against what the underlying MPI reports.
#include <catch2/catch.hpp>
#include <mpi.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <random>
#include <string>
#include <variant>
#include <vector>

#include "core/spec.hpp"
#include "mpi/type_builder.hpp"
#include "random_types.hpp"

namespace smpi = strider::mpi;
using strider::core::SpecNode;

namespace {

SpecNode parse(const std::string& text) {
  auto result = strider::core::parse_spec(text);
  if (auto* error = std::get_if<strider::core::SpecError>(&result)) {
    FAIL(strider::core::format_error(text, *error));
  }
  return std::get<SpecNode>(result);
}

struct Description {
  int size = 0;
  MPI_Aint lb = 0;
  MPI_Aint extent = 0;
  MPI_Aint true_lb = 0;
  MPI_Aint true_extent = 0;
  int integers = 0;
  int addresses = 0;
  int datatypes = 0;
  int combiner = MPI_COMBINER_NAMED;
  std::vector<int> contents_integers;
  std::vector<MPI_Aint> contents_addresses;
  std::vector<unsigned char> packed;  // one element packed from a byte-numbered buffer

  bool operator==(const Description&) const = default;
};

// Everything MPI says about a committed type, plus its packed bytes.
Description describe(MPI_Datatype type) {
  Description d;
  PMPI_Type_size(type, &d.size);
  PMPI_Type_get_extent(type, &d.lb, &d.extent);
  PMPI_Type_get_true_extent(type, &d.true_lb, &d.true_extent);
  PMPI_Type_get_envelope(type, &d.integers, &d.addresses, &d.datatypes, &d.combiner);
  if (d.combiner != MPI_COMBINER_NAMED) {
    d.contents_integers.resize(static_cast<std::size_t>(d.integers));
    d.contents_addresses.resize(static_cast<std::size_t>(d.addresses));
    std::vector<MPI_Datatype> children(static_cast<std::size_t>(d.datatypes));
    PMPI_Type_get_contents(type, d.integers, d.addresses, d.datatypes, d.contents_integers.data(),
                           d.contents_addresses.data(), children.data());
    for (MPI_Datatype& child : children) smpi::free_built_type(&child);
  }
  if (d.size > 0) {
    const std::int64_t low = std::min<std::int64_t>(d.true_lb, 0);
    const std::int64_t high = std::max<std::int64_t>(d.true_lb + d.true_extent, 1);
    std::vector<unsigned char> buffer(static_cast<std::size_t>(high - low));
    for (std::size_t i = 0; i < buffer.size(); ++i) buffer[i] = static_cast<unsigned char>(i * 7);
    d.packed.resize(static_cast<std::size_t>(d.size));
    int position = 0;
    PMPI_Pack(buffer.data() - low, 1, type, d.packed.data(), d.size, &position, MPI_COMM_SELF);
  }
  return d;
}

Description describe_spec(const std::string& text) {
  MPI_Datatype type = MPI_DATATYPE_NULL;
  std::string error;
  REQUIRE(smpi::build_type(parse(text), &type, &error) == MPI_SUCCESS);
  INFO(error);
  REQUIRE(type != MPI_DATATYPE_NULL);
  REQUIRE(PMPI_Type_commit(&type) == MPI_SUCCESS);
  Description d = describe(type);
  REQUIRE(smpi::free_built_type(&type) == MPI_SUCCESS);
  CHECK(type == MPI_DATATYPE_NULL);
  return d;
}

Description describe_direct(const std::function<void(MPI_Datatype*)>& build) {
  MPI_Datatype type = MPI_DATATYPE_NULL;
  build(&type);
  REQUIRE(PMPI_Type_commit(&type) == MPI_SUCCESS);
  Description d = describe(type);
  PMPI_Type_free(&type);
  return d;
}

struct DirectCase {
  const char* spec;
  std::function<void(MPI_Datatype*)> build;
};

MPI_Datatype column(int rows, int stride) {
  MPI_Datatype vector = MPI_DATATYPE_NULL;
  PMPI_Type_vector(rows, 1, stride, MPI_DOUBLE, &vector);
  return vector;
}

}  // namespace

TEST_CASE("each constructor builds the same type as the direct MPI call") {
  const std::vector<DirectCase> cases{
      {"contiguous(5, int)", [](MPI_Datatype* t) { PMPI_Type_contiguous(5, MPI_INT, t); }},
      {"vector(4, 2, -7, short)", [](MPI_Datatype* t) { PMPI_Type_vector(4, 2, -7, MPI_SHORT, t); }},
      {"hvector(3, 2, 100, double_int)",
       [](MPI_Datatype* t) { PMPI_Type_create_hvector(3, 2, 100, MPI_DOUBLE_INT, t); }},
      {"indexed([2, 0, 3], [5, 1, -4], float)",
       [](MPI_Datatype* t) {
         const int lengths[] = {2, 0, 3};
         const int displs[] = {5, 1, -4};
         PMPI_Type_indexed(3, lengths, displs, MPI_FLOAT, t);
       }},
      {"hindexed([1, 4], [-24, 40], double)",
       [](MPI_Datatype* t) {
         const int lengths[] = {1, 4};
         const MPI_Aint displs[] = {-24, 40};
         PMPI_Type_create_hindexed(2, lengths, displs, MPI_DOUBLE, t);
       }},
      {"indexed_block(3, [0, 10, 4], char)",
       [](MPI_Datatype* t) {
         const int displs[] = {0, 10, 4};
         PMPI_Type_create_indexed_block(3, 3, displs, MPI_CHAR, t);
       }},
      {"hindexed_block(2, [16, 0, 64], 2int)",
       [](MPI_Datatype* t) {
         const MPI_Aint displs[] = {16, 0, 64};
         PMPI_Type_create_hindexed_block(3, 2, displs, MPI_2INT, t);
       }},
      {"struct([1, 2, 1], [0, 8, 40], [int, double, long_double_int])",
       [](MPI_Datatype* t) {
         const int lengths[] = {1, 2, 1};
         const MPI_Aint displs[] = {0, 8, 40};
         const MPI_Datatype types[] = {MPI_INT, MPI_DOUBLE, MPI_LONG_DOUBLE_INT};
         PMPI_Type_create_struct(3, lengths, displs, types, t);
       }},
      {"subarray([8, 6, 5], [2, 6, 5], [6, 0, 0], C, double)",
       [](MPI_Datatype* t) {
         const int sizes[] = {8, 6, 5};
         const int subsizes[] = {2, 6, 5};
         const int starts[] = {6, 0, 0};
         PMPI_Type_create_subarray(3, sizes, subsizes, starts, MPI_ORDER_C, MPI_DOUBLE, t);
       }},
      {"subarray([8, 6, 5], [8, 1, 5], [0, 3, 0], F, int)",
       [](MPI_Datatype* t) {
         const int sizes[] = {8, 6, 5};
         const int subsizes[] = {8, 1, 5};
         const int starts[] = {0, 3, 0};
         PMPI_Type_create_subarray(3, sizes, subsizes, starts, MPI_ORDER_FORTRAN, MPI_INT, t);
       }},
      {"darray(6, 4, [10, 9], [block, cyclic], [dflt, 2], [2, 3], C, double)",
       [](MPI_Datatype* t) {
         const int gsizes[] = {10, 9};
         const int distribs[] = {MPI_DISTRIBUTE_BLOCK, MPI_DISTRIBUTE_CYCLIC};
         const int dargs[] = {MPI_DISTRIBUTE_DFLT_DARG, 2};
         const int psizes[] = {2, 3};
         PMPI_Type_create_darray(6, 4, 2, gsizes, distribs, dargs, psizes, MPI_ORDER_C,
                                 MPI_DOUBLE, t);
       }},
      {"darray(2, 1, [7, 4], [none, block], [dflt, 3], [1, 2], F, float)",
       [](MPI_Datatype* t) {
         const int gsizes[] = {7, 4};
         const int distribs[] = {MPI_DISTRIBUTE_NONE, MPI_DISTRIBUTE_BLOCK};
         const int dargs[] = {MPI_DISTRIBUTE_DFLT_DARG, 3};
         const int psizes[] = {1, 2};
         PMPI_Type_create_darray(2, 1, 2, gsizes, distribs, dargs, psizes, MPI_ORDER_FORTRAN,
                                 MPI_FLOAT, t);
       }},
      {"resized(0, 8, vector(16, 1, 16, double))",
       [](MPI_Datatype* t) {
         MPI_Datatype inner = column(16, 16);
         PMPI_Type_create_resized(inner, 0, 8, t);
         PMPI_Type_free(&inner);
       }},
      {"resized(-4, 3, int)", [](MPI_Datatype* t) { PMPI_Type_create_resized(MPI_INT, -4, 3, t); }},
      {"dup(vector(2, 1, 3, char))",
       [](MPI_Datatype* t) {
         MPI_Datatype inner = MPI_DATATYPE_NULL;
         PMPI_Type_vector(2, 1, 3, MPI_CHAR, &inner);
         PMPI_Type_dup(inner, t);
         PMPI_Type_free(&inner);
       }},
      {"hvector(3, 1, 4096, contiguous(2, resized(0, 8, vector(8, 1, 8, double))))",
       [](MPI_Datatype* t) {
         MPI_Datatype inner = column(8, 8);
         MPI_Datatype resized = MPI_DATATYPE_NULL;
         PMPI_Type_create_resized(inner, 0, 8, &resized);
         MPI_Datatype pair = MPI_DATATYPE_NULL;
         PMPI_Type_contiguous(2, resized, &pair);
         PMPI_Type_create_hvector(3, 1, 4096, pair, t);
         PMPI_Type_free(&pair);
         PMPI_Type_free(&resized);
         PMPI_Type_free(&inner);
       }},
      {"contiguous(0, double)", [](MPI_Datatype* t) { PMPI_Type_contiguous(0, MPI_DOUBLE, t); }},
  };
  for (const DirectCase& c : cases) {
    CAPTURE(c.spec);
    const Description built = describe_spec(c.spec);
    const Description direct = describe_direct(c.build);
    CHECK(built.combiner == direct.combiner);
    CHECK(built.size == direct.size);
    CHECK(built.lb == direct.lb);
    CHECK(built.extent == direct.extent);
    if (direct.size > 0) {
      CHECK(built.true_lb == direct.true_lb);
      CHECK(built.true_extent == direct.true_extent);
    }
    CHECK(built.contents_integers == direct.contents_integers);
    CHECK(built.contents_addresses == direct.contents_addresses);
    CHECK(built.packed == direct.packed);
  }
}

TEST_CASE("named types are the predefined handles and are never freed") {
  MPI_Datatype type = MPI_DATATYPE_NULL;
  std::string error;
  REQUIRE(smpi::build_type(parse("MPI_DOUBLE"), &type, &error) == MPI_SUCCESS);
  CHECK(type == MPI_DOUBLE);
  CHECK(smpi::is_predefined(type));
  CHECK(smpi::free_built_type(&type) == MPI_SUCCESS);
  CHECK(type == MPI_DATATYPE_NULL);
  CHECK(smpi::named_type("2int") == MPI_2INT);
  CHECK(smpi::named_type("long_double_int") == MPI_LONG_DOUBLE_INT);
  CHECK(smpi::named_type("nonsense") == MPI_DATATYPE_NULL);
  // Every name the spec language accepts has a handle.
  for (auto name : strider::core::named_type_names()) {
    CAPTURE(name);
    CHECK(smpi::named_type(name) != MPI_DATATYPE_NULL);
  }
}

TEST_CASE("f90 types are predefined: built, described, and left alone by free") {
  struct F90 {
    const char* spec;
    int combiner;
    int size;
  };
  const F90 c = GENERATE(values<F90>({{"f90_real(6, 30)", MPI_COMBINER_F90_REAL, 4},
                                      {"f90_real(15, 300)", MPI_COMBINER_F90_REAL, 8},
                                      {"f90_complex(15, 300)", MPI_COMBINER_F90_COMPLEX, 16},
                                      {"f90_integer(9)", MPI_COMBINER_F90_INTEGER, 4},
                                      {"f90_integer(18)", MPI_COMBINER_F90_INTEGER, 8}}));
  CAPTURE(c.spec);
  MPI_Datatype type = MPI_DATATYPE_NULL;
  std::string error;
  REQUIRE(smpi::build_type(parse(c.spec), &type, &error) == MPI_SUCCESS);
  CHECK(smpi::is_predefined(type));
  const Description d = describe(type);
  CHECK(d.combiner == c.combiner);
  CHECK(d.size == c.size);
  CHECK(smpi::free_built_type(&type) == MPI_SUCCESS);
  // Inside a derived type the f90 handle is a child that must not be freed either.
  const Description outer = describe_spec(std::string("contiguous(3, ") + c.spec + ")");
  CHECK(outer.size == 3 * c.size);
}

TEST_CASE("arguments MPI would reject are reported, not passed to MPI") {
  struct Bad {
    const char* spec;
    int code;
    const char* message;
  };
  const Bad c = GENERATE(values<Bad>({
      {"contiguous(-1, int)", MPI_ERR_COUNT,
       "contiguous count = -1 is out of range [0, 2147483647]"},
      {"vector(2, -3, 4, int)", MPI_ERR_ARG,
       "vector blocklength = -3 is out of range [0, 2147483647]"},
      {"vector(2, 1, 4294967296, int)", MPI_ERR_ARG,
       "vector stride = 4294967296 is out of range [-2147483648, 2147483647]"},
      {"indexed([1, -1], [0, 4], int)", MPI_ERR_ARG,
       "indexed blocklengths[1] = -1 is out of range [0, 2147483647]"},
      {"subarray([4, 4], [5, 1], [0, 0], C, int)", MPI_ERR_ARG,
       "subarray subsizes[0] = 5 exceeds sizes[0] = 4"},
      {"subarray([4, 4], [2, 0], [0, 0], C, int)", MPI_ERR_ARG,
       "subarray subsizes[1] = 0 is out of range [1, 2147483647]"},
      {"subarray([4], [2], [3], F, int)", MPI_ERR_ARG,
       "subarray starts[0] = 3 puts the block past sizes[0] = 4"},
      {"subarray([], [], [], C, int)", MPI_ERR_ARG, "subarray needs at least one dimension"},
      {"darray(4, 4, [8], [block], [dflt], [4], C, int)", MPI_ERR_ARG,
       "darray rank = 4 is out of range [0, 3]"},
      {"darray(4, 0, [8, 8], [block, block], [dflt, dflt], [2, 3], C, int)", MPI_ERR_ARG,
       "darray psizes must multiply to size = 4"},
      {"darray(2, 0, [8], [block], [3], [2], C, int)", MPI_ERR_ARG,
       "darray block dargs[0] * psizes[0] must be at least gsizes[0]"},
      {"darray(2, 0, [8], [none], [dflt], [2], C, int)", MPI_ERR_ARG,
       "darray psizes[0] must be 1 for distribution none"},
      {"darray(1, 0, [8], [cyclic], [0], [1], C, int)", MPI_ERR_ARG,
       "darray dargs[0] must be a positive integer or dflt"},
      {"f90_real(40, 30)", MPI_ERR_ARG, "f90_real: no real kind with precision 40 and range 30"},
      {"f90_integer(40)", MPI_ERR_ARG, "f90_integer r = 40 is out of range [-2147483648, 18]"},
      {"struct([1, 1], [0, 8], [int, vector(-1, 1, 1, int)])", MPI_ERR_COUNT,
       "vector count = -1 is out of range [0, 2147483647]"},
  }));
  CAPTURE(c.spec);
  MPI_Datatype type = MPI_DATATYPE_NULL;
  std::string error;
  CHECK(smpi::build_type(parse(c.spec), &type, &error) == c.code);
  CHECK(error == c.message);
  CHECK(type == MPI_DATATYPE_NULL);
}

TEST_CASE("trees built in code are checked as strictly as parsed ones") {
  MPI_Datatype type = MPI_DATATYPE_NULL;
  std::string error;
  CHECK(smpi::build_type(SpecNode::call("vector", {SpecNode::integer(1), SpecNode::named("int")}),
                         &type, &error) == MPI_ERR_ARG);
  CHECK(error == "vector expects 4 arguments, got 2");
  CHECK(smpi::build_type(SpecNode::integer(3), &type, &error) == MPI_ERR_TYPE);
  CHECK(smpi::build_type(SpecNode::named("quadruple"), &type, &error) == MPI_ERR_TYPE);
  CHECK(error == "unknown type 'quadruple'");
  CHECK(type == MPI_DATATYPE_NULL);
}

// Open MPI 4.1's opal_datatype_add treats a byte stride of exactly -1 as "use the child's
// extent", so this vector packs forwards, unlike the standard's typemap (0, -1, ..., -4).
// Strider's pack must match the underlying MPI byte for byte, so this is what it must do too.
TEST_CASE("Open MPI reads a byte stride of -1 as the child's extent") {
  const Description quirk = describe_spec("vector(5, 1, -1, byte)");
  const Description standard = describe_spec("vector(5, 1, -2, byte)");
  CHECK(quirk.lb == 0);
  CHECK(quirk.true_lb == 0);
  CHECK(standard.lb == -8);
  // Packed from a buffer whose byte at offset i holds 7 * (i - low): the quirk packs offsets
  // 0, 1, 2, 3, 4; stride -2 packs 0, -2, -4, -6, -8 (low = -8 shifts every value by 56).
  CHECK(quirk.packed == std::vector<unsigned char>{0, 7, 14, 21, 28});
  CHECK(standard.packed == std::vector<unsigned char>{56, 42, 28, 14, 0});
}

namespace {

// Byte offsets (relative to the true lb) of every packed byte, in packed order: four packs of
// a buffer whose bytes hold one byte of their own offset each.
std::vector<std::uint32_t> packed_offsets(MPI_Datatype type, std::int64_t size,
                                          std::int64_t true_lb, std::int64_t true_extent) {
  std::vector<unsigned char> buffer(static_cast<std::size_t>(true_extent));
  std::vector<unsigned char> packed(static_cast<std::size_t>(size));
  std::vector<std::uint32_t> offsets(static_cast<std::size_t>(size), 0);
  for (int shift = 0; shift < 32; shift += 8) {
    for (std::size_t i = 0; i < buffer.size(); ++i) {
      buffer[i] = static_cast<unsigned char>(i >> shift);
    }
    int position = 0;
    PMPI_Pack(buffer.data() - true_lb, 1, type, packed.data(), static_cast<int>(size), &position,
              MPI_COMM_SELF);
    for (std::size_t k = 0; k < packed.size(); ++k) {
      offsets[k] |= static_cast<std::uint32_t>(packed[k]) << shift;
    }
  }
  return offsets;
}

}  // namespace

TEST_CASE("2,000 random types build, commit and match the generator's bounds") {
  strider::test::RandomTypeOptions options;  // defaults: depth 4, 4 MiB packed, 64 MiB extent
  const char* seed_text = std::getenv("STRIDER_TYPE_SEED");
  const std::uint64_t base = seed_text != nullptr ? std::strtoull(seed_text, nullptr, 10) : 7001;
  int overlap_checked = 0;
  for (std::uint64_t i = 0; i < 2000; ++i) {
    std::mt19937_64 rng(base + i);
    const auto random = strider::test::random_type_with_bounds(rng, options);
    const std::string text = strider::test::spec_string(random.spec);
    INFO("seed " << base + i << " (STRIDER_TYPE_SEED=" << base + i << " replays it first)\n"
                 << text.substr(0, 2000));
    MPI_Datatype type = MPI_DATATYPE_NULL;
    std::string error;
    REQUIRE(smpi::build_type(random.spec, &type, &error) == MPI_SUCCESS);
    if (!smpi::is_predefined(type)) REQUIRE(PMPI_Type_commit(&type) == MPI_SUCCESS);

    int size = 0;
    MPI_Aint lb = 0, extent = 0, true_lb = 0, true_extent = 0;
    PMPI_Type_size(type, &size);
    PMPI_Type_get_extent(type, &lb, &extent);
    PMPI_Type_get_true_extent(type, &true_lb, &true_extent);
    const auto& b = random.bounds;
    CHECK(size <= options.max_packed_bytes);
    CHECK(extent <= options.max_extent);
    CHECK(size == b.size);
    CHECK(lb == b.lb);
    CHECK(extent == b.extent);
    CHECK_FALSE(b.may_overlap);
    if (size > 0) {
      CHECK(true_extent <= options.max_extent);
      CHECK(true_lb == b.true_lb);
      CHECK(true_extent == b.true_extent);
      // No two packed bytes come from the same address (checked where cheap to do so).
      if (true_extent <= (16 << 20)) {
        auto offsets = packed_offsets(type, size, true_lb, true_extent);
        std::sort(offsets.begin(), offsets.end());
        CHECK(std::adjacent_find(offsets.begin(), offsets.end()) == offsets.end());
        ++overlap_checked;
      }
    }
    REQUIRE(smpi::free_built_type(&type) == MPI_SUCCESS);
  }
  // The overlap check must not be vacuous.
  CHECK(overlap_checked > 1500);
}
