#pragma once
// The CUDA backend's capability query. A CUDA build on a machine without a driver or device
// reports no device and behaves exactly like a CPU-only build.
namespace strider::backend::cuda {

// True when Strider was built with the CUDA backend.
bool compiled();
// Number of usable devices; 0 without a driver or device. Creates no context.
int device_count();

}  // namespace strider::backend::cuda
