#pragma once
// TypeIR: a datatype exactly as MPI_Type_get_envelope / MPI_Type_get_contents describe it,
// plus the size and bounds the underlying MPI reports for every node. It is a value:
// comparable, printable, JSON-serialisable. Canonicalisation reads only this.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace strider::types {

enum class Combiner {
  named, dup, contiguous, vector, hvector, indexed, hindexed, indexed_block, hindexed_block,
  structure, subarray, darray, resized, f90_real, f90_complex, f90_integer,
  unknown  // a combiner Strider does not decode; such types have no Layout
};
const char* to_string(Combiner combiner);

struct TypeIR {
  Combiner combiner = Combiner::named;
  std::string name;                              // named types: "MPI_DOUBLE"; else empty
  std::vector<std::int64_t> ints;                // the contents' integers, in MPI's order
  std::vector<std::int64_t> addresses;           // the contents' MPI_Aint values
  std::vector<std::shared_ptr<const TypeIR>> children;  // the contents' datatypes
  // As the underlying MPI reports them for this node (bytes).
  std::int64_t size = 0;
  std::int64_t lb = 0;
  std::int64_t extent = 0;
  std::int64_t true_lb = 0;
  std::int64_t true_extent = 0;

  bool operator==(const TypeIR& other) const;
};

// One line per node, children indented: "vector(count=4 blocklength=2 stride=8) size=..."
std::string to_string(const TypeIR& ir);
void to_json(nlohmann::json& out, const TypeIR& ir);
std::size_t hash_value(const TypeIR& ir);

}  // namespace strider::types
