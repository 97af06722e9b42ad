#include "plan/method.hpp"

namespace strider::plan {

Method choose_pack(const Request& request) {
  if (request.layout == nullptr || request.memory != memory::Kind::host) return Method::native;
  if (request.forced == core::MethodChoice::native) return Method::native;
  return Method::host_pack;
}

}  // namespace strider::plan
