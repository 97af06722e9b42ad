#include "memory/pool.hpp"

namespace strider::memory {

core::Status acquire(PoolKind /*kind*/, int /*device*/, std::size_t /*bytes*/, StagingBuffer* out) {
  *out = StagingBuffer{};
  return {core::Code::unsupported, "built without the CUDA backend"};
}

void release(StagingBuffer& buffer) { buffer = StagingBuffer{}; }

core::Status trim() { return core::Status::ok(); }

PoolStats pool_stats() { return {}; }

std::size_t pool_size_class(std::size_t bytes) {
  std::size_t size = std::size_t{64} << 10;
  while (size < bytes) size *= 2;
  return size;
}

}  // namespace strider::memory
