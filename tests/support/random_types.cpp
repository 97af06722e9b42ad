#include "random_types.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <numeric>
#include <utility>
#include <vector>

namespace strider::test {
namespace {

using core::SpecNode;

// Bounds of a generated node plus what the generator needs to compose it safely.
struct Model {
  std::int64_t size = 0;
  std::int64_t lb = 0;
  std::int64_t extent = 0;
  std::int64_t true_lb = 0;
  std::int64_t true_ub = 0;
  std::int64_t align = 1;  // largest basic alignment inside (Open MPI pads struct extents to it)
  bool markers = false;    // explicit bounds (resized, subarray, darray) somewhere inside
  bool overlap_free = true;

  bool empty() const { return size == 0; }
  std::int64_t data_span() const { return true_ub - true_lb; }
  // Copies placed `extent` apart never share a byte.
  bool tileable() const {
    return overlap_free && !empty() && extent > 0 && lb <= true_lb && true_ub <= lb + extent;
  }
};

struct Node {
  SpecNode spec;
  Model model;
};

struct Budget {
  std::int64_t size;  // packed bytes
  std::int64_t span;  // extent and true extent
};

struct Leaf {
  const char* name;
  std::int64_t size;
  std::int64_t extent;
  std::int64_t true_ub;  // true_lb is 0 for every predefined type
  std::int64_t align;
  int weight;
};

// x86-64 Linux (LP64) layouts; the MPI test checks every one against the real MPI.
constexpr std::array<Leaf, 15> kLeaves{{
    {"double", 8, 8, 8, 8, 30},
    {"int", 4, 4, 4, 4, 14},
    {"char", 1, 1, 1, 1, 10},
    {"float", 4, 4, 4, 4, 8},
    {"short", 2, 2, 2, 2, 6},
    {"byte", 1, 1, 1, 1, 4},
    {"long_double", 16, 16, 16, 16, 3},
    {"int64_t", 8, 8, 8, 8, 4},
    {"c_double_complex", 16, 16, 16, 8, 3},
    {"float_int", 8, 8, 8, 4, 3},
    {"double_int", 12, 16, 12, 8, 3},
    {"2int", 8, 8, 8, 4, 2},
    {"short_int", 6, 8, 8, 4, 2},
    {"long_int", 12, 16, 12, 8, 2},
    {"long_double_int", 20, 32, 20, 16, 1},
}};

constexpr std::int64_t kMinChildBudget = 32;

class Generator {
 public:
  Generator(std::mt19937_64& rng, const RandomTypeOptions& options)
      : rng_(rng), options_(options) {}

  Node top() {
    const Budget budget{std::max<std::int64_t>(options_.max_packed_bytes, kMinChildBudget),
                        std::max<std::int64_t>(options_.max_extent, kMinChildBudget)};
    if (chance(0.03)) return empty_type(budget);
    return type(0, budget);
  }

 private:
  // ---- random helpers ----
  std::int64_t uniform(std::int64_t low, std::int64_t high) {
    if (high <= low) return low;
    return std::uniform_int_distribution<std::int64_t>(low, high)(rng_);
  }
  bool chance(double p) { return std::bernoulli_distribution(p)(rng_); }

  // Small most of the time, occasionally up to `high`: counts, gaps and dimensions.
  std::int64_t skewed(std::int64_t low, std::int64_t high) {
    if (high <= low) return low;
    const double roll = std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
    if (roll < 0.6) return uniform(low, std::min(high, low + 4));
    if (roll < 0.9) return uniform(low, std::min(high, low + 32));
    return uniform(low, high);
  }

  // ---- models ----
  static Model empty_model() {
    Model m;
    return m;
  }

