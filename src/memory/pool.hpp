#pragma once
// Staging buffer pools, per device: device memory and mapped (page-locked, device-addressable)
// host memory. Buffers are allocated on first need, recycled by size class, and freed only by
// trim(), which runtime teardown calls before MPI_Finalize; no static destructor touches CUDA.
// Without the CUDA backend every acquire returns Code::unsupported.
#include <cstddef>
#include <cstdint>

#include "core/status.hpp"

namespace strider::memory {

enum class PoolKind { device, mapped };

struct StagingBuffer {
  void* ptr = nullptr;         // host address for mapped, device address for device
  void* device_ptr = nullptr;  // the address kernels use (== ptr for device memory)
  std::size_t bytes = 0;       // capacity (>= the bytes asked for)
  int device = -1;
  PoolKind kind = PoolKind::device;
  explicit operator bool() const { return ptr != nullptr; }
};

// A buffer of at least `bytes` bytes on `device` (the device of the user buffer it stages).
// Allocates with that device current and restores the caller's current device.
core::Status acquire(PoolKind kind, int device, std::size_t bytes, StagingBuffer* out);
// Returns a buffer to its pool (never frees); resets `buffer`.
void release(StagingBuffer& buffer);
// Frees every pooled buffer not currently acquired.
core::Status trim();

struct PoolStats {
  std::size_t pooled_bytes = 0;    // free, waiting in the pools
  std::size_t acquired_bytes = 0;  // handed out
  std::uint64_t allocations = 0;
  std::uint64_t reuses = 0;
};
PoolStats pool_stats();

// Size class of a request: the next power of two, at least 64 KiB.
std::size_t pool_size_class(std::size_t bytes);

}  // namespace strider::memory
