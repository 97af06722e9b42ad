#include <cuda_runtime.h>

#include <array>
#include <mutex>
#include <string>

#include "backend/cuda/device_ops.hpp"

namespace strider::backend::cuda {
namespace {

core::Status cuda_status(cudaError_t error, const char* what) {
  if (error == cudaSuccess) return core::Status::ok();
  return {core::Code::resource, std::string(what) + ": " + cudaGetErrorName(error) + " (" +
                                    cudaGetErrorString(error) + ")"};
}

constexpr int kMaxDevices = 64;

struct Streams {
  std::mutex mutex;
  std::array<cudaStream_t, kMaxDevices> streams{};
  std::array<bool, kMaxDevices> created{};
};

// Leaked on purpose: no static destructor touches CUDA.
Streams& streams() {
  static Streams* instance = new Streams;
  return *instance;
}

}  // namespace

// Makes `device` current; on a switch, records the device to restore.
static core::Status enter(int device, int* previous, bool* restore) {
  int current = 0;
  if (core::Status s = cuda_status(cudaGetDevice(&current), "cudaGetDevice"); !s) return s;
  if (current == device) return core::Status::ok();
  if (core::Status s = cuda_status(cudaSetDevice(device), "cudaSetDevice"); !s) return s;
  *previous = current;
  *restore = true;
  return core::Status::ok();
}

CurrentDevice::CurrentDevice(int device) : status_(enter(device, &previous_, &restore_)) {}

CurrentDevice::~CurrentDevice() {
  if (restore_ && cudaSetDevice(previous_) != cudaSuccess) (void)cudaGetLastError();
}

core::Status stream_for(int device, void** stream) {
  if (device < 0 || device >= kMaxDevices) return {core::Code::unsupported, "device ordinal out of range"};
  Streams& s = streams();
  std::lock_guard lock(s.mutex);
  const auto i = static_cast<std::size_t>(device);
  if (!s.created[i]) {
    CurrentDevice current(device);
    if (!current.status()) return current.status();
    cudaStream_t created = nullptr;
    if (core::Status e = cuda_status(cudaStreamCreateWithFlags(&created, cudaStreamNonBlocking),
                                     "cudaStreamCreateWithFlags");
        !e)
      return e;
    s.streams[i] = created;
    s.created[i] = true;
  }
  *stream = s.streams[i];
  return core::Status::ok();
}

core::Status copy_async(void* dst, const void* src, std::size_t bytes, void* stream) {
  if (bytes == 0) return core::Status::ok();
  return cuda_status(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDefault, static_cast<cudaStream_t>(stream)),
                     "cudaMemcpyAsync");
}

}  // namespace strider::backend::cuda