  // Bounds the way Open MPI accumulates them (opal_datatype_add): each constructor adds
  // `count` copies of a child at a displacement, one add per block, in list order. After
  // every add the extent is rounded up to the strictest alignment seen so far unless explicit
  // bounds (resized, subarray, darray) are involved, and explicit bounds are "sticky": once a
  // child with them is added, the data of children without them no longer moves lb/ub
  // (MPI-1 MPI_LB/MPI_UB semantics). Zero-count adds change nothing.
  class Accumulator {
   public:
    void add(const Model& child, std::int64_t count, std::int64_t displacement,
             std::int64_t extent) {
      if (count <= 0) return;
      std::int64_t lower = displacement;
      std::int64_t upper = displacement + extent * (count - 1);
      if (lower > upper) std::swap(lower, upper);
      const std::int64_t block_lb = lower + child.lb;
      const std::int64_t block_ub = upper + child.lb + child.extent;
      if (!bounded_) {
        lb_ = block_lb;
        ub_ = block_ub;
        markers_ = child.markers;
      } else if (child.markers != markers_) {
        if (!markers_) {
          lb_ = block_lb;
          ub_ = block_ub;
        }
        markers_ = true;
      } else {
        lb_ = std::min(lb_, block_lb);
        ub_ = std::max(ub_, block_ub);
      }
      bounded_ = true;
      align_ = std::max(align_, child.align);
      if (!markers_ && (ub_ - lb_) % align_ != 0) ub_ += align_ - (ub_ - lb_) % align_;
      overlap_free_ = overlap_free_ && child.overlap_free;
      if (child.size == 0) return;
      const std::int64_t data_lb = lower + child.true_lb;
      const std::int64_t data_ub = upper + child.true_ub;
      true_lb_ = size_ == 0 ? data_lb : std::min(true_lb_, data_lb);
      true_ub_ = size_ == 0 ? data_ub : std::max(true_ub_, data_ub);
      size_ += count * child.size;
    }

    Model model() const {
      Model m;
      if (!bounded_) return m;
      m.lb = lb_;
      m.extent = ub_ - lb_;
      m.align = align_;
      m.markers = markers_;
      m.overlap_free = overlap_free_;
      m.size = size_;
      if (size_ > 0) {
        m.true_lb = true_lb_;
        m.true_ub = true_ub_;
      }
      return m;
    }

   private:
    bool bounded_ = false;
    bool markers_ = false;
    bool overlap_free_ = true;
    std::int64_t lb_ = 0;
    std::int64_t ub_ = 0;
    std::int64_t true_lb_ = 0;
    std::int64_t true_ub_ = 0;
    std::int64_t align_ = 1;
    std::int64_t size_ = 0;
  };

  // Blocks of (byte offset, copies) of one child, copies one child extent apart: contiguous
  // and the indexed family. Open MPI merges adjacent blocks first, which cannot change the
  // result because an extent without explicit bounds is already a multiple of the alignment.
  static Model replicate(const Model& child,
                         const std::vector<std::pair<std::int64_t, std::int64_t>>& blocks) {
    Accumulator accumulator;
    for (const auto& [offset, copies] : blocks) {
      accumulator.add(child, copies, offset, child.extent);
    }
    return accumulator.model();
  }

  // vector and hvector as Open MPI builds them: one add when the blocks touch or there is a
  // single block, else `count` adds of a contiguous(blocklength) child `stride` bytes apart.
  static Model strided(const Model& child, std::int64_t count, std::int64_t blocklength,
                       std::int64_t stride_bytes) {
    if (count == 0 || blocklength == 0) return empty_model();
    Accumulator accumulator;
    if (blocklength * child.extent == stride_bytes || count <= 1) {
      accumulator.add(child, count * blocklength, 0, child.extent);
    } else if (blocklength == 1) {
      accumulator.add(child, count, 0, stride_bytes);
    } else {
      Accumulator inner;
      inner.add(child, blocklength, 0, child.extent);
      accumulator.add(inner.model(), count, 0, stride_bytes);
    }
    return accumulator.model();
  }

  bool fits(const Model& m, const Budget& budget) const {
    return m.size <= budget.size && m.extent <= budget.span && m.extent >= 0 &&
           m.data_span() <= budget.span;
  }

  // Bytes one block of `copies` copies occupies when blocks must not overlap, and where that
  // footprint starts relative to the block's offset; 0 when such a block would overlap itself.
  static std::int64_t footprint(const Model& child, std::int64_t copies) {
    if (copies <= 0) return 0;
    if (child.tileable()) return copies * child.extent;
    if (copies == 1) return std::max<std::int64_t>(child.data_span(), 1);
    return 0;
  }
  static std::int64_t footprint_start(const Model& child) {
    return child.tileable() ? child.lb : child.true_lb;
  }
  bool may_repeat(const Model& child, std::int64_t copies) const {
    return options_.allow_overlap || copies <= 1 || child.tileable();
  }

  // ---- nodes ----
  Node leaf(const Budget& budget) {
    int total = 0;
    for (const Leaf& l : kLeaves) {
      if (l.size <= budget.size && l.extent <= budget.span) total += l.weight;
    }
    int pick = static_cast<int>(uniform(0, std::max(total - 1, 0)));
    const Leaf* chosen = &kLeaves[2];  // char always fits the minimum budget
    for (const Leaf& l : kLeaves) {
      if (l.size > budget.size || l.extent > budget.span) continue;
      if (pick < l.weight) {
        chosen = &l;
        break;
      }
      pick -= l.weight;
    }
    Node node{SpecNode::named(chosen->name), {}};
    node.model.size = chosen->size;
    node.model.extent = chosen->extent;
    node.model.true_ub = chosen->true_ub;
    node.model.align = chosen->align;
    return node;
  }

