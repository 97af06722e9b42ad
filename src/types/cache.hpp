#pragma once
// Datatype handle -> Layout. Committed derived types are canonicalised at MPI_Type_commit
// and dropped at MPI_Type_free (Open MPI reuses handles); named types are computed on first
// use. Safe under MPI_THREAD_MULTIPLE.
#include <atomic>
#include <cstdint>
#include <memory>

#include <mpi.h>

#include "types/layout.hpp"

namespace strider::types {

class TypeCache {
 public:
  // Canonicalises a just-committed type and remembers it (replacing a stale entry).
  void on_commit(MPI_Datatype type);
  // Forgets a type about to be freed.
  void on_free(MPI_Datatype type);
  // `copy` is a new MPI_Type_dup of `original`: it shares the original's entry when the
  // original is committed through Strider or named (a dup is committed iff its original is).
  void on_dup(MPI_Datatype original, MPI_Datatype copy);
  // The Layout, or null when the type is unknown (never committed through Strider) or has
  // no Layout. Named types are looked up (and cached) on demand.
  std::shared_ptr<const Layout> find(MPI_Datatype type);
  // True when a committed type has an entry (with or without a Layout). Makes no MPI call,
  // so it may be asked about freed handles.
  bool holds(MPI_Datatype type);
  // Changes whenever an entry is added or dropped, so callers may memoise find() results.
  static std::uint64_t generation() { return generation_.load(std::memory_order_acquire); }
  void clear();

 private:
  struct Impl;
  Impl& impl();
  // One process-wide counter (there is one cache): a single load on the hot path.
  static inline constinit std::atomic<std::uint64_t> generation_{0};
};

// The process-wide cache (never destroyed: intercepted calls may run during exit).
inline TypeCache& type_cache() {
  static TypeCache* const cache = new TypeCache;
  return *cache;
}

}  // namespace strider::types
