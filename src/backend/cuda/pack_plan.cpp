#include "backend/cuda/pack_plan.hpp"

#include <cstring>
#include <limits>
#include <numeric>
#include <vector>

namespace strider::backend::cuda {
namespace {

using types::Dim;
using types::merge_dims;

struct WorkPiece {
  std::int64_t offset = 0;
  std::int64_t bytes = 0;
  std::vector<Dim> dims;
};

// The layout reduced to what the kernels execute: non-empty pieces with simplified dims,
// and the repetition dims (outer dims, then incount). With one piece the repetitions are
// folded into its dims, so strided types of any incount are one strided shape.
struct Work {
  std::vector<WorkPiece> pieces;
  std::vector<Dim> reps;
  bool empty = true;
};

// Folds leading dims whose stride equals the contiguous run into the block.
void simplify(WorkPiece& p) {
  merge_dims(p.dims);
  while (!p.dims.empty() && p.dims.front().stride == p.bytes) {
    p.bytes *= p.dims.front().count;
    p.dims.erase(p.dims.begin());
    merge_dims(p.dims);
  }
}

Work reduce(const types::Layout& layout, std::int64_t count) {
  Work w;
  if (count <= 0 || layout.size <= 0) return w;
  w.reps = layout.outer;
  if (count > 1) w.reps.push_back({count, layout.extent});
  for (const Dim& d : w.reps)
    if (d.count <= 0) return w;
  merge_dims(w.reps);
  for (const types::Piece& p : layout.pieces) {
    if (p.bytes <= 0) continue;
    bool none = false;
    for (const Dim& d : p.dims) none = none || d.count <= 0;
    if (none) continue;
    WorkPiece wp{p.offset, p.bytes, p.dims};
    simplify(wp);
    w.pieces.push_back(std::move(wp));
  }
  if (w.pieces.empty()) return w;
  if (w.pieces.size() == 1) {
    WorkPiece& p = w.pieces.front();
    p.dims.insert(p.dims.end(), w.reps.begin(), w.reps.end());
    w.reps.clear();
    simplify(p);
  }
  w.empty = false;
  return w;
}

std::int64_t round16(std::int64_t n) { return (n + 15) / 16 * 16; }

// Table bytes: strided N-D needs its dims; sequences their prefix sums, pieces and dims.
std::int64_t table_bytes(const Work& w) {
  if (w.empty) return 0;
  if (w.pieces.size() == 1) {
    const auto n = static_cast<std::int64_t>(w.pieces.front().dims.size());
    return n > 2 ? round16(n * static_cast<std::int64_t>(sizeof(DimD))) : 0;
  }
  const auto n = static_cast<std::int64_t>(w.pieces.size());
  std::int64_t ndims = static_cast<std::int64_t>(w.reps.size());
  for (const WorkPiece& p : w.pieces) ndims += static_cast<std::int64_t>(p.dims.size());
  return round16((n + 1) * static_cast<std::int64_t>(sizeof(std::int64_t))) +
         round16(n * static_cast<std::int64_t>(sizeof(PieceD))) +
         round16(ndims * static_cast<std::int64_t>(sizeof(DimD)));
}

bool mul(std::int64_t a, std::int64_t b, std::int64_t* out) { return !__builtin_mul_overflow(a, b, out); }
bool add(std::int64_t a, std::int64_t b, std::int64_t* out) { return !__builtin_add_overflow(a, b, out); }

std::uint64_t magnitude(std::int64_t v) {
  return v < 0 ? std::uint64_t{0} - static_cast<std::uint64_t>(v) : static_cast<std::uint64_t>(v);
}

}  // namespace

std::int64_t workspace_bytes(const types::Layout& layout, std::int64_t count) {
  return table_bytes(reduce(layout, count));
}

core::Status make_plan(const types::Layout& layout, std::int64_t count, const void* user,
                       const void* packed, bool unpack, Plan* plan, std::uint32_t max_grid) {
  *plan = Plan{};
  if (count < 0) return {core::Code::invalid, "negative count"};
  if (max_grid == 0) return {core::Code::invalid, "grid cap of zero blocks"};
  const Work w = reduce(layout, count);
  if (w.empty) return core::Status::ok();
  if (w.pieces.size() > static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max() / 2))
    return {core::Code::unsupported, "too many pieces for the sequence kernel"};

  // Width: every address the kernel forms is a sum of these, so their common power of two
  // is an alignment every access has (on both sides: packed offsets are sums of blocks).
  std::uint64_t common = reinterpret_cast<std::uintptr_t>(user) | reinterpret_cast<std::uintptr_t>(packed);
  for (const WorkPiece& p : w.pieces) {
    common |= magnitude(p.offset) | magnitude(p.bytes);
    for (const Dim& d : p.dims) common |= magnitude(d.stride);
  }
  for (const Dim& d : w.reps) common |= magnitude(d.stride);
  std::int32_t width = 16;
  while (width > 1 && (common & static_cast<std::uint64_t>(width - 1)) != 0) width /= 2;