  Node type(int depth, const Budget& budget) {
    const double leaf_chance = depth == 0 ? 0.04 : 0.25 + 0.1 * depth;
    if (depth >= options_.max_depth || budget.size < kMinChildBudget ||
        budget.span < kMinChildBudget || chance(leaf_chance)) {
      return leaf(budget);
    }
    for (int attempt = 0; attempt < 8; ++attempt) {
      Node node;
      bool ok = false;
      switch (pick_constructor()) {
        case 0: ok = contiguous(depth, budget, node); break;
        case 1: ok = vector(depth, budget, node, false); break;
        case 2: ok = vector(depth, budget, node, true); break;
        case 3: ok = indexed(depth, budget, node, false, false); break;
        case 4: ok = indexed(depth, budget, node, true, false); break;
        case 5: ok = indexed(depth, budget, node, false, true); break;
        case 6: ok = indexed(depth, budget, node, true, true); break;
        case 7: ok = structure(depth, budget, node); break;
        case 8: ok = subarray(depth, budget, node); break;
        case 9: ok = darray(depth, budget, node); break;
        case 10: ok = resized(depth, budget, node); break;
        case 11: ok = dup(depth, budget, node); break;
        default: ok = depth + 3 <= options_.max_depth && halo(budget, node); break;
      }
      if (ok && fits(node.model, budget)) return node;
    }
    return leaf(budget);
  }

  int pick_constructor() {
    static constexpr std::array<int, 13> kWeights{10, 14, 10, 8, 6, 6, 5, 9, 12, 5, 8, 3, 8};
    std::discrete_distribution<int> distribution(kWeights.begin(), kWeights.end());
    return distribution(rng_);
  }

  Budget child_budget(const Budget& budget, std::int64_t copies) const {
    copies = std::max<std::int64_t>(copies, 1);
    return {budget.size / copies, budget.span / copies};
  }

  // A count such that `count` children still get the minimum budget.
  std::int64_t count_for(const Budget& budget, std::int64_t high) {
    const std::int64_t cap = std::min(budget.size, budget.span) / kMinChildBudget;
    return skewed(1, std::max<std::int64_t>(1, std::min(high, cap)));
  }

  Node empty_type(const Budget& budget) {
    Node child = type(2, child_budget(budget, 4));
    Node node;
    switch (uniform(0, 3)) {
      case 0: node.spec = SpecNode::call("contiguous", {SpecNode::integer(0), child.spec}); break;
      case 1:
        node.spec = SpecNode::call("vector", {SpecNode::integer(0), SpecNode::integer(2),
                                              SpecNode::integer(5), child.spec});
        break;
      case 2:
        node.spec = SpecNode::call("indexed", {SpecNode::int_list({0, 0}),
                                               SpecNode::int_list({3, 1}), child.spec});
        break;
      default:
        node.spec = SpecNode::call("hindexed_block", {SpecNode::integer(0),
                                                      SpecNode::int_list({8, 64}), child.spec});
        break;
    }
    node.model = empty_model();
    return node;
  }

  bool contiguous(int depth, const Budget& budget, Node& node) {
    const std::int64_t count = count_for(budget, 4096);
    Node child = type(depth + 1, child_budget(budget, count));
    if (!may_repeat(child.model, count)) return false;
    node.spec = SpecNode::call("contiguous", {SpecNode::integer(count), child.spec});
    node.model = replicate(child.model, {{0, count}});
    node.model.overlap_free = child.model.overlap_free && (count == 1 || child.model.tileable());
    return true;
  }

