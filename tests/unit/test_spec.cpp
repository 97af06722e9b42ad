// The datatype spec language: round trips, canonical text and positioned errors.
#include <catch2/catch.hpp>

#include <random>
#include <string>
#include <variant>

#include "core/spec.hpp"
#include "random_types.hpp"

using strider::core::format_error;
using strider::core::parse_spec;
using strider::core::SpecError;
using strider::core::SpecNode;

namespace {

SpecNode parse_ok(const std::string& text) {
  auto result = parse_spec(text);
  if (auto* error = std::get_if<SpecError>(&result)) {
    FAIL("unexpected parse error:\n" << format_error(text, *error));
  }
  return std::get<SpecNode>(result);
}

SpecError parse_error(const std::string& text) {
  auto result = parse_spec(text);
  if (std::holds_alternative<SpecNode>(result)) {
    FAIL("expected an error for: " << text);
  }
  return std::get<SpecError>(result);
}

}  // namespace

TEST_CASE("every constructor round-trips through its canonical text", "[spec]") {
  const std::string text = GENERATE(as<std::string>{},
      "double",
      "2int",
      "long_double_int",
      "contiguous(4, double)",
      "vector(4, 2, 8, int)",
      "vector(3, 1, -5, char)",
      "hvector(2, 3, 4096, float)",
      "hvector(4, 1, -1048576, vector(3, 1, 2, double))",
      "indexed([1, 0, 3], [0, 4, -9], short)",
      "hindexed([2, 2], [-16, 64], double_int)",
      "indexed_block(2, [0, 5, 10], int)",
      "hindexed_block(1, [0, 24, -8], long_double)",
      "struct([1, 2, 0], [0, 8, 100], [int, double, char])",
      "struct([], [], [])",
      "subarray([64, 64, 64], [3, 64, 64], [0, 0, 0], C, double)",
      "subarray([10, 20], [1, 20], [9, 0], F, float)",
      "darray(4, 1, [10, 10], [block, cyclic], [dflt, 2], [2, 2], C, double)",
      "darray(2, 0, [9], [none], [dflt], [1], F, int)",
      "resized(0, 8, vector(64, 1, 64, double))",
      "resized(-4, 16, int)",
      "dup(struct([1], [0], [float_int]))",
      "f90_real(6, 30)",
      "f90_complex(15, -32766)",
      "f90_integer(9)",
      "contiguous(0, int)");
  const SpecNode node = parse_ok(text);
  CHECK(strider::core::to_string(node) == text);
  CHECK(parse_ok(strider::core::to_string(node)) == node);
}

TEST_CASE("whitespace and MPI spellings parse to the canonical tree", "[spec]") {
  const SpecNode spaced = parse_ok("  subarray( [4,4] ,[2, 2],\n[1,1], MPI_ORDER_FORTRAN , MPI_DOUBLE )  ");
  CHECK(strider::core::to_string(spaced) == "subarray([4, 4], [2, 2], [1, 1], F, double)");
  CHECK(parse_ok("MPI_2INT") == SpecNode::named("2int"));
  CHECK(parse_ok("MPI_LONG_DOUBLE_INT") == SpecNode::named("long_double_int"));
  CHECK(strider::core::to_string(parse_ok(
            "darray(1,0,[5],[MPI_DISTRIBUTE_CYCLIC],[MPI_DISTRIBUTE_DFLT_DARG],[1],C,MPI_INT)")) ==
        "darray(1, 0, [5], [cyclic], [dflt], [1], C, int)");
}

TEST_CASE("the tree records kinds, values and byte positions", "[spec]") {
  const SpecNode node = parse_ok("vector(4, -2, 8, MPI_DOUBLE)");
  REQUIRE(node.kind == SpecNode::Kind::call);
  CHECK(node.name == "vector");
  REQUIRE(node.items.size() == 4);
  CHECK(node.items[1].kind == SpecNode::Kind::integer);
  CHECK(node.items[1].value == -2);
  CHECK(node.items[1].position == 10);
  CHECK(node.items[3].kind == SpecNode::Kind::named);
  CHECK(node.items[3].name == "double");
  CHECK(node.items[3].position == 17);
  // Equality ignores positions.
  CHECK(node == SpecNode::call("vector", {SpecNode::integer(4), SpecNode::integer(-2),
                                         SpecNode::integer(8), SpecNode::named("double")}));
  CHECK(node != parse_ok("vector(4, -2, 9, double)"));
}

