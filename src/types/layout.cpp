#include "types/layout.hpp"

#include <algorithm>
#include <functional>
#include <nlohmann/json.hpp>
#include <utility>

namespace strider::types {
namespace {

// Beyond this many dimensionless pieces a layout is reported as a block list.
constexpr std::size_t kSequenceMax = 8;

void hash_combine(std::size_t& seed, std::int64_t value) {
  seed ^= std::hash<std::int64_t>{}(value) + 0x9e3779b97f4a7c15ULL + (seed << 6) + (seed >> 2);
}

bool is_empty(const Piece& p) { return p.bytes == 0 || p.blocks() == 0; }

// Tries to append `next` to `last` so that packing `last` then `next` equals packing the
// merged piece. Pieces need not be normalised; the result is normalised later.
bool try_append(Piece& last, const Piece& next) {
  if (last.dims.empty() && next.dims.empty() && next.offset == last.offset + last.bytes) {
    last.bytes += next.bytes;  // adjacent contiguous blocks
    return true;
  }
  if (last.bytes != next.bytes) return false;
  if (last.dims == next.dims) {  // two equal shapes: a new outermost dimension of 2
    last.dims.push_back({2, next.offset - last.offset});
    return true;
  }
  // `last` is already a run of equal shapes; `next` continues it at the same spacing.
  if (last.dims.size() == next.dims.size() + 1 &&
      std::equal(next.dims.begin(), next.dims.end(), last.dims.begin())) {
    Dim& run = last.dims.back();
    if (next.offset == last.offset + run.count * run.stride) {
      ++run.count;
      return true;
    }
  }
  return false;
}

std::string dims_string(const std::vector<Dim>& dims) {
  std::string out = "[";
  for (std::size_t i = 0; i < dims.size(); ++i) {
    if (i != 0) out += ", ";
    out += std::to_string(dims[i].count) + "x" + std::to_string(dims[i].stride);
  }
  return out + "]";
}

nlohmann::json dims_json(const std::vector<Dim>& dims) {
  auto out = nlohmann::json::array();
  for (const Dim& d : dims) out.push_back({d.count, d.stride});
  return out;
}

}  // namespace

// Drops count-1 dimensions and merges dimension i+1 into i when its stride is exactly the
// span of i: both keep the enumeration order, so the packed bytes are unchanged.
void merge_dims(std::vector<Dim>& dims) {
  std::erase_if(dims, [](const Dim& d) { return d.count == 1; });
  for (std::size_t i = 0; i + 1 < dims.size();) {
    if (dims[i + 1].stride == dims[i].count * dims[i].stride) {
      dims[i].count *= dims[i + 1].count;
      dims.erase(dims.begin() + static_cast<std::ptrdiff_t>(i) + 1);
    } else {
      ++i;
    }
  }
}

std::int64_t Piece::blocks() const {
  std::int64_t n = 1;
  for (const Dim& d : dims) n *= d.count;
  return n;
}

std::int64_t Piece::packed_bytes() const { return bytes * blocks(); }

const char* to_string(LayoutClass klass) {
  switch (klass) {
    case LayoutClass::empty: return "empty";
    case LayoutClass::contiguous: return "contiguous";
    case LayoutClass::strided: return "strided";
    case LayoutClass::sequence: return "sequence";
    case LayoutClass::blocklist: return "blocklist";
  }
  return "?";
}

LayoutClass Layout::klass() const {
  if (pieces.empty()) return LayoutClass::empty;
  if (pieces.size() == 1 && outer.empty())
    return pieces[0].dims.empty() ? LayoutClass::contiguous : LayoutClass::strided;
  const bool flat = std::all_of(pieces.begin(), pieces.end(), [](const Piece& p) { return p.dims.empty(); });
  return (flat && pieces.size() > kSequenceMax) ? LayoutClass::blocklist : LayoutClass::sequence;
}

std::int64_t Layout::block_count() const {
  std::int64_t blocks = 0;
  for (const Piece& p : pieces) blocks += p.blocks();
  for (const Dim& d : outer) blocks *= d.count;
  return blocks;
}

bool Layout::overlaps() const {
  std::vector<std::pair<std::int64_t, std::int64_t>> spans;  // [begin, end)
  std::vector<std::int64_t> outer_offsets{0};
  for (const Dim& d : outer) {
    std::vector<std::int64_t> next;
    for (std::int64_t i = 0; i < d.count; ++i)
      for (std::int64_t o : outer_offsets) next.push_back(o + i * d.stride);
    outer_offsets = std::move(next);
  }
  for (std::int64_t base : outer_offsets) {
    for (const Piece& p : pieces) {
      std::vector<std::int64_t> offsets{base + p.offset};
      for (const Dim& d : p.dims) {
        std::vector<std::int64_t> next;
        for (std::int64_t i = 0; i < d.count; ++i)
          for (std::int64_t o : offsets) next.push_back(o + i * d.stride);
        offsets = std::move(next);
      }
      for (std::int64_t o : offsets) spans.emplace_back(o, o + p.bytes);
    }
  }
  std::sort(spans.begin(), spans.end());
  for (std::size_t i = 1; i < spans.size(); ++i)
    if (spans[i].first < spans[i - 1].second) return true;
  return false;
}

void normalize(Piece& piece) {
  if (is_empty(piece)) {
    piece.bytes = 0;
    piece.dims.clear();
    return;
  }
  for (bool changed = true; changed;) {
    changed = false;
    merge_dims(piece.dims);
    // A dimension whose stride is the block itself is one longer block.
    if (!piece.dims.empty() && piece.dims.front().stride == piece.bytes) {
      piece.bytes *= piece.dims.front().count;
      piece.dims.erase(piece.dims.begin());
      changed = true;
    }
  }
}

void normalize(Layout& layout) {
  std::erase_if(layout.outer, [](const Dim& d) { return d.count == 1; });
  const bool outer_empty =
      std::any_of(layout.outer.begin(), layout.outer.end(), [](const Dim& d) { return d.count == 0; });
  for (Piece& p : layout.pieces) normalize(p);
  std::erase_if(layout.pieces, is_empty);
  if (outer_empty) layout.pieces.clear();
  if (layout.pieces.empty()) {
    layout.outer.clear();
    return;
  }
  // Merge neighbouring pieces until nothing changes; each merge removes a piece.
  for (bool changed = true; changed;) {
    changed = false;
    std::vector<Piece> merged;
    merged.reserve(layout.pieces.size());
    for (Piece& p : layout.pieces) {
      if (!merged.empty() && try_append(merged.back(), p)) {
        changed = true;
      } else {
        merged.push_back(std::move(p));
      }
    }
    for (Piece& p : merged) normalize(p);
    layout.pieces = std::move(merged);
  }
  // With a single piece, repeating the sequence is repeating the piece.
  if (layout.pieces.size() == 1 && !layout.outer.empty()) {
    Piece& p = layout.pieces.front();
    p.dims.insert(p.dims.end(), layout.outer.begin(), layout.outer.end());
    layout.outer.clear();
    normalize(p);
  }
  merge_dims(layout.outer);
}

Layout repeat(const Layout& layout, std::int64_t count) {
  Layout out = layout;
  out.outer.push_back({count, layout.extent});
  out.size = layout.size * count;
  if (count > 0) {
    // MPI's bounds of a contiguous(count) of the type.
    const std::int64_t span = (count - 1) * layout.extent;
    out.extent = layout.extent * count;
    if (span < 0) {
      out.lb = layout.lb + span;
      out.true_lb = layout.true_lb + span;
    }
    out.true_extent = layout.true_extent + (span < 0 ? -span : span);
  } else {
    out.extent = 0;
    out.true_extent = 0;
  }
  normalize(out);
  return out;
}

std::string to_string(const Layout& layout) {
  std::string out = to_string(layout.klass());
  out += " size=" + std::to_string(layout.size) + " extent=" + std::to_string(layout.extent) +
         " lb=" + std::to_string(layout.lb) + " true_lb=" + std::to_string(layout.true_lb) +
         " true_extent=" + std::to_string(layout.true_extent);
  constexpr std::size_t kShown = 16;
  for (std::size_t i = 0; i < layout.pieces.size() && i < kShown; ++i) {
    const Piece& p = layout.pieces[i];
    out += "\n  piece offset=" + std::to_string(p.offset) + " bytes=" + std::to_string(p.bytes);
    if (!p.dims.empty()) out += " dims=" + dims_string(p.dims);
  }
  if (layout.pieces.size() > kShown)
    out += "\n  ... " + std::to_string(layout.pieces.size() - kShown) + " more pieces";
  if (!layout.outer.empty()) out += "\n  outer=" + dims_string(layout.outer);
  return out;
}

void to_json(nlohmann::json& out, const Layout& layout) {
  auto pieces = nlohmann::json::array();
  for (const Piece& p : layout.pieces)
    pieces.push_back({{"offset", p.offset}, {"bytes", p.bytes}, {"dims", dims_json(p.dims)}});
  out = {{"class", to_string(layout.klass())},
         {"size", layout.size},
         {"extent", layout.extent},
         {"lb", layout.lb},
         {"true_lb", layout.true_lb},
         {"true_extent", layout.true_extent},
         {"pieces", std::move(pieces)},
         {"outer", dims_json(layout.outer)}};
}

std::size_t hash_value(const Layout& layout) {
  std::size_t seed = layout.pieces.size();
  for (const Piece& p : layout.pieces) {
    hash_combine(seed, p.offset);
    hash_combine(seed, p.bytes);
    for (const Dim& d : p.dims) {
      hash_combine(seed, d.count);
      hash_combine(seed, d.stride);
    }
  }
  for (const Dim& d : layout.outer) {
    hash_combine(seed, d.count);
    hash_combine(seed, d.stride);
  }
  for (std::int64_t v : {layout.size, layout.extent, layout.lb, layout.true_lb, layout.true_extent})
    hash_combine(seed, v);
  return seed;
}

}  // namespace strider::types