  // A block stride (elements of the child, or bytes) for `count` blocks that keeps them
  // apart by at least `min_gap` units and within the span budget; negative half the time
  // it is asked for. False when no such stride exists.
  bool pick_stride(std::int64_t count, std::int64_t min_stride, std::int64_t unit,
                   std::int64_t block_bytes, const Budget& budget, std::int64_t& stride) {
    if (count <= 1) {
      stride = uniform(-3, 7) * std::max<std::int64_t>(min_stride, 1);
      return true;
    }
    const std::int64_t max_stride = (budget.span - block_bytes) / ((count - 1) * unit);
    if (options_.allow_overlap && chance(0.15)) {
      stride = uniform(0, std::max<std::int64_t>(min_stride - 1, 0));
      return max_stride >= 0;
    }
    if (max_stride < min_stride) return false;
    const double roll = std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
    if (roll < 0.2) {
      stride = min_stride;  // blocks back to back
    } else if (roll < 0.85) {
      stride = min_stride + skewed(0, std::min<std::int64_t>(max_stride - min_stride, 64));
    } else {
      stride = uniform(min_stride, max_stride);  // large
    }
    if (chance(0.2)) stride = -stride;
    // Open MPI 4.1 reads a byte stride of exactly -1 as "the child's extent" (opal_datatype_add
    // uses -1 as a sentinel), so vector(n, 1, -1, char) packs forwards; fuzzing that would
    // only rediscover it (tests/mpi/test_type_builder.cpp pins the behaviour down).
    if (stride * unit == -1) stride = 1;
    return true;
  }

  bool vector(int depth, const Budget& budget, Node& node, bool bytes) {
    const std::int64_t count = count_for(budget, 512);
    const std::int64_t blocklength =
        chance(0.05) ? 0 : skewed(1, std::max<std::int64_t>(1, count_for(budget, 64) / count));
    Node child = type(depth + 1, child_budget(budget, count * std::max<std::int64_t>(blocklength, 1)));
    const Model& c = child.model;
    if (c.extent <= 0 || (!may_repeat(c, blocklength))) return false;
    std::int64_t block = footprint(c, std::max<std::int64_t>(blocklength, 1));
    if (block == 0) block = std::max<std::int64_t>(blocklength, 1) * c.extent;  // overlap allowed
    std::int64_t stride = 0;
    if (bytes) {
      if (!pick_stride(count, block, 1, block, budget, stride)) return false;
    } else {
      const std::int64_t min_stride = (block + c.extent - 1) / c.extent;
      if (!pick_stride(count, min_stride, c.extent, block, budget, stride)) return false;
    }
    node.spec = SpecNode::call(bytes ? "hvector" : "vector",
                               {SpecNode::integer(count), SpecNode::integer(blocklength),
                                SpecNode::integer(stride), child.spec});
    node.model = strided(c, count, blocklength, bytes ? stride : stride * c.extent);
    const std::int64_t spacing = bytes ? std::abs(stride) : std::abs(stride) * c.extent;
    node.model.overlap_free = c.overlap_free && (blocklength <= 1 || c.tileable()) &&
                              (count <= 1 || blocklength == 0 || spacing >= block);
    return true;
  }

  // indexed, hindexed, indexed_block, hindexed_block: disjoint blocks laid out left to right
  // with gaps, then optionally listed out of order and mirrored to negative displacements.
  bool indexed(int depth, const Budget& budget, Node& node, bool bytes, bool constant) {
    const std::int64_t count = chance(0.08) ? uniform(100, 1000) : skewed(1, 12);
    const std::int64_t common = chance(0.05) ? 0 : skewed(1, 6);
    std::vector<std::int64_t> lengths(static_cast<std::size_t>(count));
    std::int64_t total = 0;
    for (auto& length : lengths) {
      length = constant ? common : (chance(0.1) ? 0 : skewed(1, 8));
      total += length;
    }
    Node child = type(depth + 1, child_budget(budget, std::max<std::int64_t>(total, 1)));
    const Model& c = child.model;
    if (c.extent <= 0) return false;
    const std::int64_t max_length = *std::max_element(lengths.begin(), lengths.end());
    if (!may_repeat(c, max_length)) return false;
    const std::int64_t unit = bytes ? 1 : c.extent;
    // Bytes a block occupies; a block that would overlap itself (allowed overlap only) is
    // given one extent.
    auto block_units = [&](std::int64_t length) {
      std::int64_t block = footprint(c, std::max<std::int64_t>(length, 1));
      if (block == 0) block = c.extent;
      return (block + unit - 1) / unit;
    };
    const std::int64_t span_left = budget.span / std::max<std::int64_t>(count, 1);
    std::vector<std::int64_t> displacements;
    std::int64_t cursor = bytes ? uniform(-64, 64) : uniform(-4, 4);
    std::int64_t min_gap = 0;
    for (std::int64_t length : lengths) {
      const std::int64_t units = block_units(length);
      std::int64_t gap =
          chance(0.3) ? 0 : skewed(0, std::max<std::int64_t>(span_left / unit / 4, 0));
      if (options_.allow_overlap && chance(0.1)) gap = -units / 2;
      min_gap = std::min(min_gap, gap);
      // Every block's footprint starts the same distance after its displacement, so blocks
      // laid out as disjoint footprints are disjoint in the typemap.
      displacements.push_back(cursor + gap);
      cursor += gap + units;
    }
    if (chance(0.3)) {
      // MPI packs blocks in list order whatever their addresses.
      std::vector<std::size_t> order(lengths.size());
      std::iota(order.begin(), order.end(), 0);
      std::shuffle(order.begin(), order.end(), rng_);
      std::vector<std::int64_t> shuffled_lengths;
      std::vector<std::int64_t> shuffled_displacements;
      for (std::size_t i : order) {
        shuffled_lengths.push_back(lengths[i]);
        shuffled_displacements.push_back(displacements[i]);
      }
      lengths = std::move(shuffled_lengths);
      displacements = std::move(shuffled_displacements);
    }
    if (chance(0.2)) {
      // Mirror to negative displacements: the footprint [d, d + u) becomes [-(d + u), -d).
      for (std::size_t i = 0; i < displacements.size(); ++i) {
        displacements[i] = -(displacements[i] + block_units(lengths[i]));
      }
    }
    std::vector<std::pair<std::int64_t, std::int64_t>> blocks;
    for (std::size_t i = 0; i < lengths.size(); ++i) {
      blocks.emplace_back(displacements[i] * unit, lengths[i]);
    }
    const char* name = bytes ? (constant ? "hindexed_block" : "hindexed")
                             : (constant ? "indexed_block" : "indexed");
    if (constant) {
      node.spec = SpecNode::call(name, {SpecNode::integer(common),
                                        SpecNode::int_list(displacements), child.spec});
    } else {
      node.spec = SpecNode::call(name, {SpecNode::int_list(lengths),
                                        SpecNode::int_list(displacements), child.spec});
    }
    node.model = replicate(c, blocks);
    node.model.overlap_free = c.overlap_free && min_gap >= 0 && (max_length <= 1 || c.tileable());
    return true;
  }

