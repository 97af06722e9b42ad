#pragma once
// The method chosen for one message or pack. Pure: no MPI, no CUDA, no allocation.
#include <cstdint>
#include <string>

#include "core/config.hpp"
#include "core/counters.hpp"
#include "memory/classify.hpp"
#include "plan/model.hpp"
#include "types/layout.hpp"

namespace strider::plan {

using core::Method;

struct Request {
  const types::Layout* layout = nullptr;  // null: the type has no Layout
  std::int64_t count = 0;
  memory::Kind memory = memory::Kind::host;
  core::MethodChoice forced = core::MethodChoice::automatic;
  Locality locality = Locality::intra_node;  // where the peer runs (point-to-point only)
  bool explain = false;                      // fill Choice::explanation for a new decision
  // Device buffers (memory::Kind::device) only: the underlying MPI reports CUDA support
  // (MPIX_Query_cuda_support), so it can send device memory itself (native, `device`).
  bool cuda_aware = false;
};

// MPI_Pack / MPI_Unpack: host buffers with a Layout are packed by Strider (host_pack), device
// buffers (either side memory::Kind::device) with a Layout on the GPU (Method::device);
// everything else goes to the underlying MPI.
Method choose_pack(const Request& request);

struct Choice {
  Method method = Method::native;
  bool forced_impossible = false;  // STRIDER_METHOD named a method this message cannot use
  // The competing estimates of a decision made for the first time with Request::explain set;
  // empty otherwise (cached, forced or trivial decisions).
  std::string explanation;
};

// A send or receive of `count` elements. Host buffers whose layout is one contiguous run stay
// native; other host buffers get the cheapest method the installed performance model
// (plan/model.hpp; the built-in defaults without one) predicts, cached per (layout, count,
// locality). STRIDER_METHOD (Request::forced) overrides where the buffer allows.
//
// Device buffers (memory::Kind::device): candidates one-shot and staged always, device and
// native only with a CUDA-aware MPI (native also only for a single contiguous run). A model
// with device tables (strider-measure on a GPU) decides among them, cached like host
// decisions; without them the built-in rule decides (builtin_device_method). A forced method
// the buffer or MPI cannot use sets forced_impossible and takes the automatic choice.
Choice choose_p2p(const Request& request);

// True when `count` elements of `layout` are one contiguous run of bytes (predefined and
// contiguous types): a host buffer then goes to the underlying MPI, which copies it as it is,
// unless STRIDER_METHOD=host-pack forces packing. Inline: every forwarded send and receive
// asks it first.
inline bool one_run(const types::Layout& layout, std::int64_t count) {
  if (!layout.outer.empty() || layout.pieces.size() > 1) return false;
  if (!layout.pieces.empty() && !layout.pieces[0].dims.empty()) return false;
  return count == 1 || layout.extent == layout.size;
}

// Thresholds of the built-in device rule: with a CUDA-aware MPI, `device` from
// kDeviceMinBytes packed bytes, else one-shot; with a plain MPI, `staged` from
// kStagedMinBytes, else one-shot.
inline constexpr std::int64_t kDeviceMinBytes = std::int64_t{1} << 20;
inline constexpr std::int64_t kStagedMinBytes = std::int64_t{4} << 20;
Method builtin_device_method(bool cuda_aware, std::int64_t bytes);

}  // namespace strider::plan
