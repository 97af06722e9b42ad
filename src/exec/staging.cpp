#include "exec/staging.hpp"

#include <array>
#include <bit>
#include <cstdlib>
#include <mutex>
#include <vector>

namespace strider::exec {
namespace {

constexpr std::size_t kMinClass = 12;  // 4 KiB
constexpr std::size_t kClasses = 40;
// Beyond this many pooled bytes, released buffers go back to the system.
constexpr std::size_t kMaxPooledBytes = std::size_t{512} << 20;

struct Pool {
  std::mutex mutex;
  std::array<std::vector<void*>, kClasses> free;
  std::size_t pooled_bytes = 0;
};

Pool& pool() {
  static Pool* instance = new Pool;  // never destroyed: buffers may outlive static teardown
  return *instance;
}

std::size_t size_class(std::size_t bytes) {
  const std::size_t rounded = std::bit_ceil(bytes < (std::size_t{1} << kMinClass) ? (std::size_t{1} << kMinClass) : bytes);
  return static_cast<std::size_t>(std::countr_zero(rounded)) - kMinClass;
}

}  // namespace

Staging acquire_staging(std::size_t bytes) {
  const std::size_t cls = size_class(bytes);
  if (cls >= kClasses) return {};
  const std::size_t capacity = std::size_t{1} << (cls + kMinClass);
  Pool& p = pool();
  {
    std::lock_guard lock(p.mutex);
    if (!p.free[cls].empty()) {
      void* data = p.free[cls].back();
      p.free[cls].pop_back();
      p.pooled_bytes -= capacity;
      return {data, capacity};
    }
  }
  return {std::aligned_alloc(64, capacity), capacity};
}

void release_staging(Staging& buffer) {
  if (!buffer) return;
  const std::size_t cls = size_class(buffer.capacity);
  Pool& p = pool();
  {
    std::lock_guard lock(p.mutex);
    if (p.pooled_bytes + buffer.capacity <= kMaxPooledBytes) {
      p.free[cls].push_back(buffer.data);
      p.pooled_bytes += buffer.capacity;
      buffer = {};
      return;
    }
  }
  std::free(buffer.data);
  buffer = {};
}

void drain_staging() {
  Pool& p = pool();
  std::lock_guard lock(p.mutex);
  for (auto& list : p.free) {
    for (void* data : list) std::free(data);
    list.clear();
  }
  p.pooled_bytes = 0;
}

}  // namespace strider::exec