  bool structure(int depth, const Budget& budget, Node& node) {
    const std::int64_t entries = skewed(1, 6);
    std::vector<Node> children;
    std::vector<std::int64_t> lengths;
    for (std::int64_t i = 0; i < entries; ++i) {
      std::int64_t length = chance(0.1) ? 0 : skewed(1, 4);
      children.push_back(type(depth + 1, child_budget(budget, entries * std::max<std::int64_t>(length, 1))));
      const Model& c = children.back().model;
      if (c.empty() || c.extent <= 0) length = 0;
      if (!may_repeat(c, length)) length = 1;
      lengths.push_back(length);
    }
    std::vector<std::int64_t> displacements;
    std::int64_t cursor = chance(0.2) ? -uniform(1, 4096) : 0;
    const std::int64_t span_left = budget.span / (entries + 1);
    for (std::size_t i = 0; i < children.size(); ++i) {
      const Model& c = children[i].model;
      std::int64_t block = footprint(c, std::max<std::int64_t>(lengths[i], 1));
      if (block == 0) block = std::max<std::int64_t>(c.extent, 1);
      std::int64_t gap = chance(0.4) ? 0 : skewed(0, std::max<std::int64_t>(span_left / 4, 0));
      if (chance(0.5)) gap = (gap + c.align - 1) / c.align * c.align;  // realistic, aligned
      const std::int64_t start = cursor + gap;
      displacements.push_back(start - footprint_start(c));
      cursor = start + block;
    }
    // MPI packs in list order, whatever the addresses: list the fields out of order sometimes.
    std::vector<std::size_t> order(children.size());
    std::iota(order.begin(), order.end(), 0);
    if (chance(0.25)) std::shuffle(order.begin(), order.end(), rng_);

    std::vector<SpecNode> types;
    std::vector<std::int64_t> listed_lengths;
    std::vector<std::int64_t> listed_displacements;
    Accumulator accumulator;
    for (std::size_t i : order) {
      types.push_back(children[i].spec);
      listed_lengths.push_back(lengths[i]);
      listed_displacements.push_back(displacements[i]);
      accumulator.add(children[i].model, lengths[i], displacements[i], children[i].model.extent);
    }
    node.spec = SpecNode::call("struct", {SpecNode::int_list(listed_lengths),
                                          SpecNode::int_list(listed_displacements),
                                          SpecNode::list(std::move(types))});
    node.model = accumulator.model();
    // An all-empty struct is only interesting on its own (its bounds are MPI-specific).
    return node.model.size > 0 || depth == 0;
  }

  struct Dims {
    std::vector<std::int64_t> sizes;
    std::vector<std::int64_t> subsizes;
    std::vector<std::int64_t> starts;
  };

