#pragma once
// The side table of requests that owe deferred work: a staged receive to unpack, a staging
// buffer to return, a persistent send to pack again at each start. Keyed by the underlying
// MPI's own request handle, which is what the application holds.
#include <mpi.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "exec/device.hpp"
#include "exec/staging.hpp"
#include "types/layout.hpp"

namespace strider::exec {

// A receive block of a nonblocking collective that Strider staged: `count` elements of
// `layout` for `buf`, packed at `offset` in the request's staging buffer.
struct StagedBlock {
  std::shared_ptr<const types::Layout> layout;
  std::int64_t count = 0;
  void* buf = nullptr;
  std::int64_t offset = 0;
};

// What a nonblocking collective's entry keeps: the receive blocks to unpack, and the argument
// arrays given to the underlying MPI's collective, which the standard lets it read until
// completion. Apart from Pending, so that point-to-point entries stay small.
struct CollectiveState {
  std::vector<StagedBlock> blocks;
  std::vector<int> counts;
  std::vector<int> int_displs;
  std::vector<MPI_Aint> displs;
  std::vector<MPI_Datatype> types;
};

struct Pending {
  // collective: a nonblocking collective whose staged receive blocks (`collective->blocks`) are
  // unpacked at completion; its staged send blocks need only the staging buffer returned.
  enum class Kind : std::uint8_t { send, recv, collective };
  Kind kind = Kind::send;
  bool persistent = false;
  bool active = true;     // persistent requests: started and not yet completed
  bool unpacked = false;  // receives: already unpacked (by MPI_Request_get_status)
  bool split = false;     // persistent sends: a split send (exec/p2p.cpp), its tail moved at every start
  Staging staging;
  // Device buffers (a device method): the device staging and method; empty (method native)
  // for host operations, which use `staging`.
  DeviceStaging device;
  std::shared_ptr<const types::Layout> layout;
  void* recv_buf = nullptr;        // receives: the application's buffer
  const void* send_buf = nullptr;  // persistent sends: packed again at every start
  std::int64_t count = 0;          // elements posted (receives never unpack more)
  std::unique_ptr<CollectiveState> collective;  // kind collective
  // Set by track(), unique per entry. The underlying MPI recycles a request's handle as soon
  // as it completes, so under MPI_THREAD_MULTIPLE another thread may track a new request with
  // the same handle before the completing thread has done its bookkeeping: entries of one
  // handle coexist, and completion names the entry by id.
  std::uint64_t id = 0;
  bool claimed = false;  // held by a completion call in progress (or detached)
};

// Whether any request is tracked: one relaxed load, so untracked completions cost nothing.
bool requests_tracked();

void track(MPI_Request request, Pending pending);
// The application's entry of `request` (the newest unclaimed one), or null. Valid until the
// request completes or is freed.
Pending* find_pending(MPI_Request request);

// Claims the application's entry of `request` for a completion call about to run: returns
// its id, or 0 when the request is not tracked. A claimed entry is invisible to other
// threads' claims and finds (it may belong to a handle already recycled).
std::uint64_t claim(MPI_Request request);
// claim() for `count` requests under one lock: ids[i] for requests[i]; true when any is tracked.
bool claim_many(int count, const MPI_Request requests[], std::uint64_t ids[]);
// Returns a claimed entry whose request did not complete.
void unclaim(MPI_Request request, std::uint64_t id);
// unclaim() for every nonzero ids[i], under one lock.
void unclaim_many(std::size_t count, const MPI_Request requests[], const std::uint64_t ids[]);

// After the underlying MPI completed `request` (its handle before the call; `id` from claim)
// with `status`: unpacks a receive, and forgets a non-persistent request and returns its
// staging buffer. Does nothing for id 0.
void complete(MPI_Request request, std::uint64_t id, const MPI_Status& status);
// complete() for every i with done[i] (ids[i] nonzero), the table locked once.
void complete_many(std::size_t count, const MPI_Request requests[], const std::uint64_t ids[], const bool done[],
                   const MPI_Status statuses[]);

// Drops the entry `id` of `request` and returns its staging buffer (an inactive persistent
// request being freed).
void forget(MPI_Request request, std::uint64_t id);

// MPI_Request_free of a tracked request that is still active: the application lets go of the
// handle, Strider keeps it and finishes the work when the underlying request completes.
void detach(MPI_Request request, std::uint64_t id);
namespace detail {
extern std::atomic<std::int64_t> g_detached;
void progress_detached_slow(bool wait);
}  // namespace detail

// Completes what detached requests have finished (called from every intercepted call while
// any are pending); with `wait`, waits for all of them (MPI_Finalize). One relaxed load when
// none is pending.
inline void progress_detached(bool wait) {
  if (detail::g_detached.load(std::memory_order_relaxed) != 0) [[unlikely]]
    detail::progress_detached_slow(wait);
}

// The bytes of a completed receive to unpack: `received` (the status's count, which for a
// truncated receive is the whole message) capped at what the receive posted.
std::int64_t posted_bytes(const Pending& p, std::int64_t received);

// Delivers `bytes` received packed bytes (a whole message, possibly ending inside an element)
// of the receive `p` from its staging into its buffer, on the host or the device.
void deliver_received(const Pending& p, std::int64_t bytes);

// Unpacks every staged receive block of a completed collective from its staging buffer.
void deliver_blocks(const Pending& p);

// Unpacks `bytes` received packed bytes (a whole message, possibly ending inside an element,
// or a collective's staged block), streaming from kReceiveStreamingThreshold.
void unpack_received(const types::Layout& layout, std::int64_t bytes, const void* packed, void* buf);

}  // namespace strider::exec
