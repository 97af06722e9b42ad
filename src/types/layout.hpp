#pragma once
// Layout: the canonical form every pack engine executes.
//
// One element of a datatype is a sequence of strided blocks ("pieces"), packed in order.
// A piece is `bytes` contiguous bytes at `offset`, repeated over `dims` (innermost first,
// each a count and a byte stride). The whole sequence may itself be repeated over `outer`
// dimensions (innermost first). All offsets are bytes relative to the buffer pointer the
// application passes (so they already include the type's lower bound), all arithmetic is
// 64-bit. The packed order is exactly the underlying MPI's:
//   for each outer index (outermost slowest), for each piece in order,
//     for each dims index (outermost slowest): copy `bytes` bytes.
// Classes: empty (nothing to pack), contiguous (one piece, no dims, no outer), strided
// (one piece with dims), sequence (a few pieces), blocklist (many dimensionless pieces).
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace strider::types {

struct Dim {
  std::int64_t count = 0;
  std::int64_t stride = 0;  // bytes; may be negative or zero
  bool operator==(const Dim&) const = default;
};

struct Piece {
  std::int64_t offset = 0;  // bytes from the buffer pointer to the first block
  std::int64_t bytes = 0;   // contiguous bytes per block
  std::vector<Dim> dims;    // innermost first
  bool operator==(const Piece&) const = default;

  std::int64_t blocks() const;        // product of dims' counts (1 when there are none)
  std::int64_t packed_bytes() const;  // bytes * blocks()
};

enum class LayoutClass { empty, contiguous, strided, sequence, blocklist };
const char* to_string(LayoutClass klass);

struct Layout {
  std::vector<Piece> pieces;
  std::vector<Dim> outer;  // repetitions of the whole piece sequence, innermost first
  // Of one element of the datatype, as MPI defines them (bytes).
  std::int64_t size = 0;     // packed bytes
  std::int64_t lb = 0;
  std::int64_t extent = 0;
  std::int64_t true_lb = 0;
  std::int64_t true_extent = 0;

  bool operator==(const Layout&) const = default;

  LayoutClass klass() const;
  // Number of contiguous blocks one element packs (pieces' blocks times outer counts).
  std::int64_t block_count() const;
  // True when two bytes of one element (incount 1) lie at the same address, so unpacking
  // into it is undefined in MPI.
  bool overlaps() const;
};

// Adds one outer dimension so the layout describes `count` consecutive elements (each
// `extent` bytes after the previous) and re-canonicalises; with a single piece the new
// dimension folds into the piece (and, when extent == packed row, into its block).
Layout repeat(const Layout& layout, std::int64_t count);

// Order-preserving simplification: drops count-1 dimensions and empty pieces, folds
// dimensions whose stride equals the contiguous run into `bytes`, merges dimensions whose
// strides compose, merges adjacent pieces and detects regular runs of equal pieces.
void normalize(Layout& layout);
void normalize(Piece& piece);
// The dimension part of normalize: drops count-1 dimensions and merges dimension i+1 into i
// when its stride is exactly the span of i (the enumeration order, hence the bytes, stay).
void merge_dims(std::vector<Dim>& dims);

std::string to_string(const Layout& layout);
void to_json(nlohmann::json& out, const Layout& layout);
std::size_t hash_value(const Layout& layout);

}  // namespace strider::types