TEST_CASE("64-bit integers parse at both ends of the range", "[spec]") {
  CHECK(parse_ok("resized(-9223372036854775808, 9223372036854775807, char)").items[0].value ==
        INT64_MIN);
  const SpecError error = parse_error("resized(0, 9223372036854775808, char)");
  CHECK(error.message == "integer out of 64-bit range");
  CHECK(error.position == 11);
}

struct ErrorCase {
  const char* text;
  std::size_t position;
  const char* message;
};

TEST_CASE("errors name the problem and point at it", "[spec]") {
  const ErrorCase c = GENERATE(values<ErrorCase>({
      {"doubel", 0, "unknown name 'doubel' (did you mean 'double'?)"},
      {"vector(4, 2, 8, MPI_DUBLE)", 16, "unknown name 'MPI_DUBLE' (did you mean 'double'?)"},
      {"vektor(4, 2, 8, double)", 0, "unknown constructor 'vektor' (did you mean 'vector'?)"},
      {"double(3)", 0, "'double' is a predefined type and takes no arguments"},
      {"contiguous", 0, "'contiguous' is a constructor and needs arguments: contiguous(...)"},
      {"vector(4, 2, double)", 19,
       "vector expects 4 arguments (count, blocklength, stride, type), got 3"},
      {"dup(int, int)", 9, "dup expects 1 argument (type), got 2"},
      {"contiguous()", 11, "contiguous expects 2 arguments (count, type), got 0"},
      {"vector(4, 2, [8], double)", 13,
       "vector argument 3 (stride) must be an integer, got a list"},
      {"contiguous(4, 5)", 14, "contiguous argument 2 (type) must be a type, got an integer"},
      {"indexed([1, 2, 3], [0, 4], int)", 19, "indexed: 3 blocklengths but 2 displacements"},
      {"struct([1, 1], [0, 8], [int])", 23, "struct: 2 blocklengths but 1 types"},
      {"subarray([4, 4], [2], [0, 0], C, int)", 17, "subarray: 2 sizes but 1 subsizes"},
      {"darray(4, 0, [8, 8], [block], [dflt, dflt], [2, 2], C, int)", 21,
       "darray: 2 gsizes but 1 distribs"},
      {"indexed([1, x], [0, 4], int)", 12, "unknown name 'x'"},
      {"indexed([1, C], [0, 4], int)", 12,
       "indexed blocklengths[1] must be an integer, got the word 'C'"},
      {"struct([1], [0], [C])", 18, "struct types[0] must be a type, got the word 'C'"},
      {"subarray([4], [2], [0], X, int)", 24, "unknown name 'X'"},
      {"subarray([4], [2], [0], block, int)", 24,
       "subarray argument 4 (order) must be C or F, got the word 'block'"},
      {"darray(1, 0, [4], [diagonal], [dflt], [1], C, int)", 19,
       "unknown name 'diagonal'"},
      {"darray(1, 0, [4], [C], [dflt], [1], C, int)", 19,
       "darray distribs[0] must be block, cyclic or none, got the word 'C'"},
      {"darray(1, 0, [4], [block], [none], [1], C, int)", 28,
       "darray dargs[0] must be an integer or dflt, got the word 'none'"},
      {"vector(4, 2, 8, double", 6, "unbalanced '(': vector( is never closed with ')'"},
      {"indexed([1, 2", 8, "unbalanced '[': the list is never closed with ']'"},
      {"indexed([1, 2, [0, 1], int)", 26, "expected ',' or ']' in the list, got ')'"},
      {"vector(4, 2, 8, double))", 23, "unbalanced ')': nothing to close"},
      {"vector(4, 2, 8, double] ", 22,
       "expected ',' or ')' in the arguments of vector, got ']'"},
      {"indexed([1 2], [0, 4], int)", 11, "expected ',' or ']' in the list, got '2'"},
      {"double int", 7, "unexpected 'int' after the type expression"},
      {"contiguous(2, int) garbage", 19, "unexpected 'garbage' after the type expression"},
      {"", 0, "empty spec: expected a type"},
      {"   ", 3, "empty spec: expected a type"},
      {"[1, 2]", 0, "expected a type, got a list"},
      {"block", 0, "expected a type, got the word 'block'"},
      {"contiguous(-, int)", 11, "expected digits after '-'"},
      {"contiguous(4, int,)", 18, "unexpected ')': expected an argument"},
      {"contiguous(4, @)", 14, "unexpected '@': expected an integer, a list, a word or a type"},
  }));
  CAPTURE(c.text);
  const SpecError error = parse_error(c.text);
  CHECK(error.message == c.message);
  CHECK(error.position == c.position);
}

