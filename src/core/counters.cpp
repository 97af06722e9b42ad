#include "core/counters.hpp"

#include <memory>
#include <mutex>
#include <vector>

namespace strider::core {
namespace {
constexpr std::array<std::string_view, kCallCount> kCallNames{
    "MPI_Init", "MPI_Init_thread", "MPI_Finalize", "MPI_Type_commit", "MPI_Type_free",
    "MPI_Type_dup", "MPI_Pack", "MPI_Unpack", "MPI_Pack_size", "MPI_Send", "MPI_Ssend",
    "MPI_Bsend", "MPI_Rsend", "MPI_Recv", "MPI_Isend", "MPI_Issend", "MPI_Ibsend", "MPI_Irsend", "MPI_Irecv",
    "MPI_Mrecv", "MPI_Imrecv", "MPI_Sendrecv", "MPI_Sendrecv_replace", "MPI_Send_init",
    "MPI_Bsend_init", "MPI_Ssend_init", "MPI_Rsend_init", "MPI_Recv_init", "MPI_Start",
    "MPI_Startall", "MPI_Wait", "MPI_Waitall", "MPI_Waitany", "MPI_Waitsome", "MPI_Test",
    "MPI_Testall", "MPI_Testany", "MPI_Testsome", "MPI_Request_free", "MPI_Cancel",
    "MPI_Request_get_status", "MPI_Neighbor_alltoallw", "MPI_Alltoallw",
    "MPI_Ineighbor_alltoallw", "MPI_Ialltoallw", "MPI_Alltoallv", "MPI_Ialltoallv",
    "MPI_Neighbor_alltoallv", "MPI_Ineighbor_alltoallv", "MPI_Gatherv", "MPI_Igatherv",
    "MPI_Scatterv", "MPI_Iscatterv"};
static_assert(!kCallNames.back().empty(), "one name per core::Call, in its order");
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

Counters& detail::make_counters() {
  static Counters* const instance = [] {
    auto* made = new Counters;
    g_counters.store(made, std::memory_order_release);
    return made;
  }();
  return *instance;
}

Counters::Counters() : registry_(new Registry) {}
Counters::~Counters() { delete registry_; }

Counters::Shard& Counters::new_shard() {
  // One shard per thread for the process's Counters; a thread that counts into a second
  // Counters object (tests) takes a fresh shard there, and a fresh one again when it returns.
  auto fresh = std::make_unique<Shard>();
  t_shard_ = fresh.get();
  t_owner_ = this;
  std::lock_guard lock(registry_->mutex);
  registry_->shards.push_back(std::move(fresh));
  return *t_shard_;
}

std::uint64_t Counters::sum(std::size_t slot) const {
  std::lock_guard lock(registry_->mutex);
  std::uint64_t total = 0;
  for (const auto& s : registry_->shards) total += s->slots[slot].load(std::memory_order_relaxed);
  return total;
}

std::uint64_t Counters::forwarded() const {
  std::uint64_t total = 0;
  for (std::size_t i = 0; i < kCallCount; ++i) total += sum(kForwardedBase + i);
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
  for (std::size_t i = 0; i < kCallCount; ++i) line("calls", kCallNames[i], calls(static_cast<Call>(i)));
  for (std::size_t i = 0; i < kMethodCount; ++i) {
    line("method-calls", kMethodNames[i], method_calls(static_cast<Method>(i)));
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

}  // namespace strider::core
