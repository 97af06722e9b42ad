#include "core/counters.hpp"

#include <memory>
#include <mutex>
#include <vector>

namespace strider::core {
namespace {
constexpr std::array<std::string_view, kCallCount> kCallNames{
    "MPI_Init", "MPI_Init_thread", "MPI_Finalize", "MPI_Type_commit", "MPI_Type_free",
    "MPI_Pack", "MPI_Unpack", "MPI_Pack_size", "MPI_Send", "MPI_Ssend", "MPI_Bsend",
    "MPI_Rsend", "MPI_Recv", "MPI_Isend", "MPI_Issend", "MPI_Irecv", "MPI_Sendrecv",
    "MPI_Sendrecv_replace", "MPI_Send_init", "MPI_Recv_init", "MPI_Start", "MPI_Startall",
    "MPI_Wait", "MPI_Waitall", "MPI_Waitany", "MPI_Waitsome", "MPI_Test", "MPI_Testall",
    "MPI_Testany", "MPI_Testsome", "MPI_Request_free", "MPI_Cancel", "MPI_Request_get_status",
    "MPI_Neighbor_alltoallw"};
constexpr std::array<std::string_view, kMethodCount> kMethodNames{"native", "host-pack", "device",
                                                                  "one-shot", "staged"};
constexpr std::array<std::string_view, kFallbackCount> kFallbackNames{
    "disabled", "unsupported-type", "device-buffer", "resource", "internal"};
}  // namespace

std::string_view call_name(Call call) { return kCallNames[static_cast<std::size_t>(call)]; }
std::string_view method_name(Method method) { return kMethodNames[static_cast<std::size_t>(method)]; }
std::string_view fallback_name(Fallback reason) {
  return kFallbackNames[static_cast<std::size_t>(reason)];
}

struct Counters::Registry {
  mutable std::mutex mutex;
  std::vector<std::unique_ptr<Shard>> shards;
};

Counters::Counters() : registry_(new Registry) {}
Counters::~Counters() { delete registry_; }

Counters::Shard& Counters::shard() {
  // One shard per (thread, Counters object); the process has one Counters in practice.
  thread_local const Counters* owner = nullptr;
  thread_local Shard* mine = nullptr;
  if (owner != this || mine == nullptr) {
    auto fresh = std::make_unique<Shard>();
    mine = fresh.get();
    owner = this;
    std::lock_guard lock(registry_->mutex);
    registry_->shards.push_back(std::move(fresh));
  }
  return *mine;
}

std::uint64_t Counters::sum(std::size_t slot) const {
  std::lock_guard lock(registry_->mutex);
  std::uint64_t total = 0;
  for (const auto& s : registry_->shards) total += s->slots[slot].load(std::memory_order_relaxed);
  return total;
}

std::string Counters::report(std::string_view prefix) const {
  std::string out;
  auto line = [&](std::string_view group, std::string_view key, std::uint64_t value) {
    if (value == 0) return;
    out += prefix;
    out += group;
    out += ' ';
    out += key;
    out += ' ';
    out += std::to_string(value);
    out += '\n';
  };
  for (std::size_t i = 0; i < kCallCount; ++i) line("calls", kCallNames[i], sum(i));
  for (std::size_t i = 0; i < kMethodCount; ++i) {
    line("method-calls", kMethodNames[i], sum(kMethodCallsBase + i));
    line("method-bytes", kMethodNames[i], sum(kMethodBytesBase + i));
  }
  for (std::size_t i = 0; i < kFallbackCount; ++i) line("fallbacks", kFallbackNames[i], sum(kFallbackBase + i));
  return out;
}

void Counters::reset() {
  std::lock_guard lock(registry_->mutex);
  for (auto& s : registry_->shards)
    for (auto& slot : s->slots) slot.store(0, std::memory_order_relaxed);
}

Counters& counters() {
  static Counters* instance = new Counters;  // never destroyed: threads may count during exit
  return *instance;
}

}  // namespace strider::core