  Desc& d = plan->desc;
  d.width = width;
  d.unpack = unpack ? 1 : 0;
  d.mapping = Mapping::flat;
  std::int64_t threads = 0;
  if (w.pieces.size() == 1) {
    const WorkPiece& p = w.pieces.front();
    const std::size_t n = p.dims.size();
    d.shape = n == 0 ? Shape::copy1d : n == 1 ? Shape::strided2d : n == 2 ? Shape::strided3d : Shape::stridednd;
    d.offset = p.offset;
    d.bytes = p.bytes;
    d.chunks_per_row = p.bytes / width;
    d.rows = 1;
    for (const Dim& dim : p.dims)
      if (!mul(d.rows, dim.count, &d.rows)) return {core::Code::invalid, "block count overflows 64 bits"};
    if (!mul(d.rows, d.chunks_per_row, &d.total) || !mul(d.total, width, &threads))
      return {core::Code::invalid, "packed size overflows 64 bits"};
    if (n >= 1) d.d0 = {p.dims[0].count, p.dims[0].stride};
    if (n >= 2) d.d1 = {p.dims[1].count, p.dims[1].stride};
    d.ndims = static_cast<std::int32_t>(n);
    // Short rows: one chunk per thread, consecutive threads on consecutive packed chunks
    // (coalesced on the packed side, many rows per warp). Long rows with enough of them to
    // fill the GPU: a warp, then a whole block per row, which avoids a 64-bit division per
    // chunk and keeps each group on one contiguous run.
    if (d.shape != Shape::copy1d && d.rows >= 2048 && d.chunks_per_row > 16)
      d.mapping = d.chunks_per_row <= 512 ? Mapping::warp : Mapping::cta;
    threads = d.mapping == Mapping::flat ? d.total
              : d.mapping == Mapping::warp ? d.rows * kWarpThreads
                                           : d.rows * kBlockThreads;  // rows <= total / 16
  } else {
    d.shape = Shape::sequence;
    d.npieces = static_cast<std::int32_t>(w.pieces.size());
    std::int64_t rep_bytes = 0;
    for (const WorkPiece& p : w.pieces) {
      std::int64_t blocks = 1;
      for (const Dim& dim : p.dims)
        if (!mul(blocks, dim.count, &blocks)) return {core::Code::invalid, "block count overflows 64 bits"};
      std::int64_t bytes = 0;
      if (!mul(blocks, p.bytes, &bytes) || !add(rep_bytes, bytes, &rep_bytes))
        return {core::Code::invalid, "packed size overflows 64 bits"};
    }
    std::int64_t reps = 1;
    for (const Dim& dim : w.reps)
      if (!mul(reps, dim.count, &reps)) return {core::Code::invalid, "repetition count overflows 64 bits"};
    std::int64_t total_bytes = 0;
    if (!mul(rep_bytes, reps, &total_bytes)) return {core::Code::invalid, "packed size overflows 64 bits"};
    d.rep_chunks = rep_bytes / width;
    d.rows = reps;
    d.total = total_bytes / width;
    d.rep_ndims = static_cast<std::int32_t>(w.reps.size());
    threads = d.total;
  }
  const std::int64_t blocks = (threads + kBlockThreads - 1) / kBlockThreads;
  plan->geometry = {static_cast<std::uint32_t>(blocks < max_grid ? blocks : max_grid), kBlockThreads};
  plan->workspace_bytes = table_bytes(w);
  plan->empty = false;
  return core::Status::ok();
}

void encode_tables(const types::Layout& layout, std::int64_t count, Plan& plan, void* host_tables,
                   const void* device_tables) {
  if (plan.empty || plan.workspace_bytes == 0) return;
  const Work w = reduce(layout, count);
  auto* host = static_cast<unsigned char*>(host_tables);
  const auto* device = static_cast<const unsigned char*>(device_tables);
  std::memset(host, 0, static_cast<std::size_t>(plan.workspace_bytes));
  auto put_dims = [](unsigned char* at, const std::vector<Dim>& dims) {
    for (const Dim& dim : dims) {
      const DimD v{dim.count, dim.stride};
      std::memcpy(at, &v, sizeof v);
      at += sizeof v;
    }
    return at;
  };
  Desc& d = plan.desc;
  if (d.shape == Shape::stridednd) {
    put_dims(host, w.pieces.front().dims);
    d.dims = reinterpret_cast<const DimD*>(device);
    return;
  }
  const auto n = static_cast<std::int64_t>(w.pieces.size());
  const std::int64_t prefix_at = 0;
  const std::int64_t pieces_at = round16((n + 1) * static_cast<std::int64_t>(sizeof(std::int64_t)));
  const std::int64_t dims_at = pieces_at + round16(n * static_cast<std::int64_t>(sizeof(PieceD)));
  std::int64_t position = 0;
  std::int32_t dim_first = 0;
  unsigned char* dim_cursor = host + dims_at;
  for (std::int64_t i = 0; i < n; ++i) {
    const WorkPiece& p = w.pieces[static_cast<std::size_t>(i)];
    std::memcpy(host + prefix_at + i * 8, &position, sizeof position);
    const PieceD pd{p.offset, p.bytes, dim_first, static_cast<std::int32_t>(p.dims.size())};
    std::memcpy(host + pieces_at + i * static_cast<std::int64_t>(sizeof(PieceD)), &pd, sizeof pd);
    dim_cursor = put_dims(dim_cursor, p.dims);
    dim_first += static_cast<std::int32_t>(p.dims.size());
    std::int64_t blocks = 1;
    for (const Dim& dim : p.dims) blocks *= dim.count;
    position += blocks * p.bytes;
  }
  std::memcpy(host + prefix_at + n * 8, &position, sizeof position);
  put_dims(dim_cursor, w.reps);
  d.rep_dim_first = dim_first;
  d.prefix = reinterpret_cast<const std::int64_t*>(device + prefix_at);
  d.pieces = reinterpret_cast<const PieceD*>(device + pieces_at);
  d.dims = reinterpret_cast<const DimD*>(device + dims_at);
}

}  // namespace strider::backend::cuda
