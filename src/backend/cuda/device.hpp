#pragma once
// The CUDA backend's capability query. A CUDA build on a machine without a driver or device
// reports no device and behaves exactly like a CPU-only build.
#include <string>

namespace strider::backend::cuda {

// True when Strider was built with the CUDA backend.
bool compiled();
// Number of usable devices; 0 without a driver or device. Creates no context.
int device_count();
// The name of `device` (cudaGetDeviceProperties), empty when there is no such device.
std::string device_name(int device);
// The driver's CUDA version as "major.minor" (cudaDriverGetVersion), empty without a driver.
std::string driver_version();

}  // namespace strider::backend::cuda
