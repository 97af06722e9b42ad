#include "backend/cuda/device.hpp"
#include "backend/cuda/pack_cuda.hpp"

namespace strider::backend::cuda {

bool compiled() { return false; }
int device_count() { return 0; }

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
