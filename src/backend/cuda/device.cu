#include <cuda_runtime.h>

#include <mutex>

#include "backend/cuda/device.hpp"

namespace strider::backend::cuda {

bool compiled() { return true; }

int device_count() {
  // cudaGetDeviceCount initialises the driver but creates no context; it is asked once.
  static int count = -1;
  static std::once_flag once;
  std::call_once(once, [] {
    int n = 0;
    count = (cudaGetDeviceCount(&n) == cudaSuccess) ? n : 0;
    if (count == 0) (void)cudaGetLastError();
  });
  return count;
}

std::string device_name(int device) {
  if (device < 0 || device >= device_count()) return {};
  cudaDeviceProp prop{};
  if (cudaGetDeviceProperties(&prop, device) != cudaSuccess) {
    (void)cudaGetLastError();
    return {};
  }
  return prop.name;
}

std::string driver_version() {
  int version = 0;
  if (cudaDriverGetVersion(&version) != cudaSuccess || version <= 0) {
    (void)cudaGetLastError();
    return {};
  }
  return std::to_string(version / 1000) + "." + std::to_string(version % 1000 / 10);
}

}  // namespace strider::backend::cuda
