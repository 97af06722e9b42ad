#include "memory/classify.hpp"

#include <dlfcn.h>

#include <array>
#include <atomic>
#include <cstring>
#include <map>
#include <mutex>
#include <shared_mutex>

// Why the driver API through dlopen, and why this order (see also classify.hpp):
// - cudaPointerGetAttributes (runtime API) initialises the runtime on first use and may
//   create the primary context; the driver's cuPointerGetAttributes never creates a context.
//   It is documented to succeed with NULL attribute values for pointers CUDA does not know,
//   and to fail with CUDA_ERROR_NOT_INITIALIZED before cuInit, when no CUDA memory can exist.
// - Any CUDA memory in the process implies the driver library is loaded (the runtime, static
//   or shared, dlopens libcuda.so.1 on first use). dlopen(RTLD_NOLOAD) asks the loader
//   whether it is, without loading it: no libcuda, no CUDA memory, no CUDA call at all.
// - cuPointerGetAttributes costs microseconds on recent drivers, so results are cached:
//   device/managed/mapped by the allocation range the driver reports, and host answers by
//   page in a small direct-mapped table, which makes a repeated host miss a few loads.
// Limits: a cached range outlives a free the cache is not told about (forget/forget_all;
// Strider's own pools report theirs). The host table is cleared whenever the driver first
// appears or a new CUDA range is learned that covers a cached host page.
#if defined(STRIDER_HAVE_CUDA)
#include <cuda.h>
#endif

namespace strider::memory {

namespace detail {
constinit std::array<std::atomic<std::uintptr_t>, kHostSlots> g_host_pages{};
}  // namespace detail
using detail::kHostSlots;
using detail::kPageShift;
using detail::slot_of;

namespace {

// Driver ABI values (cuda.h), fixed since CUDA 4-10; checked against the header when built
// with CUDA.
constexpr int kAttrMemoryType = 2;
constexpr int kAttrDevicePointer = 3;
constexpr int kAttrIsManaged = 8;
constexpr int kAttrDeviceOrdinal = 9;
constexpr int kAttrRangeStart = 11;
constexpr int kAttrRangeSize = 12;
constexpr std::uint64_t kMemoryTypeHost = 1;
constexpr std::uint64_t kMemoryTypeDevice = 2;
constexpr std::uint64_t kMemoryTypeUnified = 4;
#if defined(STRIDER_HAVE_CUDA)
static_assert(kAttrMemoryType == CU_POINTER_ATTRIBUTE_MEMORY_TYPE);
static_assert(kAttrDevicePointer == CU_POINTER_ATTRIBUTE_DEVICE_POINTER);
static_assert(kAttrIsManaged == CU_POINTER_ATTRIBUTE_IS_MANAGED);
static_assert(kAttrDeviceOrdinal == CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL);
static_assert(kAttrRangeStart == CU_POINTER_ATTRIBUTE_RANGE_START_ADDR);
static_assert(kAttrRangeSize == CU_POINTER_ATTRIBUTE_RANGE_SIZE);
static_assert(kMemoryTypeHost == CU_MEMORYTYPE_HOST && kMemoryTypeDevice == CU_MEMORYTYPE_DEVICE &&
              kMemoryTypeUnified == CU_MEMORYTYPE_UNIFIED);
#endif

using GetAttributes = int (*)(unsigned int, int*, void**, unsigned long long);


struct Range {
  std::uintptr_t end;
  PointerInfo info;
};

struct Cache {
  std::shared_mutex mutex;
  std::map<std::uintptr_t, Range> ranges;  // by start address
  // Host answers (detail::g_host_pages): slot holds page + 1 (0 = empty). Races only cost
  // an extra driver call.
  std::array<std::atomic<std::uintptr_t>, kHostSlots>& host_pages = detail::g_host_pages;
  std::atomic<GetAttributes> driver{nullptr};
  std::atomic<std::uint64_t> queries{0}, driver_calls{0}, host_hits{0}, range_hits{0};
};

// Leaked on purpose: no static destructor may run after the application tore CUDA down.
Cache& cache() {
  static Cache* instance = new Cache;
  return *instance;
}


void clear_host_pages(Cache& c, std::uintptr_t begin, std::uintptr_t end) {
  for (auto& slot : c.host_pages) {
    const std::uintptr_t v = slot.load(std::memory_order_relaxed);
    if (v == 0) continue;
    const std::uintptr_t page_begin = (v - 1) << kPageShift;
    if (page_begin < end && page_begin + (std::uintptr_t{1} << kPageShift) > begin)
      slot.store(0, std::memory_order_relaxed);
  }
}

// cuPointerGetAttributes when libcuda.so is already in the process; null otherwise.
GetAttributes driver(Cache& c) {
  if (GetAttributes f = c.driver.load(std::memory_order_acquire)) return f;
  void* handle = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD);
  if (handle == nullptr) return nullptr;
  void* symbol = dlsym(handle, "cuPointerGetAttributes");
  if (symbol == nullptr) {
    dlclose(handle);
    return nullptr;
  }
  // The handle is kept (never dlclosed) so the function cannot be unloaded under us.
  GetAttributes f = nullptr;
  std::memcpy(&f, &symbol, sizeof f);
  GetAttributes expected = nullptr;
  if (c.driver.compare_exchange_strong(expected, f, std::memory_order_acq_rel))
    clear_host_pages(c, 0, ~std::uintptr_t{0});  // host answers given before CUDA appeared
  return f;
}

void insert_range(Cache& c, std::uintptr_t begin, std::uintptr_t end, PointerInfo info) {
  {
    std::unique_lock lock(c.mutex);
    auto it = c.ranges.lower_bound(begin);
    if (it != c.ranges.begin() && std::prev(it)->second.end > begin) --it;
    while (it != c.ranges.end() && it->first < end) it = c.ranges.erase(it);
    c.ranges.emplace(begin, Range{end, info});
  }
  clear_host_pages(c, begin, end);
}

}  // namespace

