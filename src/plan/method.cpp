#include "plan/method.hpp"

#include <utility>

namespace strider::plan {

Method choose_pack(const Request& request) {
  if (request.layout == nullptr || request.memory != memory::Kind::host) return Method::native;
  if (request.forced == core::MethodChoice::native) return Method::native;
  return Method::host_pack;
}

Choice choose_p2p(const Request& request) {
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
  if (!packable) return choice;
  const types::LayoutClass klass = layout->klass();
  if (klass == types::LayoutClass::contiguous || klass == types::LayoutClass::empty) {
    // One block per element: native is already a plain copy unless elements are spaced out.
    if (request.count == 1 || layout->extent == layout->size) return choice;
  }
  CachedDecision decision = decide(*layout, request.count, request.locality, request.memory, request.explain);
  choice.method = decision.method;
  if (decision.first) choice.explanation = std::move(decision.explanation);
  return choice;
}

}  // namespace strider::plan
