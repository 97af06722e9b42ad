#include "exec/staging.hpp"

#include <array>
#include <bit>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <vector>

#include <sys/mman.h>

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

// Each thread keeps a few buffers of the small classes itself: halo exchanges take and give
// back dozens of them per step, and the shared pool's lock was a visible share of a small
// message's cost. On the heap, so thread-local storage holds one pointer; a finishing thread
// hands its buffers to the shared pool.
constexpr std::size_t kLocalClasses = 5;  // 4 KiB .. 64 KiB
constexpr std::size_t kLocalDepth = 8;
struct LocalCache {
  std::array<std::array<void*, kLocalDepth>, kLocalClasses> free{};
  std::array<std::size_t, kLocalClasses> used{};
  LocalCache() = default;
  LocalCache(const LocalCache&) = delete;
  LocalCache& operator=(const LocalCache&) = delete;
  ~LocalCache() {
    for (std::size_t cls = 0; cls < kLocalClasses; ++cls) {
      for (std::size_t i = 0; i < used[cls]; ++i) {
        Staging s{free[cls][i], std::size_t{1} << (cls + kMinClass)};
        release_shared(s);
      }
    }
  }
  static void release_shared(Staging& buffer);
};
thread_local std::unique_ptr<LocalCache> t_local;

LocalCache& local() {
  if (!t_local) t_local = std::make_unique<LocalCache>();
  return *t_local;
}

void LocalCache::release_shared(Staging& buffer) {
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

// Buffers of 2 MiB and more sit on transparent huge pages where the system allows them on
// request (Debian's default: "madvise"): large packed messages otherwise cost a TLB miss every
// 4 KiB while packing and unpacking, and the shared-memory transport's single copy pins each
// 4 KiB page of them in turn.
constexpr std::size_t kHugePage = std::size_t{2} << 20;
void* allocate(std::size_t capacity) {
  if (capacity < kHugePage) return std::aligned_alloc(64, capacity);
  void* data = std::aligned_alloc(kHugePage, capacity);  // capacity: a power of two, so a multiple
#ifdef MADV_HUGEPAGE
  if (data != nullptr) (void)madvise(data, capacity, MADV_HUGEPAGE);  // a hint: failure costs nothing
#endif
  return data;
}

}  // namespace

Staging acquire_staging(std::size_t bytes) {
  const std::size_t cls = size_class(bytes);
  if (cls >= kClasses) return {};
  const std::size_t capacity = std::size_t{1} << (cls + kMinClass);
  if (cls < kLocalClasses) {
    LocalCache& mine = local();
    if (mine.used[cls] > 0) return {mine.free[cls][--mine.used[cls]], capacity};
  }
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
  return {allocate(capacity), capacity};
}

void release_staging(Staging& buffer) {
  if (!buffer) return;
  const std::size_t cls = size_class(buffer.capacity);
  if (cls < kLocalClasses) {
    LocalCache& mine = local();
    if (mine.used[cls] < kLocalDepth) {
      mine.free[cls][mine.used[cls]++] = buffer.data;
      buffer = {};
      return;
    }
  }
  LocalCache::release_shared(buffer);
}

void drain_staging() {
  t_local.reset();  // this thread's buffers first go to the shared pool
  Pool& p = pool();
  std::lock_guard lock(p.mutex);
  for (auto& list : p.free) {
    for (void* data : list) std::free(data);
    list.clear();
  }
  p.pooled_bytes = 0;
}

}  // namespace strider::exec
