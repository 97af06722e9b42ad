#pragma once
// Host staging buffers for packed messages, pooled by power-of-two size class so that
// steady-state sends and receives never call the allocator. Thread-safe.
#include <cstddef>

namespace strider::exec {

struct Staging {
  void* data = nullptr;
  std::size_t capacity = 0;
  explicit operator bool() const { return data != nullptr; }
};

// A buffer of at least `bytes` bytes (64-byte aligned); empty on allocation failure.
Staging acquire_staging(std::size_t bytes);
void release_staging(Staging& buffer);
// Returns every pooled buffer to the system (at MPI_Finalize).
void drain_staging();

}  // namespace strider::exec
