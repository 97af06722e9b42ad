#include "plan/method.hpp"

#include <cstdint>
#include <utility>

namespace strider::plan {

Method choose_pack(const Request& request) {
  if (request.layout == nullptr || request.forced == core::MethodChoice::native) return Method::native;
  if (request.memory == memory::Kind::device) return Method::device;
  if (request.memory != memory::Kind::host) return Method::native;
  return Method::host_pack;
}

Method builtin_device_method(bool cuda_aware, std::int64_t bytes) {
  if (cuda_aware) return bytes >= kDeviceMinBytes ? Method::device : Method::one_shot;
  return bytes >= kStagedMinBytes ? Method::staged : Method::one_shot;
}

namespace {

// Point-to-point with a device buffer.
Choice choose_device(const Request& request) {
  Choice choice;
  const types::Layout* layout = request.layout;
  const bool packable = layout != nullptr && request.count > 0 && layout->size > 0;
  const core::MethodChoice forced = request.forced;
  if (!packable) {
    // Nothing Strider can pack: the underlying MPI gets the call (an empty message, or a type
    // without a Layout). Only a forced packing method is worth a warning.
    choice.forced_impossible = layout == nullptr && forced != core::MethodChoice::automatic &&
                               forced != core::MethodChoice::native;
    return choice;
  }
  switch (forced) {
    case core::MethodChoice::native:
      if (request.cuda_aware) return choice;  // a plain MPI cannot touch device memory
      choice.forced_impossible = true;
      break;
    case core::MethodChoice::device:
      if (request.cuda_aware) {
        choice.method = Method::device;
        return choice;
      }
      choice.forced_impossible = true;
      break;
    case core::MethodChoice::one_shot: choice.method = Method::one_shot; return choice;
    case core::MethodChoice::staged: choice.method = Method::staged; return choice;
    case core::MethodChoice::host_pack: choice.forced_impossible = true; break;
    case core::MethodChoice::automatic: break;
  }
  if (request.cuda_aware && one_run(*layout, request.count)) {  // a CUDA-aware MPI sends it as it is
    choice.method = Method::native;
    return choice;
  }
  // A model measured on a GPU decides; without device tables, the built-in rule.
  if (installed_model()->device) {
    CachedDecision decision =
        decide(*layout, request.count, request.locality, request.memory, request.explain, request.cuda_aware);
    if (decision.method != Method::native) {  // native: no device method was available
      choice.method = decision.method;
      if (decision.first) choice.explanation = std::move(decision.explanation);
      return choice;
    }
  }
  std::int64_t bytes = 0;
  if (__builtin_mul_overflow(layout->size, request.count, &bytes)) bytes = INT64_MAX;
  choice.method = builtin_device_method(request.cuda_aware, bytes);
  return choice;
}

}  // namespace

Choice choose_p2p(const Request& request) {
  if (request.memory == memory::Kind::device) return choose_device(request);
  Choice choice;
  const types::Layout* layout = request.layout;
  const bool packable = layout != nullptr && request.memory == memory::Kind::host && request.count > 0 &&
                        layout->size > 0;
  switch (request.forced) {
    case core::MethodChoice::native: return choice;
    case core::MethodChoice::host_pack:
      choice.method = packable ? Method::host_pack : Method::native;
      choice.forced_impossible = !packable && layout != nullptr && request.memory != memory::Kind::host;
      return choice;
    case core::MethodChoice::device:
    case core::MethodChoice::one_shot:
    case core::MethodChoice::staged:
      // Device methods need a device buffer; host buffers keep the automatic choice.
      if (request.memory == memory::Kind::host) choice.forced_impossible = true;
      break;
    case core::MethodChoice::automatic: break;
  }
  if (!packable || one_run(*layout, request.count)) return choice;
  CachedDecision decision = decide(*layout, request.count, request.locality, request.memory, request.explain);
  choice.method = decision.method;
  if (decision.first) choice.explanation = std::move(decision.explanation);
  return choice;
}

}  // namespace strider::plan
