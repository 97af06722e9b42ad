// Exact canonical Layouts for every constructor and the common halo idioms, built with the
// underlying MPI's own constructors and decoded through MPI_Type_get_contents.
#include <catch2/catch.hpp>
#include <mpi.h>

#include "types/canonicalize.hpp"
#include "types/decode.hpp"
#include "types/layout.hpp"
#include "layout_printing.hpp"

using strider::types::Dim;
using strider::types::Layout;
using strider::types::LayoutClass;
using strider::types::Piece;

namespace {

bool is_named(MPI_Datatype type) {
  int ints = 0, addresses = 0, types = 0, combiner = 0;
  MPI_Type_get_envelope(type, &ints, &addresses, &types, &combiner);
  return combiner == MPI_COMBINER_NAMED;
}

// Commits `type`, canonicalises it, frees it (unless predefined).
Layout layout_of(MPI_Datatype type) {
  const bool named = is_named(type);
  if (!named) MPI_Type_commit(&type);
  const auto ir = strider::types::decode(type);
  REQUIRE(ir);
  auto canon = strider::types::canonicalize(*ir);
  INFO(strider::types::to_string(*ir));
  INFO(canon.reason);
  REQUIRE(canon.layout.has_value());
  if (!named) MPI_Type_free(&type);
  return *canon.layout;
}

std::vector<Piece> pieces_of(MPI_Datatype type) { return layout_of(type).pieces; }

MPI_Datatype subarray(std::vector<int> sizes, std::vector<int> subsizes, std::vector<int> starts,
                      int order, MPI_Datatype old = MPI_DOUBLE) {
  MPI_Datatype t;
  MPI_Type_create_subarray(static_cast<int>(sizes.size()), sizes.data(), subsizes.data(),
                           starts.data(), order, old, &t);
  return t;
}

MPI_Datatype vector(int count, int blocklength, int stride, MPI_Datatype old = MPI_DOUBLE) {
  MPI_Datatype t;
  MPI_Type_vector(count, blocklength, stride, old, &t);
  return t;
}

MPI_Datatype resized(MPI_Datatype old, MPI_Aint lb, MPI_Aint extent) {
  MPI_Datatype t;
  MPI_Type_create_resized(old, lb, extent, &t);
  MPI_Type_free(&old);
  return t;
}

}  // namespace

TEST_CASE("a named type is one contiguous block") {
  const Layout l = layout_of(MPI_DOUBLE);
  CHECK(l.klass() == LayoutClass::contiguous);
  CHECK(l.pieces == std::vector<Piece>{{0, 8, {}}});
  CHECK(l.size == 8);
  CHECK(l.extent == 8);
}

TEST_CASE("MPI_SHORT_INT packs its two members around the hole") {
  const Layout l = layout_of(MPI_SHORT_INT);
  CHECK(l.klass() == LayoutClass::sequence);
  CHECK(l.pieces == std::vector<Piece>{{0, 2, {}}, {4, 4, {}}});
}

TEST_CASE("contiguous of a named type is one block") {
  MPI_Datatype t;
  MPI_Type_contiguous(10, MPI_INT, &t);
  CHECK(pieces_of(t) == std::vector<Piece>{{0, 40, {}}});
}

TEST_CASE("vector becomes one strided dimension") {
  const Layout l = layout_of(vector(4, 2, 8));
  CHECK(l.klass() == LayoutClass::strided);
  CHECK(l.pieces == std::vector<Piece>{{0, 16, {{4, 64}}}});
  CHECK(l.extent == (3 * 8 + 2) * 8);
}

TEST_CASE("a vector with stride equal to its block is contiguous") {
  CHECK(pieces_of(vector(5, 3, 3)) == std::vector<Piece>{{0, 120, {}}});
}

TEST_CASE("hvector of vector keeps both dimensions in MPI order") {
  // A column of a 7x6 plane, taken from 3 planes.
  MPI_Datatype column = vector(5, 1, 7);
  MPI_Datatype t;
  MPI_Type_create_hvector(3, 1, 7 * 6 * 8, column, &t);
  MPI_Type_free(&column);
  CHECK(pieces_of(t) == std::vector<Piece>{{0, 8, {{5, 56}, {3, 336}}}});
  // When the planes hold exactly the column's rows, the two dimensions are one.
  column = vector(5, 1, 7);
  MPI_Type_create_hvector(3, 1, 7 * 5 * 8, column, &t);
  MPI_Type_free(&column);
  CHECK(pieces_of(t) == std::vector<Piece>{{0, 8, {{15, 56}}}});
}

TEST_CASE("negative hvector strides are kept") {
  MPI_Datatype t;
  MPI_Type_create_hvector(3, 1, -16, MPI_DOUBLE, &t);
  CHECK(pieces_of(t) == std::vector<Piece>{{0, 8, {{3, -16}}}});
}