const char* to_string(Kind kind) {
  switch (kind) {
    case Kind::host: return "host";
    case Kind::device: return "device";
    case Kind::managed: return "managed";
    case Kind::mapped: return "mapped";
  }
  return "?";
}

// The hot-path statistics are bumped without a locked read-modify-write (every intercepted
// call classifies its buffer): exact in one thread, approximate when threads race.
static void bump(std::atomic<std::uint64_t>& counter) {
  counter.store(counter.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

PointerInfo query(const void* ptr) {
  Cache& c = cache();
  bump(c.queries);
  const auto address = reinterpret_cast<std::uintptr_t>(ptr);
  if (ptr == nullptr) return {};
  const std::uintptr_t page = address >> kPageShift;
  auto& slot = c.host_pages[slot_of(page)];
  if (slot.load(std::memory_order_relaxed) == page + 1) {
    bump(c.host_hits);
    return {};
  }
  {
    std::shared_lock lock(c.mutex);
    if (!c.ranges.empty()) {
      auto it = c.ranges.upper_bound(address);
      if (it != c.ranges.begin() && address < std::prev(it)->second.end) {
        c.range_hits.fetch_add(1, std::memory_order_relaxed);
        return std::prev(it)->second.info;
      }
    }
  }
  GetAttributes get = driver(c);
  if (get == nullptr) {  // no driver loaded: no CUDA memory can exist
    slot.store(page + 1, std::memory_order_relaxed);
    return {};
  }
  c.driver_calls.fetch_add(1, std::memory_order_relaxed);
  // Every attribute lands in a zeroed 8-byte cell; the driver writes at most 8 bytes each.
  std::array<int, 6> attributes{kAttrMemoryType, kAttrIsManaged, kAttrDeviceOrdinal,
                                kAttrDevicePointer, kAttrRangeStart, kAttrRangeSize};
  std::array<std::uint64_t, 6> values{};
  std::array<void*, 6> data{};
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = &values[i];
  const int result = get(static_cast<unsigned int>(attributes.size()), attributes.data(), data.data(),
                         static_cast<unsigned long long>(address));
  if (result != 0) {
    // Not initialised (no cuInit yet: no CUDA memory exists) or another driver error: host,
    // not cached, so the next call asks again.
    return {};
  }
  PointerInfo info;
  const std::uint64_t type = values[0];
  const bool managed = values[1] != 0;
  if (managed) {
    info.kind = Kind::managed;
  } else if (type == kMemoryTypeDevice || type == kMemoryTypeUnified) {
    info.kind = Kind::device;
  } else if (type == kMemoryTypeHost && values[3] != 0) {
    info.kind = Kind::mapped;
  } else {
    slot.store(page + 1, std::memory_order_relaxed);
    return {};
  }
  info.device = static_cast<int>(static_cast<std::int32_t>(values[2]));
  std::uintptr_t begin = static_cast<std::uintptr_t>(values[4]);
  std::uintptr_t end = begin + static_cast<std::uintptr_t>(values[5]);
  if (values[5] == 0 || address < begin || address >= end) {  // no range reported: this page only
    begin = page << kPageShift;
    end = begin + (std::uintptr_t{1} << kPageShift);
  }
  insert_range(c, begin, end, info);
  return info;
}

Kind classify(const void* ptr) { return query(ptr).kind; }

void remember(const void* ptr, std::size_t bytes, PointerInfo info) {
  if (ptr == nullptr || bytes == 0) return;
  const auto begin = reinterpret_cast<std::uintptr_t>(ptr);
  insert_range(cache(), begin, begin + bytes, info);
}

void forget(const void* ptr, std::size_t bytes) {
  Cache& c = cache();
  const auto begin = reinterpret_cast<std::uintptr_t>(ptr);
  const std::uintptr_t end = begin + (bytes == 0 ? 1 : bytes);
  {
    std::unique_lock lock(c.mutex);
    auto it = c.ranges.lower_bound(begin);
    if (it != c.ranges.begin() && std::prev(it)->second.end > begin) --it;
    while (it != c.ranges.end() && it->first < end) it = c.ranges.erase(it);
  }
  clear_host_pages(c, begin, end);
}

void forget_all() {
  Cache& c = cache();
  {
    std::unique_lock lock(c.mutex);
    c.ranges.clear();
  }
  clear_host_pages(c, 0, ~std::uintptr_t{0});
}

ClassifyStats classify_stats() {
  Cache& c = cache();
  return {c.queries.load(), c.driver_calls.load(), c.host_hits.load(), c.range_hits.load()};
}

}  // namespace strider::memory
