#pragma once
// Pointer -> memory kind (and device), cached by allocation range. Never creates a CUDA
// context, and in a process that has not loaded the CUDA driver it calls no CUDA at all.
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace strider::memory {

// host: pageable (or anything CUDA does not know); device: cudaMalloc'd on `device`;
// managed: cudaMallocManaged; mapped: page-locked host memory the device can address.
enum class Kind { host, device, managed, mapped };
const char* to_string(Kind kind);

struct PointerInfo {
  Kind kind = Kind::host;
  int device = -1;  // owning device for device/managed/mapped memory; -1 for host
};

// The kind of memory `ptr` points to. Never creates a CUDA context.
Kind classify(const void* ptr);
// Kind and device of `ptr`.
PointerInfo query(const void* ptr);

namespace detail {
inline constexpr std::uintptr_t kPageShift = 12;
inline constexpr std::size_t kHostSlots = 4096;
// The page cache of "host" answers: a direct-mapped table, slot_of(page) holds page + 1.
extern std::array<std::atomic<std::uintptr_t>, kHostSlots> g_host_pages;
inline std::size_t slot_of(std::uintptr_t page) { return (page * 0x9E3779B97F4A7C15ULL >> 40) % kHostSlots; }
}  // namespace detail

// True when `ptr`'s page is cached as plain host memory (a query() answered it before and
// nothing since made it doubtful): a few loads, for the forwarded-call fast path. False
// means "ask query()", not "not host".
inline bool known_host(const void* ptr) {
  const std::uintptr_t page = reinterpret_cast<std::uintptr_t>(ptr) >> detail::kPageShift;
  return detail::g_host_pages[detail::slot_of(page)].load(std::memory_order_relaxed) == page + 1;
}

// Records what Strider itself allocated (staging pools), so it is never asked of the driver.
void remember(const void* ptr, std::size_t bytes, PointerInfo info);
// Drops cached results for [ptr, ptr + bytes): call when that memory is freed or registered.
void forget(const void* ptr, std::size_t bytes);
// Drops every cached result.
void forget_all();

struct ClassifyStats {
  std::uint64_t queries = 0;       // calls to query/classify
  std::uint64_t driver_calls = 0;  // cuPointerGetAttributes calls (cache misses with a driver)
  std::uint64_t host_hits = 0;     // answered "host" from the negative cache
  std::uint64_t range_hits = 0;    // answered from a cached allocation range
};
ClassifyStats classify_stats();

}  // namespace strider::memory
