#pragma once
// TypeIR -> Layout (see layout.hpp). The result packs exactly as the underlying MPI does.
#include <optional>
#include <string>

#include "types/layout.hpp"
#include "types/typeir.hpp"

namespace strider::types {

struct CanonResult {
  std::optional<Layout> layout;  // empty: not representable (the reason says why)
  std::string reason;
};

CanonResult canonicalize(const TypeIR& ir);

}  // namespace strider::types
