#pragma once
// Seeded random MPI datatypes as spec trees (core/spec.hpp), for tests that compare Strider
// against the underlying MPI. The same seed and options always give the same type.
#include <cstdint>
#include <random>
#include <string>

#include "core/spec.hpp"

namespace strider::test {

struct RandomTypeOptions {
  int max_depth = 4;                             // constructor nesting, leaves not counted
  std::int64_t max_packed_bytes = 4 << 20;       // MPI_Type_size of the result
  std::int64_t max_extent = 64 << 20;            // both extent and true extent (bytes)
  // false: the typemap has no two entries at the same byte, so unpacking into it is defined.
  bool allow_overlap = false;
};

// What the underlying MPI reports for a generated type, as the generator computed it while
// choosing strides (exact for size and true bounds; lb/extent follow Open MPI's rules for
// struct padding and resized bounds). For size 0, true_lb/true_extent are 0 by convention
// (MPIs disagree there).
struct TypeBounds {
  std::int64_t size = 0;
  std::int64_t lb = 0;
  std::int64_t extent = 0;
  std::int64_t true_lb = 0;
  std::int64_t true_extent = 0;
  bool may_overlap = false;  // only ever true with allow_overlap
};

struct RandomType {
  core::SpecNode spec;
  TypeBounds bounds;
};

// One random type: depth up to max_depth, every constructor, named leaves of several sizes,
// negative and large strides/displacements, resized bounds, zero counts and zero blocklengths,
// and the halo idioms (subarray faces, resized column, hvector of vector).
RandomType random_type_with_bounds(std::mt19937_64& rng, const RandomTypeOptions& options);
core::SpecNode random_type(std::mt19937_64& rng, const RandomTypeOptions& options);

// The canonical spec text (core::to_string), for failure messages and replay.
std::string spec_string(const core::SpecNode& node);

}  // namespace strider::test
