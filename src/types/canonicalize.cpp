#include "types/canonicalize.hpp"

#include <mpi.h>  // MPI_ORDER_* and MPI_DISTRIBUTE_* values as they appear in the contents

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>

namespace strider::types {
namespace {

// Unrolling a repeated multi-piece sequence into a flat one stops here: such types go to the
// underlying MPI rather than costing unbounded memory.
constexpr std::size_t kMaxPieces = std::size_t{1} << 20;

// Canonicalisation failure inside the recursion.
struct Unsupported {
  std::string reason;
};

using Shape = Layout;  // only pieces and outer matter while building

Shape replicate(Shape shape, std::int64_t count, std::int64_t stride) {
  if (count == 1) return shape;
  shape.outer.push_back({count, stride});
  normalize(shape);
  return shape;
}

Shape shifted(Shape shape, std::int64_t displacement) {
  for (Piece& p : shape.pieces) p.offset += displacement;
  return shape;
}

// Appends the pieces of `part` (its outer repetitions unrolled) to `into`.
void append_unrolled(std::vector<Piece>& into, const Shape& part) {
  std::int64_t copies = 1;
  for (const Dim& d : part.outer) copies *= d.count;
  if (into.size() + static_cast<std::size_t>(copies) * part.pieces.size() > kMaxPieces)
    throw Unsupported{"more than " + std::to_string(kMaxPieces) + " blocks in a block list"};
  for (std::int64_t c = 0; c < copies; ++c) {
    std::int64_t rest = c;
    std::int64_t base = 0;
    for (const Dim& d : part.outer) {
      base += (rest % d.count) * d.stride;
      rest /= d.count;
    }
    for (Piece p : part.pieces) {
      p.offset += base;
      into.push_back(std::move(p));
    }
  }
}

// The typemaps of `parts`, one after the other in pack order.
Shape concat(const std::vector<Shape>& parts) {
  if (parts.size() == 1) return parts.front();
  Shape out;
  for (const Shape& part : parts) append_unrolled(out.pieces, part);
  normalize(out);
  return out;
}

std::int64_t at(const std::vector<std::int64_t>& values, std::size_t i) {
  if (i >= values.size()) throw Unsupported{"malformed datatype contents"};
  return values[i];
}

const TypeIR& child(const TypeIR& ir, std::size_t i) {
  if (i >= ir.children.size() || !ir.children[i]) throw Unsupported{"malformed datatype contents"};
  return *ir.children[i];
}

Shape build(const TypeIR& ir);

// The lowest and one-past-highest byte a non-empty shape touches. Exact: every dimension's
// index ranges independently, so the extremes are reached.
std::pair<std::int64_t, std::int64_t> hull(const Shape& shape) {
  auto span = [](const std::vector<Dim>& dims) {
    std::int64_t low = 0, high = 0;
    for (const Dim& d : dims) {
      const std::int64_t reach = (d.count - 1) * d.stride;
      (reach < 0 ? low : high) += reach;
    }
    return std::pair{low, high};
  };
  std::int64_t lo = INT64_MAX, hi = INT64_MIN;
  for (const Piece& p : shape.pieces) {
    const auto [low, high] = span(p.dims);
    lo = std::min(lo, p.offset + low);
    hi = std::max(hi, p.offset + high + p.bytes);
  }
  const auto [outer_low, outer_high] = span(shape.outer);
  return {lo + outer_low, hi + outer_high};
}

Shape named(const TypeIR& ir) {
  Shape s;
  if (ir.size == 0) return s;
  if (ir.size == ir.true_extent) {
    s.pieces.push_back({ir.true_lb, ir.size, {}});
    return s;
  }
  // The one predefined pair type with a hole: short at 0, int at the int's alignment.
  if (ir.name == "MPI_SHORT_INT") {
    const auto short_bytes = static_cast<std::int64_t>(sizeof(short));
    const auto int_bytes = static_cast<std::int64_t>(sizeof(int));
    s.pieces.push_back({0, short_bytes, {}});
    s.pieces.push_back({ir.true_extent - int_bytes, int_bytes, {}});
    return s;
  }
  throw Unsupported{"predefined type " + ir.name + " has holes Strider does not know"};
}

Shape contiguous_like(const TypeIR& ir) {  // f90 types: predefined-like, no gaps
  if (ir.size != ir.true_extent) throw Unsupported{"f90 type with holes"};
  Shape s;
  if (ir.size > 0) s.pieces.push_back({ir.true_lb, ir.size, {}});
  return s;
}

// indexed / hindexed / indexed_block / hindexed_block / struct: blocks in the given order.
Shape blocks(const TypeIR& ir, std::int64_t count, bool uniform_length, bool byte_displacements,
             bool per_block_type) {
  std::vector<Shape> parts;
  Shape element;
  if (!per_block_type) element = build(child(ir, 0));
  const std::size_t displacement_base = uniform_length ? 2 : 1 + static_cast<std::size_t>(count);
  auto length_of = [&](std::size_t i) { return uniform_length ? at(ir.ints, 1) : at(ir.ints, 1 + i); };
  auto displacement_of = [&](std::size_t i, const TypeIR& type) {
    return byte_displacements ? at(ir.addresses, i) : at(ir.ints, displacement_base + i) * type.extent;
  };
  // Fast path for the common indexed case: each block of a gap-free element type is one
  // contiguous piece, so the list is built directly and normalised once.
  if (!per_block_type && element.outer.empty() && element.pieces.size() == 1 && element.pieces[0].dims.empty() &&
      element.pieces[0].bytes == child(ir, 0).extent) {
    const Piece& e = element.pieces[0];
    Shape out;
    out.pieces.reserve(static_cast<std::size_t>(count));
    for (std::int64_t i = 0; i < count; ++i) {
      const auto index = static_cast<std::size_t>(i);
      const std::int64_t length = length_of(index);
      if (length != 0) out.pieces.push_back({e.offset + displacement_of(index, child(ir, 0)), e.bytes * length, {}});
    }
    normalize(out);
    return out;
  }
  parts.reserve(static_cast<std::size_t>(count));
  for (std::int64_t i = 0; i < count; ++i) {
    const auto index = static_cast<std::size_t>(i);
    const TypeIR& type = per_block_type ? child(ir, index) : child(ir, 0);
    Shape shape = per_block_type ? build(type) : element;
    const std::int64_t length = length_of(index);
    const std::int64_t displacement = displacement_of(index, type);
    if (length == 0) continue;
    parts.push_back(shifted(replicate(std::move(shape), length, type.extent), displacement));
  }
  if (parts.empty()) return Shape{};
  return concat(parts);
}

Shape subarray(const TypeIR& ir) {
  const auto ndims = static_cast<std::size_t>(at(ir.ints, 0));
  const TypeIR& old = child(ir, 0);
  auto sizes = [&](std::size_t i) { return at(ir.ints, 1 + i); };
  auto subsizes = [&](std::size_t i) { return at(ir.ints, 1 + ndims + i); };
  auto starts = [&](std::size_t i) { return at(ir.ints, 1 + 2 * ndims + i); };
  const bool c_order = at(ir.ints, 1 + 3 * ndims) == MPI_ORDER_C;
  Shape shape = build(old);
  std::int64_t stride = old.extent;
  std::int64_t offset = 0;
  for (std::size_t k = 0; k < ndims; ++k) {  // fastest dimension first
    const std::size_t dim = c_order ? ndims - 1 - k : k;
    shape = replicate(std::move(shape), subsizes(dim), stride);
    offset += starts(dim) * stride;
    stride *= sizes(dim);
  }
  return shifted(std::move(shape), offset);
}

// Global index runs {start, length} that process coordinate `coord` owns along one dimension.
std::vector<std::pair<std::int64_t, std::int64_t>> darray_runs(std::int64_t gsize, int distrib,
                                                              std::int64_t darg, std::int64_t procs,
                                                              std::int64_t coord) {
  std::vector<std::pair<std::int64_t, std::int64_t>> runs;
  if (distrib == MPI_DISTRIBUTE_NONE) {
    runs.emplace_back(0, gsize);
  } else if (distrib == MPI_DISTRIBUTE_BLOCK) {
    const std::int64_t block = darg == MPI_DISTRIBUTE_DFLT_DARG ? (gsize + procs - 1) / procs : darg;
    const std::int64_t start = coord * block;
    const std::int64_t length = std::min(block, gsize - start);
    if (length > 0) runs.emplace_back(start, length);
  } else if (distrib == MPI_DISTRIBUTE_CYCLIC) {
    const std::int64_t block = darg == MPI_DISTRIBUTE_DFLT_DARG ? 1 : darg;
    for (std::int64_t start = coord * block; start < gsize; start += procs * block)
      runs.emplace_back(start, std::min(block, gsize - start));
  } else {
    throw Unsupported{"unknown darray distribution"};
  }
  return runs;
}

Shape darray(const TypeIR& ir) {
  const std::int64_t rank = at(ir.ints, 1);
  const auto ndims = static_cast<std::size_t>(at(ir.ints, 2));
  auto gsizes = [&](std::size_t i) { return at(ir.ints, 3 + i); };
  auto distribs = [&](std::size_t i) { return static_cast<int>(at(ir.ints, 3 + ndims + i)); };
  auto dargs = [&](std::size_t i) { return at(ir.ints, 3 + 2 * ndims + i); };
  auto psizes = [&](std::size_t i) { return at(ir.ints, 3 + 3 * ndims + i); };
  const bool c_order = at(ir.ints, 3 + 4 * ndims) == MPI_ORDER_C;
  const TypeIR& old = child(ir, 0);

  // The process grid is row-major whatever the array order (MPI standard, darray).
  std::vector<std::int64_t> coords(ndims);
  std::int64_t rest = rank;
  for (std::size_t i = ndims; i-- > 0;) {
    coords[i] = rest % psizes(i);
    rest /= psizes(i);
  }
  Shape shape = build(old);
  std::int64_t stride = old.extent;
  for (std::size_t k = 0; k < ndims; ++k) {  // fastest dimension first
    const std::size_t dim = c_order ? ndims - 1 - k : k;
    std::vector<Shape> parts;
    for (const auto& [start, length] : darray_runs(gsizes(dim), distribs(dim), dargs(dim), psizes(dim), coords[dim]))
      parts.push_back(shifted(replicate(shape, length, stride), start * stride));
    shape = parts.empty() ? Shape{} : concat(parts);
    stride *= gsizes(dim);
  }
  return shape;
}

Shape build(const TypeIR& ir) {
  Shape shape;
  switch (ir.combiner) {
    case Combiner::named: shape = named(ir); break;
    case Combiner::f90_real:
    case Combiner::f90_complex:
    case Combiner::f90_integer: shape = contiguous_like(ir); break;
    case Combiner::dup:
    case Combiner::resized: shape = build(child(ir, 0)); break;
    case Combiner::contiguous: {
      const TypeIR& old = child(ir, 0);
      shape = replicate(build(old), at(ir.ints, 0), old.extent);
      break;
    }
    case Combiner::vector:
    case Combiner::hvector: {
      const TypeIR& old = child(ir, 0);
      const std::int64_t stride =
          ir.combiner == Combiner::vector ? at(ir.ints, 2) * old.extent : at(ir.addresses, 0);
      shape = replicate(replicate(build(old), at(ir.ints, 1), old.extent), at(ir.ints, 0), stride);
      break;
    }
    case Combiner::indexed: shape = blocks(ir, at(ir.ints, 0), false, false, false); break;
    case Combiner::hindexed: shape = blocks(ir, at(ir.ints, 0), false, true, false); break;
    case Combiner::indexed_block: shape = blocks(ir, at(ir.ints, 0), true, false, false); break;
    case Combiner::hindexed_block: shape = blocks(ir, at(ir.ints, 0), true, true, false); break;
    case Combiner::structure: shape = blocks(ir, at(ir.ints, 0), false, true, true); break;
    case Combiner::subarray: shape = subarray(ir); break;
    case Combiner::darray: shape = darray(ir); break;
    case Combiner::unknown: throw Unsupported{"combiner not decoded"};
  }
  std::int64_t packed = 0;
  for (const Piece& p : shape.pieces) packed += p.packed_bytes();
  for (const Dim& d : shape.outer) packed *= d.count;
  if (packed != ir.size)
    throw Unsupported{std::string(to_string(ir.combiner)) + ": layout packs " + std::to_string(packed) +
                      " bytes but MPI reports size " + std::to_string(ir.size)};
  // Open MPI packs some types differently from their contents (hvector of 1-byte elements
  // with stride -1 becomes an ascending block); its own true bounds then disagree with the
  // contents'. Such types keep the underlying MPI's behaviour by having no Layout.
  if (ir.size > 0) {
    const auto [lo, hi] = hull(shape);
    if (lo != ir.true_lb || hi - lo != ir.true_extent)
      throw Unsupported{std::string(to_string(ir.combiner)) + ": contents span [" + std::to_string(lo) + ", " +
                        std::to_string(hi) + ") but MPI reports true bounds [" + std::to_string(ir.true_lb) +
                        ", " + std::to_string(ir.true_lb + ir.true_extent) + ")"};
  }
  shape.size = ir.size;
  shape.lb = ir.lb;
  shape.extent = ir.extent;
  shape.true_lb = ir.true_lb;
  shape.true_extent = ir.true_extent;
  return shape;
}

}  // namespace

CanonResult canonicalize(const TypeIR& ir) {
  CanonResult result;
  try {
    result.layout = build(ir);
  } catch (const Unsupported& e) {
    result.reason = e.reason;
  } catch (const std::bad_alloc&) {
    result.reason = "out of memory while canonicalising";
  }
  return result;
}

}  // namespace strider::types