TEST_CASE("3-D subarray faces in C order") {
  SECTION("a z-face of whole planes is contiguous") {
    CHECK(pieces_of(subarray({64, 64, 64}, {3, 64, 64}, {0, 0, 0}, MPI_ORDER_C)) ==
          std::vector<Piece>{{0, 3 * 64 * 64 * 8, {}}});
  }
  SECTION("a y-face is rows of three lines") {
    CHECK(pieces_of(subarray({64, 64, 64}, {64, 3, 64}, {0, 2, 0}, MPI_ORDER_C)) ==
          std::vector<Piece>{{2 * 512, 3 * 512, {{64, 32768}}}});
  }
  SECTION("an x-face is 8-byte blocks with its two outer dimensions merged") {
    CHECK(pieces_of(subarray({64, 64, 64}, {64, 64, 3}, {0, 0, 61}, MPI_ORDER_C)) ==
          std::vector<Piece>{{61 * 8, 24, {{64 * 64, 512}}}});
  }
  SECTION("an interior block keeps three dimensions") {
    CHECK(pieces_of(subarray({10, 20, 30}, {2, 3, 4}, {1, 2, 3}, MPI_ORDER_C)) ==
          std::vector<Piece>{{(1 * 600 + 2 * 30 + 3) * 8, 32, {{3, 240}, {2, 4800}}}});
  }
}

TEST_CASE("3-D subarray faces in Fortran order") {
  CHECK(pieces_of(subarray({64, 64, 64}, {3, 64, 64}, {61, 0, 0}, MPI_ORDER_FORTRAN)) ==
        std::vector<Piece>{{61 * 8, 24, {{64 * 64, 512}}}});
  CHECK(pieces_of(subarray({10, 20, 30}, {4, 3, 2}, {3, 2, 1}, MPI_ORDER_FORTRAN)) ==
        std::vector<Piece>{{(3 + 2 * 10 + 1 * 200) * 8, 32, {{3, 80}, {2, 1600}}}});
}

TEST_CASE("a subarray of a subarray stays one strided block") {
  MPI_Datatype inner = subarray({4, 4}, {2, 2}, {1, 1}, MPI_ORDER_C, MPI_INT);
  MPI_Datatype outer = subarray({8}, {4}, {2}, MPI_ORDER_C, inner);
  MPI_Type_free(&inner);
  CHECK(pieces_of(outer) == std::vector<Piece>{{2 * 64 + 20, 8, {{2, 16}, {4, 64}}}});
}

TEST_CASE("the resized-column idiom keeps the column-major pack order") {
  // One column of a 4x4 row-major matrix, resized to one element: count 4 = the transpose.
  MPI_Datatype column = resized(vector(4, 1, 4), 0, 8);
  MPI_Datatype t;
  MPI_Type_contiguous(4, column, &t);
  MPI_Type_free(&column);
  CHECK(pieces_of(t) == std::vector<Piece>{{0, 8, {{4, 32}, {4, 8}}}});
}

TEST_CASE("resized shifts the bounds but not the data") {
  MPI_Datatype pair;
  MPI_Type_contiguous(2, MPI_DOUBLE, &pair);
  const Layout l = layout_of(resized(pair, -8, 32));
  CHECK(l.pieces == std::vector<Piece>{{0, 16, {}}});
  CHECK(l.lb == -8);
  CHECK(l.extent == 32);
  CHECK(l.true_lb == 0);
  CHECK(l.true_extent == 16);
  // Three elements, 32 bytes apart: one more dimension.
  CHECK(strider::types::repeat(l, 3).pieces == std::vector<Piece>{{0, 16, {{3, 32}}}});
}

TEST_CASE("a struct of one member is that member, shifted") {
  int length = 3;
  MPI_Aint displacement = 16;
  MPI_Datatype member = MPI_DOUBLE;
  MPI_Datatype t;
  MPI_Type_create_struct(1, &length, &displacement, &member, &t);
  CHECK(pieces_of(t) == std::vector<Piece>{{16, 24, {}}});
}

TEST_CASE("a struct of equal members at a regular spacing is strided") {
  int lengths[3] = {1, 1, 1};
  MPI_Aint displacements[3] = {0, 16, 32};
  MPI_Datatype members[3] = {MPI_DOUBLE, MPI_DOUBLE, MPI_DOUBLE};
  MPI_Datatype t;
  MPI_Type_create_struct(3, lengths, displacements, members, &t);
  CHECK(pieces_of(t) == std::vector<Piece>{{0, 8, {{3, 16}}}});
}

