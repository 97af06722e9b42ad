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

}  // namespace strider::backend::cuda
