#include "backend/cuda/device.hpp"

namespace strider::backend::cuda {

bool compiled() { return false; }
int device_count() { return 0; }

}  // namespace strider::backend::cuda