  bool subarray(int depth, const Budget& budget, Node& node) {
    const std::int64_t ndims = skewed(1, 4);
    Node child = type(depth + 1, child_budget(budget, 8));
    const Model& c = child.model;
    if (!c.tileable()) return false;
    const bool fortran = chance(0.4);
    const bool face = chance(0.4);
    const std::int64_t face_dim = uniform(0, ndims - 1);
    Dims dims;
    std::int64_t elements = 1;
    std::int64_t selected = 1;
    for (std::int64_t d = 0; d < ndims; ++d) {
      const std::int64_t room = budget.span / c.extent / elements;
      if (room < 1) return false;
      const std::int64_t size = skewed(1, std::min<std::int64_t>(room, 512));
      const std::int64_t size_room = budget.size / c.size / selected;
      if (size_room < 1) return false;
      std::int64_t sub = 0;
      std::int64_t start = 0;
      if (face && d == face_dim) {
        sub = std::min<std::int64_t>(size, uniform(1, 3));
        start = chance(0.5) ? 0 : size - sub;  // low or high face
        if (chance(0.3)) start = std::min(size - sub, sub);  // interior layer next to a halo
      } else if (face) {
        sub = size;
      } else {
        sub = uniform(1, size);
        start = uniform(0, size - sub);
      }
      if (sub > size_room) {
        sub = size_room;
        start = std::min(start, size - sub);
      }
      dims.sizes.push_back(size);
      dims.subsizes.push_back(sub);
      dims.starts.push_back(start);
      elements *= size;
      selected *= sub;
    }
    node.spec = SpecNode::call(
        "subarray", {SpecNode::int_list(dims.sizes), SpecNode::int_list(dims.subsizes),
                     SpecNode::int_list(dims.starts), SpecNode::word(fortran ? "F" : "C"),
                     child.spec});
    // Element multiplier of each dimension: the last (C) or first (F) is contiguous.
    std::vector<std::int64_t> multiplier(static_cast<std::size_t>(ndims));
    std::int64_t running = c.extent;
    for (std::int64_t k = 0; k < ndims; ++k) {
      const std::size_t d = static_cast<std::size_t>(fortran ? k : ndims - 1 - k);
      multiplier[d] = running;
      running *= dims.sizes[d];
    }
    Model m;
    m.size = selected * c.size;
    m.lb = 0;
    m.extent = running;
    m.true_lb = c.true_lb;
    m.true_ub = c.true_ub;
    for (std::size_t d = 0; d < multiplier.size(); ++d) {
      m.true_lb += dims.starts[d] * multiplier[d];
      m.true_ub += (dims.starts[d] + dims.subsizes[d] - 1) * multiplier[d];
    }
    m.align = c.align;
    m.markers = true;
    m.overlap_free = c.overlap_free;
    node.model = m;
    return true;
  }

  // Indices of one dimension owned by grid coordinate `coord` (MPI-3.1 section 4.1.4).
  static std::vector<std::int64_t> owned(const std::string& distrib, std::int64_t gsize,
                                         std::int64_t darg, std::int64_t psize, std::int64_t coord) {
    std::vector<std::int64_t> out;
    if (distrib == "none") {
      for (std::int64_t i = 0; i < gsize; ++i) out.push_back(i);
    } else if (distrib == "block") {
      const std::int64_t block = darg > 0 ? darg : (gsize + psize - 1) / psize;
      for (std::int64_t i = coord * block; i < std::min(gsize, (coord + 1) * block); ++i) {
        out.push_back(i);
      }
    } else {
      const std::int64_t block = darg > 0 ? darg : 1;
      for (std::int64_t i = 0; i < gsize; ++i) {
        if ((i / block) % psize == coord) out.push_back(i);
      }
    }
    return out;
  }

