#include "types/typeir.hpp"

#include <functional>
#include <nlohmann/json.hpp>

namespace strider::types {
namespace {

void append_node(std::string& out, const TypeIR& ir, int depth) {
  out.append(static_cast<std::size_t>(depth) * 2, ' ');
  out += ir.combiner == Combiner::named ? ir.name : to_string(ir.combiner);
  auto list = [&](const char* label, const std::vector<std::int64_t>& values) {
    if (values.empty()) return;
    out += std::string(" ") + label + "=[";
    for (std::size_t i = 0; i < values.size(); ++i) {
      if (i != 0) out += ',';
      out += std::to_string(values[i]);
    }
    out += ']';
  };
  list("ints", ir.ints);
  list("addresses", ir.addresses);
  out += " size=" + std::to_string(ir.size) + " lb=" + std::to_string(ir.lb) +
         " extent=" + std::to_string(ir.extent) + " true_lb=" + std::to_string(ir.true_lb) +
         " true_extent=" + std::to_string(ir.true_extent);
  for (const auto& child : ir.children) {
    out += '\n';
    append_node(out, *child, depth + 1);
  }
}

}  // namespace

const char* to_string(Combiner combiner) {
  switch (combiner) {
    case Combiner::named: return "named";
    case Combiner::dup: return "dup";
    case Combiner::contiguous: return "contiguous";
    case Combiner::vector: return "vector";
    case Combiner::hvector: return "hvector";
    case Combiner::indexed: return "indexed";
    case Combiner::hindexed: return "hindexed";
    case Combiner::indexed_block: return "indexed_block";
    case Combiner::hindexed_block: return "hindexed_block";
    case Combiner::structure: return "struct";
    case Combiner::subarray: return "subarray";
    case Combiner::darray: return "darray";
    case Combiner::resized: return "resized";
    case Combiner::f90_real: return "f90_real";
    case Combiner::f90_complex: return "f90_complex";
    case Combiner::f90_integer: return "f90_integer";
    case Combiner::unknown: return "unknown";
  }
  return "?";
}

bool TypeIR::operator==(const TypeIR& other) const {
  if (combiner != other.combiner || name != other.name || ints != other.ints ||
      addresses != other.addresses || size != other.size || lb != other.lb ||
      extent != other.extent || true_lb != other.true_lb || true_extent != other.true_extent ||
      children.size() != other.children.size())
    return false;
  for (std::size_t i = 0; i < children.size(); ++i)
    if (!(*children[i] == *other.children[i])) return false;
  return true;
}

std::string to_string(const TypeIR& ir) {
  std::string out;
  append_node(out, ir, 0);
  return out;
}

void to_json(nlohmann::json& out, const TypeIR& ir) {
  out = {{"combiner", to_string(ir.combiner)},
         {"size", ir.size},
         {"lb", ir.lb},
         {"extent", ir.extent},
         {"true_lb", ir.true_lb},
         {"true_extent", ir.true_extent}};
  if (!ir.name.empty()) out["name"] = ir.name;
  if (!ir.ints.empty()) out["ints"] = ir.ints;
  if (!ir.addresses.empty()) out["addresses"] = ir.addresses;
  if (!ir.children.empty()) {
    auto children = nlohmann::json::array();
    for (const auto& child : ir.children) {
      nlohmann::json c;
      to_json(c, *child);
      children.push_back(std::move(c));
    }
    out["children"] = std::move(children);
  }
}

std::size_t hash_value(const TypeIR& ir) {
  std::size_t seed = static_cast<std::size_t>(ir.combiner);
  auto mix = [&seed](std::int64_t v) {
    seed ^= std::hash<std::int64_t>{}(v) + 0x9e3779b97f4a7c15ULL + (seed << 6) + (seed >> 2);
  };
  for (std::int64_t v : ir.ints) mix(v);
  for (std::int64_t v : ir.addresses) mix(v);
  for (std::int64_t v : {ir.size, ir.lb, ir.extent, ir.true_lb, ir.true_extent}) mix(v);
  for (const auto& child : ir.children) mix(static_cast<std::int64_t>(hash_value(*child)));
  mix(static_cast<std::int64_t>(std::hash<std::string>{}(ir.name)));
  return seed;
}

}  // namespace strider::types
