#include "types/cache.hpp"

#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>

#include "core/config.hpp"
#include "core/log.hpp"
#include "mpi/calls.hpp"
#include "types/canonicalize.hpp"
#include "types/decode.hpp"

namespace strider::types {
namespace {

// A type without a Layout is remembered as null so it is not decoded again.
std::shared_ptr<const Layout> compute(MPI_Datatype type) {
  const auto ir = decode(type);
  if (!ir) return nullptr;
  CanonResult canon = canonicalize(*ir);
  if (!canon.layout) {
    if (core::log_enabled(core::LogLevel::debug))
      core::log(core::LogLevel::debug, "no layout for a committed type: " + canon.reason);
    return nullptr;
  }
  return std::make_shared<const Layout>(std::move(*canon.layout));
}

}  // namespace

struct TypeCache::Impl {
  std::shared_mutex mutex;
  std::unordered_map<MPI_Datatype, std::shared_ptr<const Layout>> committed;
  std::unordered_map<MPI_Datatype, std::shared_ptr<const Layout>> named;
};

TypeCache::Impl& TypeCache::impl() {
  // Never destroyed: MPI handles must not be touched from static destructors.
  static Impl* instance = new Impl;
  return *instance;
}

void TypeCache::on_commit(MPI_Datatype type) {
  if (type == MPI_DATATYPE_NULL) return;
  if (mpi::type_envelope(type).combiner == MPI_COMBINER_NAMED) return;  // committing a named type is a no-op
  auto layout = compute(type);
  Impl& state = impl();
  std::unique_lock lock(state.mutex);
  state.committed[type] = std::move(layout);
  generation_.fetch_add(1, std::memory_order_acq_rel);
  core::new_decision_epoch();
}

void TypeCache::on_free(MPI_Datatype type) {
  Impl& state = impl();
  std::unique_lock lock(state.mutex);
  state.committed.erase(type);
  generation_.fetch_add(1, std::memory_order_acq_rel);
  core::new_decision_epoch();
}

void TypeCache::on_dup(MPI_Datatype original, MPI_Datatype copy) {
  if (original == MPI_DATATYPE_NULL || copy == MPI_DATATYPE_NULL) return;
  std::shared_ptr<const Layout> layout;
  bool committed = false;
  Impl& state = impl();
  {
    std::shared_lock lock(state.mutex);
    if (auto it = state.committed.find(original); it != state.committed.end()) {
      layout = it->second;  // null for a committed type without a Layout
      committed = true;
    }
  }
  if (!committed) {
    // An uncommitted original gives an uncommitted dup, cached when it is committed itself.
    if (mpi::type_envelope(original).combiner != MPI_COMBINER_NAMED) return;
    layout = find(original);
  }
  std::unique_lock lock(state.mutex);
  state.committed[copy] = std::move(layout);
  generation_.fetch_add(1, std::memory_order_acq_rel);
  core::new_decision_epoch();
}

std::shared_ptr<const Layout> TypeCache::find(MPI_Datatype type) {
  if (type == MPI_DATATYPE_NULL) return nullptr;
  Impl& state = impl();
  {
    std::shared_lock lock(state.mutex);
    if (auto it = state.committed.find(type); it != state.committed.end()) return it->second;
    if (auto it = state.named.find(type); it != state.named.end()) return it->second;
  }
  if (mpi::type_envelope(type).combiner != MPI_COMBINER_NAMED) return nullptr;  // not committed via Strider
  auto layout = compute(type);
  std::unique_lock lock(state.mutex);
  state.named.emplace(type, layout);
  return layout;
}

bool TypeCache::holds(MPI_Datatype type) {
  Impl& state = impl();
  std::shared_lock lock(state.mutex);
  return state.committed.count(type) != 0;
}

void TypeCache::clear() {
  Impl& state = impl();
  std::unique_lock lock(state.mutex);
  state.committed.clear();
  state.named.clear();
  generation_.fetch_add(1, std::memory_order_acq_rel);
  core::new_decision_epoch();
}

}  // namespace strider::types
