#pragma once
// The Layout of a datatype on the hot path: the type cache behind a per-thread memo of the
// last type asked for, so repeated calls with the same type cost two loads and a compare.
#include <mpi.h>

#include <cstdint>
#include <memory>

#include "types/cache.hpp"

namespace strider::exec {

// Null when the type has no Layout. The reference stays valid until the next call on this
// thread; copy the shared_ptr to keep the Layout longer.
inline const std::shared_ptr<const types::Layout>& layout_of(MPI_Datatype type) {
  struct Memo {
    MPI_Datatype type = MPI_DATATYPE_NULL;
    std::uint64_t generation = ~std::uint64_t{0};
    std::shared_ptr<const types::Layout> layout;
  };
  static thread_local Memo memo;
  types::TypeCache& cache = types::type_cache();
  // Any commit or free moves the generation on, so a reused handle is never served stale.
  const std::uint64_t generation = cache.generation();
  if (memo.type != type || memo.generation != generation) {
    memo.layout = cache.find(type);
    memo.type = type;
    memo.generation = generation;
  }
  return memo.layout;
}

}  // namespace strider::exec
