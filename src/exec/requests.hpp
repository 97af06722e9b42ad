#pragma once
// The side table of requests that owe deferred work: a staged receive to unpack, a staging
// buffer to return, a persistent send to pack again at each start. Keyed by the underlying
// MPI's own request handle, which is what the application holds.
#include <mpi.h>

#include <atomic>
#include <cstdint>
#include <memory>

#include "exec/staging.hpp"
#include "types/layout.hpp"

namespace strider::exec {

struct Pending {
  enum class Kind : std::uint8_t { send, recv };
  Kind kind = Kind::send;
  bool persistent = false;
  bool active = true;     // persistent requests: started and not yet completed
  bool unpacked = false;  // receives: already unpacked (by MPI_Request_get_status)
  Staging staging;
  std::shared_ptr<const types::Layout> layout;
  void* recv_buf = nullptr;        // receives: the application's buffer
  const void* send_buf = nullptr;  // persistent sends: packed again at every start
  std::int64_t count = 0;
};

// Whether any request is tracked: one relaxed load, so untracked completions cost nothing.
bool requests_tracked();

void track(MPI_Request request, Pending pending);
// The entry of `request`, or null. Valid until the request completes or is freed.
Pending* find_pending(MPI_Request request);

// After the underlying MPI completed `request` (its handle before the call) with `status`:
// unpacks a receive, and forgets a non-persistent request and returns its staging buffer.
void complete(MPI_Request request, const MPI_Status& status);

// Drops the entry of `request` and returns its staging buffer (an inactive persistent
// request being freed).
void forget(MPI_Request request);

// MPI_Request_free of a tracked request that is still active: the application lets go of the
// handle, Strider keeps it and finishes the work when the underlying request completes.
void detach(MPI_Request request);
// Completes what detached requests have finished (called from every intercepted call while
// any are pending); with `wait`, waits for all of them (MPI_Finalize).
void progress_detached(bool wait);

// Unpacks `bytes` received packed bytes (a whole message, possibly ending inside an element).
void unpack_received(const types::Layout& layout, std::int64_t bytes, const void* packed, void* buf);

}  // namespace strider::exec