TEST_CASE("format_error puts a caret under the error position", "[spec]") {
  const std::string text = "vector(4, 2, double)";
  const SpecError error = parse_error(text);
  CHECK(format_error(text, error) ==
        "vector(4, 2, double)\n"
        "                   ^\n"
        "vector expects 4 arguments (count, blocklength, stride, type), got 3");
}

TEST_CASE("format_error shows only the offending line of a multi-line spec", "[spec]") {
  const std::string text = "struct([1, 1],\n       [0, 8],\n       [int, dubble])";
  const SpecError error = parse_error(text);
  CHECK(error.position == text.find("dubble"));
  CHECK(format_error(text, error) ==
        "       [int, dubble])\n"
        "             ^\n"
        "line 3: unknown name 'dubble' (did you mean 'double'?)");
}

TEST_CASE("format_error at the end of the text puts the caret after the last character",
          "[spec]") {
  CHECK(format_error("ab", SpecError{"m", 2}) == "ab\n  ^\nm");
  CHECK(format_error("ab", SpecError{"m", 99}) == "ab\n  ^\nm");
}

TEST_CASE("the name tables list every predefined type and constructor", "[spec]") {
  CHECK(strider::core::is_named_type("double"));
  CHECK(strider::core::is_named_type("2int"));
  CHECK(strider::core::is_named_type("c_double_complex"));
  CHECK_FALSE(strider::core::is_named_type("MPI_DOUBLE"));
  CHECK_FALSE(strider::core::is_named_type("vector"));
  CHECK(strider::core::constructor_names().size() == 15);
  for (auto name : strider::core::named_type_names()) {
    CAPTURE(name);
    CHECK(parse_ok(std::string(name)) == SpecNode::named(std::string(name)));
  }
}

TEST_CASE("random types print and parse back to the same tree", "[spec][random]") {
  strider::test::RandomTypeOptions options;
  for (std::uint64_t seed = 0; seed < 500; ++seed) {
    std::mt19937_64 rng(seed);
    const SpecNode node = strider::test::random_type(rng, options);
    const std::string text = strider::test::spec_string(node);
    CAPTURE(seed, text);
    REQUIRE(node.is_type());
    CHECK(parse_ok(text) == node);
  }
}

TEST_CASE("the random type generator is deterministic per seed and respects its bounds",
          "[spec][random]") {
  strider::test::RandomTypeOptions options;
  options.max_packed_bytes = 1 << 16;
  options.max_extent = 1 << 20;
  int with_zero_size = 0;
  for (std::uint64_t seed = 0; seed < 1000; ++seed) {
    std::mt19937_64 a(seed);
    std::mt19937_64 b(seed);
    const auto first = strider::test::random_type_with_bounds(a, options);
    const auto second = strider::test::random_type_with_bounds(b, options);
    CAPTURE(seed, strider::test::spec_string(first.spec));
    CHECK(first.spec == second.spec);
    CHECK(first.bounds.size <= options.max_packed_bytes);
    CHECK(first.bounds.extent <= options.max_extent);
    CHECK(first.bounds.true_extent <= options.max_extent);
    CHECK(first.bounds.size >= 0);
    CHECK_FALSE(first.bounds.may_overlap);
    if (first.bounds.size == 0) ++with_zero_size;
  }
  // Zero counts are part of the mix, but a small part.
  CHECK(with_zero_size > 0);
  CHECK(with_zero_size < 100);
}
