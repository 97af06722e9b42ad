#pragma once
// Catch2 printers so failed Layout comparisons show the values.
#include <catch2/catch.hpp>

#include <string>

#include "types/layout.hpp"

namespace Catch {
template <>
struct StringMaker<strider::types::Piece> {
  static std::string convert(const strider::types::Piece& p) {
    std::string out = "{off " + std::to_string(p.offset) + ", bytes " + std::to_string(p.bytes) + ", dims [";
    for (const auto& d : p.dims) out += " " + std::to_string(d.count) + "x" + std::to_string(d.stride);
    return out + " ]}";
  }
};
template <>
struct StringMaker<strider::types::Dim> {
  static std::string convert(const strider::types::Dim& d) {
    return std::to_string(d.count) + "x" + std::to_string(d.stride);
  }
};
template <>
struct StringMaker<strider::types::Layout> {
  static std::string convert(const strider::types::Layout& l) { return strider::types::to_string(l); }
};
}  // namespace Catch
