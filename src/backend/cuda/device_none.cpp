#include "backend/cuda/device.hpp"
#include "backend/cuda/pack_cuda.hpp"

namespace strider::backend::cuda {

bool compiled() { return false; }
int device_count() { return 0; }
std::string device_name(int /*device*/) { return {}; }
std::string driver_version() { return {}; }

core::Status pack(const types::Layout& /*layout*/, std::int64_t /*count*/, const void* /*in*/,
                  void* /*out*/, void* /*workspace*/, void* /*stream*/) {
  return {core::Code::unsupported, "built without the CUDA backend"};
}

core::Status unpack(const types::Layout& /*layout*/, std::int64_t /*count*/, const void* /*in*/,
                    void* /*out*/, void* /*workspace*/, void* /*stream*/) {
  return {core::Code::unsupported, "built without the CUDA backend"};
}

core::Status synchronize(void* /*stream*/) {
  return {core::Code::unsupported, "built without the CUDA backend"};
}

}  // namespace strider::backend::cuda

// Device operations (device_ops.hpp): nothing to run them on.
#include "backend/cuda/device_ops.hpp"

namespace strider::backend::cuda {

core::Status stream_for(int /*device*/, void** stream) {
  *stream = nullptr;
  return {core::Code::unsupported, "built without the CUDA backend"};
}

core::Status copy_async(void* /*dst*/, const void* /*src*/, std::size_t /*bytes*/, void* /*stream*/) {
  return {core::Code::unsupported, "built without the CUDA backend"};
}

CurrentDevice::CurrentDevice(int /*device*/) : status_(core::Code::unsupported, "built without the CUDA backend") {}
CurrentDevice::~CurrentDevice() = default;

}  // namespace strider::backend::cuda
