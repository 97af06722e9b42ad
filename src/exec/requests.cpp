#include "exec/requests.hpp"

#include <mutex>
#include <unordered_map>
#include <utility>
#include <vector>

#include "backend/cpu/pack_cpu.hpp"
#include "backend/cpu/reference_pack.hpp"
#include "mpi/calls.hpp"
#include "mpi/next.hpp"

namespace strider::exec {

namespace detail {
std::atomic<std::int64_t> g_detached{0};
}  // namespace detail
using detail::g_detached;
namespace {

struct Table {
  std::mutex mutex;
  // Usually one entry per handle; more while a recycled handle's old entry is being completed.
  std::unordered_multimap<MPI_Request, std::unique_ptr<Pending>> entries;
  std::vector<std::pair<MPI_Request, std::uint64_t>> detached;
  std::uint64_t next_id = 0;
};

using Entries = std::unordered_multimap<MPI_Request, std::unique_ptr<Pending>>;

// The newest unclaimed entry of `request` (the application's), or end(). Lock held.
Entries::iterator find_unclaimed(Table& t, MPI_Request request) {
  auto [first, last] = t.entries.equal_range(request);
  auto best = t.entries.end();
  for (auto it = first; it != last; ++it)
    if (!it->second->claimed && (best == t.entries.end() || it->second->id > best->second->id)) best = it;
  return best;
}

// The entry `id` of `request`, or end(). Lock held.
Entries::iterator find_id(Table& t, MPI_Request request, std::uint64_t id) {
  auto [first, last] = t.entries.equal_range(request);
  for (auto it = first; it != last; ++it)
    if (it->second->id == id) return it;
  return t.entries.end();
}

Table& table() {
  static Table* instance = new Table;  // never destroyed: requests may outlive static teardown
  return *instance;
}

std::atomic<std::int64_t> g_tracked{0};

}  // namespace

std::int64_t posted_bytes(const Pending& p, std::int64_t received) {
  // A truncated receive's status counts the whole message (Open MPI): only what was posted
  // landed in the staging buffer.
  const std::int64_t posted = p.count * (p.layout ? p.layout->size : 0);
  return received < posted ? received : posted;
}

namespace {

// Runs the deferred work of `p` for a completed request.
void finish(Pending& p, const MPI_Status& status) {
  if (p.kind == Pending::Kind::collective && !p.unpacked) deliver_blocks(p);
  if (p.kind == Pending::Kind::recv && !p.unpacked) {
    int bytes = 0;
    if (!mpi::test_cancelled(status) && mpi::next().Get_count(&status, MPI_BYTE, &bytes) == MPI_SUCCESS && bytes > 0)
      deliver_received(p, posted_bytes(p, bytes));
  }
  p.unpacked = false;
  p.active = false;
}

}  // namespace

bool requests_tracked() { return g_tracked.load(std::memory_order_relaxed) != 0; }

void track(MPI_Request request, Pending pending) {
  Table& t = table();
  std::lock_guard lock(t.mutex);
  pending.id = ++t.next_id;
  pending.claimed = false;
  t.entries.emplace(request, std::make_unique<Pending>(std::move(pending)));
  g_tracked.fetch_add(1, std::memory_order_relaxed);
}

Pending* find_pending(MPI_Request request) {
  if (!requests_tracked() || request == MPI_REQUEST_NULL) return nullptr;
  Table& t = table();
  std::lock_guard lock(t.mutex);
  auto it = find_unclaimed(t, request);
  return it == t.entries.end() ? nullptr : it->second.get();
}

std::uint64_t claim(MPI_Request request) {
  if (!requests_tracked() || request == MPI_REQUEST_NULL) return 0;
  Table& t = table();
  std::lock_guard lock(t.mutex);
  auto it = find_unclaimed(t, request);
  if (it == t.entries.end()) return 0;
  it->second->claimed = true;
  return it->second->id;
}

bool claim_many(int count, const MPI_Request requests[], std::uint64_t ids[]) {
  for (int i = 0; i < count; ++i) ids[i] = 0;
  if (!requests_tracked()) return false;
  Table& t = table();
  bool any = false;
  std::lock_guard lock(t.mutex);
  for (int i = 0; i < count; ++i) {
    if (requests[i] == MPI_REQUEST_NULL) continue;
    auto it = find_unclaimed(t, requests[i]);
    if (it == t.entries.end()) continue;
    it->second->claimed = true;
    ids[i] = it->second->id;
    any = true;
  }
  return any;
}

void unclaim_many(std::size_t count, const MPI_Request requests[], const std::uint64_t ids[]) {
  bool any = false;
  for (std::size_t i = 0; i < count && !any; ++i) any = ids[i] != 0;
  if (!any) return;
  Table& t = table();
  std::lock_guard lock(t.mutex);
  for (std::size_t i = 0; i < count; ++i) {
    if (ids[i] == 0) continue;
    auto it = find_id(t, requests[i], ids[i]);
    if (it != t.entries.end()) it->second->claimed = false;
  }
}

void unclaim(MPI_Request request, std::uint64_t id) {
  if (id == 0) return;
  Table& t = table();
  std::lock_guard lock(t.mutex);
  auto it = find_id(t, request, id);
  if (it != t.entries.end()) it->second->claimed = false;
}

namespace {

// The table half of complete(), lock held: the entry, taken out of the table unless it is
// persistent (then `owned` stays empty); null when it is gone.
Pending* take_completed(Table& t, MPI_Request request, std::uint64_t id, std::unique_ptr<Pending>& owned) {
  auto it = find_id(t, request, id);
  if (it == t.entries.end()) return nullptr;
  Pending* p = it->second.get();
  p->claimed = false;  // a persistent request stays the application's
  if (!p->persistent) {
    owned = std::move(it->second);
    t.entries.erase(it);
    g_tracked.fetch_sub(1, std::memory_order_relaxed);
  }
  return p;
}

// The work half, without the lock: unpack, then return the staging of a finished entry.
void finish_completed(Pending* p, std::unique_ptr<Pending>& owned, const MPI_Status& status) {
  if (p == nullptr) return;
  // Completing an inactive persistent request returns an empty status: nothing to do.
  if (p->persistent && !p->active) return;
  finish(*p, status);
  if (owned) {
    release_staging(owned->staging);
    device_release(owned->device);
  }
}

}  // namespace

void complete(MPI_Request request, std::uint64_t id, const MPI_Status& status) {
  if (id == 0) return;
  Table& t = table();
  std::unique_ptr<Pending> owned;
  Pending* p = nullptr;
  {
    std::lock_guard lock(t.mutex);
    p = take_completed(t, request, id, owned);
  }
  finish_completed(p, owned, status);
}

void complete_many(std::size_t count, const MPI_Request requests[], const std::uint64_t ids[], const bool done[],
                   const MPI_Status statuses[]) {
  Table& t = table();
  std::vector<Pending*> entries(count, nullptr);
  std::vector<std::unique_ptr<Pending>> owned(count);
  {
    std::lock_guard lock(t.mutex);
    for (std::size_t i = 0; i < count; ++i)
      if (done[i] && ids[i] != 0) entries[i] = take_completed(t, requests[i], ids[i], owned[i]);
  }
  for (std::size_t i = 0; i < count; ++i) finish_completed(entries[i], owned[i], statuses[i]);
}

void forget(MPI_Request request, std::uint64_t id) {
  Table& t = table();
  std::lock_guard lock(t.mutex);
  auto it = find_id(t, request, id);
  if (it == t.entries.end()) return;
  release_staging(it->second->staging);
  device_release(it->second->device);
  t.entries.erase(it);
  g_tracked.fetch_sub(1, std::memory_order_relaxed);
}

void detach(MPI_Request request, std::uint64_t id) {
  Table& t = table();
  std::lock_guard lock(t.mutex);
  auto it = find_id(t, request, id);
  if (it != t.entries.end()) it->second->claimed = true;  // no longer the application's
  t.detached.emplace_back(request, id);
  g_detached.fetch_add(1, std::memory_order_relaxed);
}

void detail::progress_detached_slow(bool wait) {
  Table& t = table();
  std::vector<std::pair<MPI_Request, std::uint64_t>> handles;
  {
    std::lock_guard lock(t.mutex);
    handles.swap(t.detached);
  }
  std::vector<std::pair<MPI_Request, std::uint64_t>> still_active;
  for (auto [handle, id] : handles) {
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
      still_active.emplace_back(handle, id);
      continue;
    }
    bool persistent = false;
    {
      std::lock_guard lock(t.mutex);
      auto it = find_id(t, original, id);
      persistent = it != t.entries.end() && it->second->persistent;
    }
    complete(original, id, status);
    if (persistent) {
      // The application freed it while active; now it is inactive and can really go.
      forget(original, id);
      mpi::next().Request_free(&handle);
    }
  }
  std::lock_guard lock(t.mutex);
  g_detached.store(static_cast<std::int64_t>(t.detached.size() + still_active.size()), std::memory_order_relaxed);
  t.detached.insert(t.detached.end(), still_active.begin(), still_active.end());
}

void deliver_received(const Pending& p, std::int64_t bytes) {
  if (p.device) {
    device_recv_finish(*p.layout, bytes, p.device, p.recv_buf);
    return;
  }
  unpack_received(*p.layout, bytes, p.staging.data, p.recv_buf);
}

void deliver_blocks(const Pending& p) {
  if (!p.collective) return;
  for (const StagedBlock& b : p.collective->blocks)
    unpack_received(*b.layout, b.count * b.layout->size, static_cast<const char*>(p.staging.data) + b.offset, b.buf);
}

void unpack_received(const types::Layout& layout, std::int64_t bytes, const void* packed, void* buf) {
  if (layout.size <= 0) return;
  const std::int64_t whole = bytes / layout.size;
  const std::int64_t rest = bytes - whole * layout.size;
  if (whole > 0) backend::cpu::unpack(layout, whole, packed, buf, backend::cpu::kReceiveStreamingThreshold);
  if (rest > 0)
    backend::cpu::reference_unpack_partial(layout, whole, rest,
                                           static_cast<const char*>(packed) + whole * layout.size, buf);
}

}  // namespace strider::exec