TEST_CASE("zero-size struct members vanish") {
  int lengths[3] = {1, 0, 1};
  MPI_Aint displacements[3] = {0, 4, 8};
  MPI_Datatype members[3] = {MPI_INT, MPI_CHAR, MPI_DOUBLE};
  MPI_Datatype t;
  MPI_Type_create_struct(3, lengths, displacements, members, &t);
  const Layout l = layout_of(t);
  CHECK(l.klass() == LayoutClass::sequence);
  CHECK(l.pieces == std::vector<Piece>{{0, 4, {}}, {8, 8, {}}});
  // Repeating a two-piece sequence is an outer dimension, not an unrolled list.
  const Layout many = strider::types::repeat(l, 100);
  CHECK(many.pieces == l.pieces);
  CHECK(many.outer == std::vector<Dim>{{100, 16}});
}

TEST_CASE("indexed with uniform displacements is strided") {
  int lengths[3] = {2, 2, 2};
  int displacements[3] = {0, 5, 10};
  MPI_Datatype t;
  MPI_Type_indexed(3, lengths, displacements, MPI_INT, &t);
  CHECK(pieces_of(t) == std::vector<Piece>{{0, 8, {{3, 20}}}});
}

TEST_CASE("indexed_block and hindexed_block with uniform displacements are strided") {
  int displacements[4] = {1, 4, 7, 10};
  MPI_Datatype t;
  MPI_Type_create_indexed_block(4, 2, displacements, MPI_DOUBLE, &t);
  CHECK(pieces_of(t) == std::vector<Piece>{{8, 16, {{4, 24}}}});
  MPI_Aint byte_displacements[3] = {100, 60, 20};
  MPI_Type_create_hindexed_block(3, 1, byte_displacements, MPI_INT, &t);
  CHECK(pieces_of(t) == std::vector<Piece>{{100, 4, {{3, -40}}}});
}

TEST_CASE("irregular indexed types become a block list in MPI order") {
  std::vector<int> lengths(12), displacements(12);
  for (int i = 0; i < 12; ++i) {
    lengths[static_cast<std::size_t>(i)] = 1 + i % 3;
    displacements[static_cast<std::size_t>(i)] = 100 - i * i;
  }
  MPI_Datatype t;
  MPI_Type_indexed(12, lengths.data(), displacements.data(), MPI_CHAR, &t);
  const Layout l = layout_of(t);
  CHECK(l.klass() == LayoutClass::blocklist);
  REQUIRE(l.pieces.size() == 12);
  CHECK(l.pieces[0] == Piece{100, 1, {}});
  CHECK(l.pieces[11] == Piece{100 - 121, 3, {}});
}

TEST_CASE("darray block distribution is the owned block") {
  int gsizes[1] = {8}, distribs[1] = {MPI_DISTRIBUTE_BLOCK}, dargs[1] = {MPI_DISTRIBUTE_DFLT_DARG},
      psizes[1] = {4};
  MPI_Datatype t;
  MPI_Type_create_darray(4, 1, 1, gsizes, distribs, dargs, psizes, MPI_ORDER_C, MPI_INT, &t);
  const Layout l = layout_of(t);
  CHECK(l.pieces == std::vector<Piece>{{8, 8, {}}});
  CHECK(l.extent == 32);
}

TEST_CASE("darray cyclic distribution is a strided dimension plus the remainder") {
  int gsizes[1] = {10}, distribs[1] = {MPI_DISTRIBUTE_CYCLIC}, dargs[1] = {2}, psizes[1] = {2};
  MPI_Datatype t;
  MPI_Type_create_darray(2, 0, 1, gsizes, distribs, dargs, psizes, MPI_ORDER_C, MPI_INT, &t);
  // Rank 0 owns [0,2), [4,6), [8,10).
  CHECK(pieces_of(t) == std::vector<Piece>{{0, 8, {{3, 16}}}});
}

TEST_CASE("incount folds into the outermost dimension") {
  const Layout l = layout_of(vector(4, 2, 8));
  CHECK(strider::types::repeat(l, 3).pieces == std::vector<Piece>{{0, 16, {{4, 64}, {3, 208}}}});
  MPI_Datatype four;
  MPI_Type_contiguous(4, MPI_DOUBLE, &four);
  CHECK(strider::types::repeat(layout_of(four), 5).pieces == std::vector<Piece>{{0, 160, {}}});
}

TEST_CASE("types Open MPI packs against their contents are left to the underlying MPI") {
  // Open MPI 4.1 packs an hvector of 1-byte elements with byte stride -1 as an ascending
  // block (its true bounds say so too), not in the order of the contents.
  MPI_Datatype t;
  MPI_Type_create_hvector(5, 1, -1, MPI_CHAR, &t);
  MPI_Type_commit(&t);
  const auto ir = strider::types::decode(t);
  REQUIRE(ir);
  const auto canon = strider::types::canonicalize(*ir);
  CHECK_FALSE(canon.layout.has_value());
  CHECK(canon.reason.find("MPI reports true bounds") != std::string::npos);
  MPI_Type_free(&t);
}
