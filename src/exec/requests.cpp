#include "exec/requests.hpp"

#include <mutex>
#include <unordered_map>
#include <vector>

#include "backend/cpu/pack_cpu.hpp"
#include "backend/cpu/reference_pack.hpp"
#include "mpi/next.hpp"

namespace strider::exec {
namespace {

struct Table {
  std::mutex mutex;
  std::unordered_map<MPI_Request, std::unique_ptr<Pending>> entries;
  std::vector<MPI_Request> detached;
};

Table& table() {
  static Table* instance = new Table;  // never destroyed: requests may outlive static teardown
  return *instance;
}

std::atomic<std::int64_t> g_tracked{0};
std::atomic<std::int64_t> g_detached{0};

// Runs the deferred work of `p` for a completed request.
void finish(Pending& p, const MPI_Status& status) {
  if (p.kind == Pending::Kind::recv && !p.unpacked) {
    int cancelled = 0;
    PMPI_Test_cancelled(&status, &cancelled);
    int bytes = 0;
    if (cancelled == 0 && mpi::next().Get_count(&status, MPI_BYTE, &bytes) == MPI_SUCCESS && bytes > 0)
      unpack_received(*p.layout, bytes, p.staging.data, p.recv_buf);
  }
  p.unpacked = false;
  p.active = false;
}

}  // namespace

bool requests_tracked() { return g_tracked.load(std::memory_order_relaxed) != 0; }

void track(MPI_Request request, Pending pending) {
  Table& t = table();
  std::lock_guard lock(t.mutex);
  auto [it, inserted] = t.entries.insert_or_assign(request, std::make_unique<Pending>(std::move(pending)));
  static_cast<void>(it);
  if (inserted) g_tracked.fetch_add(1, std::memory_order_relaxed);
}

Pending* find_pending(MPI_Request request) {
  if (!requests_tracked() || request == MPI_REQUEST_NULL) return nullptr;
  Table& t = table();
  std::lock_guard lock(t.mutex);
  auto it = t.entries.find(request);
  return it == t.entries.end() ? nullptr : it->second.get();
}

void complete(MPI_Request request, const MPI_Status& status) {
  Table& t = table();
  std::unique_ptr<Pending> done;
  Pending* p = nullptr;
  {
    std::lock_guard lock(t.mutex);
    auto it = t.entries.find(request);
    if (it == t.entries.end()) return;
    p = it->second.get();
    if (!p->persistent) {
      done = std::move(it->second);
      t.entries.erase(it);
      g_tracked.fetch_sub(1, std::memory_order_relaxed);
    }
  }
  // Completing an inactive persistent request returns an empty status: nothing to do.
  if (p->persistent && !p->active) return;
  finish(*p, status);
  if (done) release_staging(done->staging);
}

void forget(MPI_Request request) {
  Table& t = table();
  std::lock_guard lock(t.mutex);
  auto it = t.entries.find(request);
  if (it == t.entries.end()) return;
  release_staging(it->second->staging);
  t.entries.erase(it);
  g_tracked.fetch_sub(1, std::memory_order_relaxed);
}

void detach(MPI_Request request) {
  Table& t = table();
  std::lock_guard lock(t.mutex);
  t.detached.push_back(request);
  g_detached.fetch_add(1, std::memory_order_relaxed);
}

void progress_detached(bool wait) {
  if (g_detached.load(std::memory_order_relaxed) == 0) return;
  Table& t = table();
  std::vector<MPI_Request> handles;
  {
    std::lock_guard lock(t.mutex);
    handles.swap(t.detached);
  }
  std::vector<MPI_Request> still_active;
  for (MPI_Request handle : handles) {
    const MPI_Request original = handle;
    MPI_Status status;
    int done = 0;
    if (wait) {
      mpi::next().Wait(&handle, &status);
      done = 1;
    } else {
      mpi::next().Test(&handle, &done, &status);
    }
    if (done == 0) {
      still_active.push_back(handle);
      continue;
    }
    Pending* p = find_pending(original);
    const bool persistent = p != nullptr && p->persistent;
    complete(original, status);
    if (persistent) {
      // The application freed it while active; now it is inactive and can really go.
      forget(original);
      mpi::next().Request_free(&handle);
    }
  }
  std::lock_guard lock(t.mutex);
  g_detached.store(static_cast<std::int64_t>(t.detached.size() + still_active.size()), std::memory_order_relaxed);
  t.detached.insert(t.detached.end(), still_active.begin(), still_active.end());
}

void unpack_received(const types::Layout& layout, std::int64_t bytes, const void* packed, void* buf) {
  if (layout.size <= 0) return;
  const std::int64_t whole = bytes / layout.size;
  const std::int64_t rest = bytes - whole * layout.size;
  if (whole > 0) backend::cpu::unpack(layout, whole, packed, buf);
  if (rest > 0)
    backend::cpu::reference_unpack_partial(layout, whole, rest,
                                           static_cast<const char*>(packed) + whole * layout.size, buf);
}

}  // namespace strider::exec
