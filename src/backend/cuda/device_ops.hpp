#pragma once
// Small device operations the exec layer needs around the pack kernels: one stream per
// device, asynchronous copies between any two addresses, and running with a given device
// current. Compiles without CUDA (streams are void*, a cudaStream_t); without the CUDA
// backend every call returns Code::unsupported. Never allocates device memory (the staging
// pools do), never calls MPI, never reads config.
#include <cstddef>

#include "core/status.hpp"

namespace strider::backend::cuda {

// The stream Strider uses on `device` (non-blocking; created on first use, with `device`
// made current for the creation and the caller's device restored). Thread-safe; the streams
// live until the process exits.
core::Status stream_for(int device, void** stream);

// Enqueues a copy of `bytes` bytes from `src` to `dst` on `stream` (cudaMemcpyDefault: any
// pair of host, mapped, managed and device addresses). Zero bytes enqueue nothing.
core::Status copy_async(void* dst, const void* src, std::size_t bytes, void* stream);

// Makes `device` current for its lifetime and restores the caller's current device when it
// ends. status() tells whether the switch worked; when it did not, the current device is
// unchanged and nothing is restored.
class CurrentDevice {
 public:
  explicit CurrentDevice(int device);
  ~CurrentDevice();
  CurrentDevice(const CurrentDevice&) = delete;
  CurrentDevice& operator=(const CurrentDevice&) = delete;
  const core::Status& status() const { return status_; }

 private:
  int previous_ = -1;
  bool restore_ = false;
  core::Status status_;  // after previous_ and restore_: its initialiser sets them
};

}  // namespace strider::backend::cuda