  bool darray(int depth, const Budget& budget, Node& node) {
    const std::int64_t ndims = skewed(1, 3);
    Node child = type(depth + 1, child_budget(budget, 16));
    const Model& c = child.model;
    if (!c.tileable()) return false;
    const bool fortran = chance(0.4);
    std::vector<std::int64_t> gsizes;
    std::vector<std::int64_t> psizes;
    std::vector<std::int64_t> dargs;  // 0 = dflt
    std::vector<std::string> distribs;
    std::int64_t elements = 1;
    std::int64_t grid = 1;
    for (std::int64_t d = 0; d < ndims; ++d) {
      const std::int64_t room = budget.span / c.extent / elements;
      if (room < 1) return false;
      const std::int64_t gsize = skewed(1, std::min<std::int64_t>(room, 256));
      const std::int64_t kind = uniform(0, 2);
      std::int64_t psize = 1;
      std::int64_t darg = 0;
      if (kind == 0) {
        distribs.emplace_back("block");
        psize = uniform(1, 3);
        if (chance(0.5)) darg = (gsize + psize - 1) / psize + uniform(0, 2);
      } else if (kind == 1) {
        distribs.emplace_back("cyclic");
        psize = uniform(1, 3);
        if (chance(0.6)) darg = uniform(1, 4);
      } else {
        distribs.emplace_back("none");
      }
      gsizes.push_back(gsize);
      psizes.push_back(psize);
      dargs.push_back(darg);
      elements *= gsize;
      grid *= psize;
    }
    const std::int64_t rank = uniform(0, grid - 1);
    // Grid coordinates are row-major whatever the array order.
    std::vector<std::int64_t> coords(static_cast<std::size_t>(ndims));
    std::int64_t rest = rank;
    for (std::int64_t d = ndims - 1; d >= 0; --d) {
      const std::size_t u = static_cast<std::size_t>(d);
      coords[u] = rest % psizes[u];
      rest /= psizes[u];
    }
    std::vector<std::int64_t> multiplier(static_cast<std::size_t>(ndims));
    std::int64_t running = c.extent;
    for (std::int64_t k = 0; k < ndims; ++k) {
      const std::size_t d = static_cast<std::size_t>(fortran ? k : ndims - 1 - k);
      multiplier[d] = running;
      running *= gsizes[d];
    }
    Model m;
    m.lb = 0;
    m.extent = running;
    m.align = c.align;
    m.markers = true;
    m.overlap_free = c.overlap_free;
    std::int64_t local = 1;
    std::int64_t low = 0;
    std::int64_t high = 0;
    for (std::size_t d = 0; d < gsizes.size(); ++d) {
      const auto mine = owned(distribs[d], gsizes[d], dargs[d], psizes[d], coords[d]);
      local *= static_cast<std::int64_t>(mine.size());
      if (mine.empty()) break;
      low += mine.front() * multiplier[d];
      high += mine.back() * multiplier[d];
    }
    m.size = local * c.size;
    if (m.size > budget.size) return false;
    if (m.size > 0) {
      m.true_lb = low + c.true_lb;
      m.true_ub = high + c.true_ub;
    }
    std::vector<SpecNode> distrib_words;
    std::vector<SpecNode> darg_items;
    for (std::size_t d = 0; d < distribs.size(); ++d) {
      distrib_words.push_back(SpecNode::word(distribs[d]));
      darg_items.push_back(dargs[d] > 0 ? SpecNode::integer(dargs[d]) : SpecNode::word("dflt"));
    }
    node.spec = SpecNode::call(
        "darray", {SpecNode::integer(grid), SpecNode::integer(rank), SpecNode::int_list(gsizes),
                   SpecNode::list(std::move(distrib_words)), SpecNode::list(std::move(darg_items)),
                   SpecNode::int_list(psizes), SpecNode::word(fortran ? "F" : "C"), child.spec});
    node.model = m;
    // An empty local block inside another constructor has MPI-specific true bounds.
    return m.size > 0 || depth == 0;
  }

  bool resized(int depth, const Budget& budget, Node& node) {
    Node child = type(depth + 1, budget);
    const Model& c = child.model;
    if (c.empty()) return false;
    std::int64_t lb = c.lb;
    std::int64_t extent = c.extent;
    switch (uniform(0, 4)) {
      case 0:  // padding after the data (a common way to interleave records)
        extent = c.extent + skewed(1, 64) * std::max<std::int64_t>(c.align, 1);
        break;
      case 1:  // lb moved down: padding before
        lb = c.lb - skewed(1, 64);
        extent = c.extent + (c.lb - lb) + skewed(0, 16);
        break;
      case 2:  // lb moved into the data
        lb = c.true_lb + uniform(0, std::max<std::int64_t>(c.data_span() - 1, 0));
        extent = std::max<std::int64_t>(1, c.extent - (lb - c.lb));
        break;
      case 3:  // smaller than the data: interleaving copies, like the resized column
        extent = std::max<std::int64_t>(1, skewed(1, std::max<std::int64_t>(c.extent / 2, 1)));
        break;
      default:  // natural bounds, explicitly
        break;
    }
    if (extent <= 0 || extent > budget.span) return false;
    node.spec = SpecNode::call("resized", {SpecNode::integer(lb), SpecNode::integer(extent), child.spec});
    node.model = c;
    node.model.lb = lb;
    node.model.extent = extent;
    node.model.markers = true;
    return true;
  }

