// Layout normalisation on hand-built values: every rewrite keeps the pack order.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "backend/cpu/reference_pack.hpp"
#include "layout_printing.hpp"
#include "types/layout.hpp"

using strider::types::Dim;
using strider::types::Layout;
using strider::types::LayoutClass;
using strider::types::Piece;

namespace {

Layout make(std::vector<Piece> pieces, std::vector<Dim> outer = {}) {
  Layout l;
  l.pieces = std::move(pieces);
  l.outer = std::move(outer);
  return l;
}

// Packs a 4 KiB buffer of distinct bytes through `layout`, for before/after comparisons.
std::vector<unsigned char> packed(const Layout& layout) {
  std::vector<unsigned char> source(4096);
  for (std::size_t i = 0; i < source.size(); ++i) source[i] = static_cast<unsigned char>(i * 131 + i / 256);
  std::int64_t bytes = 0;
  for (const auto& p : layout.pieces) bytes += p.packed_bytes();
  for (const auto& d : layout.outer) bytes *= d.count;
  std::vector<unsigned char> out(static_cast<std::size_t>(bytes));
  strider::backend::cpu::reference_pack(layout, 1, source.data() + 2048, out.data());
  return out;
}

// Normalises a copy and checks the packed bytes did not change.
Layout normalized(const Layout& before) {
  Layout after = before;
  normalize(after);
  CHECK(packed(after) == packed(before));
  return after;
}

}  // namespace

TEST_CASE("count-1 dimensions are dropped") {
  CHECK(normalized(make({{0, 8, {{1, 100}, {3, 64}, {1, 7}}}})).pieces == std::vector<Piece>{{0, 8, {{3, 64}}}});
}

TEST_CASE("a dimension whose stride is the block folds into the block") {
  CHECK(normalized(make({{16, 8, {{4, 8}, {2, 100}}}})).pieces == std::vector<Piece>{{16, 32, {{2, 100}}}});
}

TEST_CASE("dimensions whose strides compose merge") {
  CHECK(normalized(make({{0, 4, {{3, 16}, {5, 48}}}})).pieces == std::vector<Piece>{{0, 4, {{15, 16}}}});
  // Negative strides compose the same way.
  CHECK(normalized(make({{0, 4, {{3, -16}, {5, -48}}}})).pieces == std::vector<Piece>{{0, 4, {{15, -16}}}});
}

TEST_CASE("dimensions are never reordered") {
  // Inner stride larger than outer: a transpose; must stay as it is.
  const Layout l = normalized(make({{0, 8, {{4, 32}, {4, 8}}}}));
  CHECK(l.pieces == std::vector<Piece>{{0, 8, {{4, 32}, {4, 8}}}});
}

TEST_CASE("adjacent dimensionless pieces join") {
  CHECK(normalized(make({{0, 4, {}}, {4, 12, {}}, {16, 4, {}}})).pieces == std::vector<Piece>{{0, 20, {}}});
}

TEST_CASE("equal pieces at a regular spacing become a dimension") {
  CHECK(normalized(make({{0, 4, {}}, {10, 4, {}}, {20, 4, {}}, {30, 4, {}}})).pieces ==
        std::vector<Piece>{{0, 4, {{4, 10}}}});
  CHECK(normalized(make({{0, 4, {{2, 8}}}, {100, 4, {{2, 8}}}, {200, 4, {{2, 8}}}})).pieces ==
        std::vector<Piece>{{0, 4, {{2, 8}, {3, 100}}}});
}

TEST_CASE("irregular pieces stay a sequence or a block list") {
  const Layout few = normalized(make({{0, 4, {}}, {10, 2, {}}, {30, 4, {}}}));
  CHECK(few.klass() == LayoutClass::sequence);
  CHECK(few.pieces.size() == 3);
  std::vector<Piece> many;
  for (int i = 0; i < 20; ++i) many.push_back({i * i * 3, 1 + i % 2, {}});
  CHECK(normalized(make(many)).klass() == LayoutClass::blocklist);
}

TEST_CASE("an outer repetition of one piece folds into the piece") {
  CHECK(normalized(make({{0, 8, {{3, 16}}}}, {{5, 64}})).pieces == std::vector<Piece>{{0, 8, {{3, 16}, {5, 64}}}});
  const Layout seq = normalized(make({{0, 4, {}}, {8, 8, {}}}, {{5, 32}, {1, 9}}));
  CHECK(seq.outer == std::vector<Dim>{{5, 32}});
}

TEST_CASE("zero counts and zero bytes empty the layout") {
  CHECK(normalized(make({{0, 8, {{0, 16}}}})).klass() == LayoutClass::empty);
  CHECK(normalized(make({{0, 0, {{3, 16}}}})).klass() == LayoutClass::empty);
  CHECK(normalized(make({{0, 4, {}}, {8, 4, {}}}, {{0, 16}})).klass() == LayoutClass::empty);
}

TEST_CASE("repeat adds one element dimension of the extent") {
  Layout l = make({{0, 8, {{4, 32}}}});
  l.size = 32;
  l.extent = 104;
  l.true_extent = 104;
  const Layout three = strider::types::repeat(l, 3);
  CHECK(three.pieces == std::vector<Piece>{{0, 8, {{4, 32}, {3, 104}}}});
  CHECK(three.size == 96);
  CHECK(three.extent == 312);
  CHECK(three.true_extent == 312);
  CHECK(strider::types::repeat(l, 0).klass() == LayoutClass::empty);
}

TEST_CASE("overlap is detected between and within pieces") {
  CHECK_FALSE(make({{0, 8, {{4, 8}}}}).overlaps());
  CHECK(make({{0, 8, {{4, 4}}}}).overlaps());
  CHECK(make({{0, 8, {}}, {4, 8, {}}}).overlaps());
  CHECK(make({{0, 4, {{2, 0}}}}).overlaps());
  CHECK_FALSE(make({{0, 4, {}}, {8, 4, {}}}, {{3, 16}}).overlaps());
  CHECK(make({{0, 4, {}}, {8, 4, {}}}, {{3, 8}}).overlaps());
}

TEST_CASE("layouts are values: equal, hashed, printed and serialised alike") {
  const Layout a = make({{0, 8, {{4, 32}}}});
  const Layout b = make({{0, 8, {{4, 32}}}});
  CHECK(a == b);
  CHECK(hash_value(a) == hash_value(b));
  CHECK(hash_value(a) != hash_value(make({{0, 8, {{4, 33}}}})));
  CHECK(to_string(a) == to_string(b));
  nlohmann::json j = a;
  CHECK(j["class"] == "strided");
  CHECK(j["pieces"][0]["dims"][0] == nlohmann::json::array({4, 32}));
}
