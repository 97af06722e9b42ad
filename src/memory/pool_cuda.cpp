#include <cuda_runtime.h>

#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include "memory/classify.hpp"
#include "memory/pool.hpp"

namespace strider::memory {
namespace {

core::Status cuda_status(cudaError_t error, const char* what) {
  if (error == cudaSuccess) return core::Status::ok();
  return {core::Code::resource, std::string(what) + ": " + cudaGetErrorName(error)};
}

using Key = std::tuple<PoolKind, int, std::size_t>;  // kind, device, size class

struct Pools {
  std::mutex mutex;
  std::map<Key, std::vector<StagingBuffer>> free;
  PoolStats stats;
};

// Leaked on purpose: freeing happens in trim(), never in a static destructor.
Pools& pools() {
  static Pools* instance = new Pools;
  return *instance;
}

// Runs `fn` with `device` current, restoring the caller's device afterwards.
template <class Fn>
core::Status on_device(int device, Fn&& fn) {
  int previous = 0;
  if (core::Status s = cuda_status(cudaGetDevice(&previous), "cudaGetDevice"); !s) return s;
  if (previous != device)
    if (core::Status s = cuda_status(cudaSetDevice(device), "cudaSetDevice"); !s) return s;
  core::Status result = fn();
  if (previous != device)
    if (core::Status s = cuda_status(cudaSetDevice(previous), "cudaSetDevice (restore)"); !s && result)
      return s;
  return result;
}

core::Status allocate(PoolKind kind, int device, std::size_t bytes, StagingBuffer* out) {
  StagingBuffer b;
  b.kind = kind;
  b.device = device;
  b.bytes = bytes;
  core::Status s = on_device(device, [&]() -> core::Status {
    if (kind == PoolKind::device) {
      if (core::Status e = cuda_status(cudaMalloc(&b.ptr, bytes), "cudaMalloc"); !e) return e;
      b.device_ptr = b.ptr;
      return core::Status::ok();
    }
    if (core::Status e = cuda_status(cudaHostAlloc(&b.ptr, bytes, cudaHostAllocMapped | cudaHostAllocPortable),
                                     "cudaHostAlloc");
        !e)
      return e;
    if (core::Status e = cuda_status(cudaHostGetDevicePointer(&b.device_ptr, b.ptr, 0), "cudaHostGetDevicePointer");
        !e) {
      (void)cudaFreeHost(b.ptr);  // the error being returned is the first one
      return e;
    }
    return core::Status::ok();
  });
  if (!s) return s;
  remember(b.ptr, bytes, {kind == PoolKind::device ? Kind::device : Kind::mapped, device});
  *out = b;
  return core::Status::ok();
}

}  // namespace

std::size_t pool_size_class(std::size_t bytes) {
  std::size_t size = std::size_t{64} << 10;
  while (size < bytes) size *= 2;
  return size;
}

core::Status acquire(PoolKind kind, int device, std::size_t bytes, StagingBuffer* out) {
  *out = StagingBuffer{};
  if (device < 0) return {core::Code::invalid, "staging buffer for no device"};
  const std::size_t size = pool_size_class(bytes);
  Pools& p = pools();
  {
    std::lock_guard lock(p.mutex);
    auto it = p.free.find(Key{kind, device, size});
    if (it != p.free.end() && !it->second.empty()) {
      *out = it->second.back();
      it->second.pop_back();
      p.stats.pooled_bytes -= size;
      p.stats.acquired_bytes += size;
      ++p.stats.reuses;
      return core::Status::ok();
    }
  }
  if (core::Status s = allocate(kind, device, size, out); !s) return s;
  std::lock_guard lock(p.mutex);
  p.stats.acquired_bytes += size;
  ++p.stats.allocations;
  return core::Status::ok();
}

void release(StagingBuffer& buffer) {
  if (!buffer) return;
  Pools& p = pools();
  std::lock_guard lock(p.mutex);
  p.free[Key{buffer.kind, buffer.device, buffer.bytes}].push_back(buffer);
  p.stats.pooled_bytes += buffer.bytes;
  p.stats.acquired_bytes -= buffer.bytes;
  buffer = StagingBuffer{};
}

core::Status trim() {
  Pools& p = pools();
  std::lock_guard lock(p.mutex);
  core::Status first = core::Status::ok();
  for (auto& [key, list] : p.free) {
    for (const StagingBuffer& b : list) {
      forget(b.ptr, b.bytes);
      // cudaFree/cudaFreeHost need no particular current device.
      const cudaError_t e = b.kind == PoolKind::device ? cudaFree(b.ptr) : cudaFreeHost(b.ptr);
      if (core::Status s = cuda_status(e, "cudaFree (staging pool)"); !s && first) first = s;
      p.stats.pooled_bytes -= b.bytes;
    }
    list.clear();
  }
  return first;
}

PoolStats pool_stats() {
  Pools& p = pools();
  std::lock_guard lock(p.mutex);
  return p.stats;
}

}  // namespace strider::memory