  bool dup(int depth, const Budget& budget, Node& node) {
    Node child = type(depth + 1, budget);
    node.spec = SpecNode::call("dup", {child.spec});
    node.model = child.model;
    return !child.model.empty();
  }

  static Model leaf_double() {
    Model m;
    m.size = 8;
    m.extent = 8;
    m.true_ub = 8;
    m.align = 8;
    return m;
  }

  // The halo-exchange idioms applications actually write, with double elements.
  bool halo(const Budget& budget, Node& node) {
    const SpecNode element = SpecNode::named("double");
    const std::int64_t max_elements = std::min(budget.span, budget.size * 64) / 8;
    if (max_elements < 8) return false;
    const std::int64_t edge = std::max<std::int64_t>(2, std::min<std::int64_t>(uniform(4, 96), static_cast<std::int64_t>(std::cbrt(static_cast<double>(max_elements)))));
    const std::int64_t nx = edge + uniform(0, 3);
    const std::int64_t ny = edge;
    const std::int64_t nz = std::max<std::int64_t>(1, edge - uniform(0, 1));
    const std::int64_t width = uniform(1, 2);
    switch (uniform(0, 2)) {
      case 0: {
        // Column of an ny x nx row-major plane, resized so consecutive columns interleave:
        // contiguous(k, resized(0, 8, vector(ny, 1, nx, double))) picks k adjacent columns.
        const std::int64_t k = uniform(1, std::min<std::int64_t>(nx, 4));
        SpecNode column = SpecNode::call("vector", {SpecNode::integer(ny), SpecNode::integer(1),
                                                    SpecNode::integer(nx), element});
        SpecNode resized_column = SpecNode::call(
            "resized", {SpecNode::integer(0), SpecNode::integer(8), column});
        Model m;
        m.size = ny * 8;
        m.lb = 0;
        m.extent = 8;
        m.true_lb = 0;
        m.true_ub = (ny - 1) * nx * 8 + 8;
        m.align = 8;
        m.markers = true;
        if (k == 1 && chance(0.5)) {
          node.spec = resized_column;
          node.model = m;
          return true;
        }
        node.spec = SpecNode::call("contiguous", {SpecNode::integer(k), resized_column});
        node.model = replicate(m, {{0, k}});
        node.model.overlap_free = true;  // k <= nx columns are distinct
        return true;
      }
      case 1: {
        // y face of an nz x ny x nx block: nz planes apart, each `width` rows of nx.
        SpecNode rows = SpecNode::call("vector", {SpecNode::integer(width), SpecNode::integer(nx),
                                                  SpecNode::integer(nx), element});
        const std::int64_t plane = nx * ny * 8;
        node.spec = SpecNode::call("hvector", {SpecNode::integer(nz), SpecNode::integer(1),
                                               SpecNode::integer(plane), rows});
        node.model = strided(strided(leaf_double(), width, nx, nx * 8), nz, 1, plane);
        return true;
      }
      default: {
        // x face (strided in every dimension): hvector of vector of `width` doubles.
        SpecNode column = SpecNode::call("vector", {SpecNode::integer(ny), SpecNode::integer(width),
                                                    SpecNode::integer(nx), element});
        const std::int64_t plane = nx * ny * 8;
        node.spec = SpecNode::call("hvector", {SpecNode::integer(nz), SpecNode::integer(1),
                                               SpecNode::integer(plane), column});
        node.model = strided(strided(leaf_double(), ny, width, nx * 8), nz, 1, plane);
        return true;
      }
    }
  }

  std::mt19937_64& rng_;
  const RandomTypeOptions& options_;
};

}  // namespace

RandomType random_type_with_bounds(std::mt19937_64& rng, const RandomTypeOptions& options) {
  Generator generator(rng, options);
  auto [spec, model] = generator.top();
  RandomType out;
  out.spec = std::move(spec);
  out.bounds.size = model.size;
  out.bounds.lb = model.lb;
  out.bounds.extent = model.extent;
  if (model.size > 0) {
    out.bounds.true_lb = model.true_lb;
    out.bounds.true_extent = model.true_ub - model.true_lb;
  }
  out.bounds.may_overlap = !model.overlap_free;
  return out;
}

core::SpecNode random_type(std::mt19937_64& rng, const RandomTypeOptions& options) {
  return random_type_with_bounds(rng, options).spec;
}

std::string spec_string(const core::SpecNode& node) { return core::to_string(node); }

}  // namespace strider::test
