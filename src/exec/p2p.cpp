#include "exec/p2p.hpp"

#include <array>
#include <atomic>
#include <climits>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "backend/cpu/pack_cpu.hpp"
#include "core/config.hpp"
#include "core/counters.hpp"
#include "core/log.hpp"
#include "exec/device.hpp"
#include "exec/forward.hpp"
#include "exec/model_load.hpp"
#include "exec/layout_lookup.hpp"
#include "exec/requests.hpp"
#include "exec/staging.hpp"
#include "memory/classify.hpp"
#include "mpi/calls.hpp"
#include "mpi/next.hpp"
#include "plan/method.hpp"

// Wire format: a message Strider packs travels as `bytes` MPI_PACKED bytes with the user's
// tag and communicator, so any sender and receiver method pair interoperates (a native
// typed receive unpacks it; a packed receive takes a native typed send), MPI_Get_count on
// the status is the same as natively (Open MPI keeps byte counts), and everything goes
// through the underlying MPI in program order, which keeps non-overtaking order.
namespace strider::exec {
namespace {

const mpi::Next& next() { return mpi::next(); }

void warn_forced_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    core::log(core::LogLevel::warn, "STRIDER_METHOD=" + std::string(core::to_string(core::config().method)) +
                                        " cannot be used for these buffers; using the automatic choice");
  });
}

// A send or receive Strider packs itself.
struct Route {
  std::shared_ptr<const types::Layout> layout;
  int bytes = 0;
  core::Method method = core::Method::host_pack;  // or a device method (device buffers)
  int device = -1;                                // device buffers: the buffer's device
  MPI_Datatype split = MPI_DATATYPE_NULL;         // host-pack sends: as one of this type (below)
  bool on_device() const { return method != core::Method::host_pack; }
};

// Split sends. A host-packed message is contiguous bytes, and Open MPI's shared-memory
// transport moves contiguous messages above its eager limit (4 KiB) by a single-copy
// rendezvous, which on the development VM cost about 4 us a message, while it moves
// non-contiguous data through its copy buffers: 2 messages of 8 KiB each way took 10.1 us
// contiguous and 5.2 us as two blocks (Isend/Irecv/Waitall, medians; the same within 5% over
// TCP). So where strider-measure found the two-block form faster (plan::split_send), or
// STRIDER_SPLIT_SEND=1 says so, a packed send hands the MPI its staging as mpi::split_type:
// the last mpi::kSplitTail bytes copied that far on, the same bytes on the wire. Receives are
// unchanged. The types are made once per size, when a route is decided (the decision memo
// keeps the type), and freed at MPI_Finalize. The nonblocking collectives that take a datatype
// per block send their staged blocks the same way (exec/collectives.cpp).
constexpr std::size_t kMaxSplitTypes = 256;

struct SplitTypes {
  std::mutex mutex;
  std::unordered_map<int, MPI_Datatype> types;
};

SplitTypes& split_types() {
  static SplitTypes* t = new SplitTypes;  // never destroyed: sends may run during static teardown
  return *t;
}

// The split type of `bytes`; MPI_DATATYPE_NULL when there is none (too small, too many sizes,
// or the MPI refused it), and the send goes as contiguous bytes.
MPI_Datatype split_type_for(int bytes) {
  SplitTypes& t = split_types();
  std::lock_guard lock(t.mutex);
  const auto it = t.types.find(bytes);
  if (it != t.types.end()) return it->second;
  if (t.types.size() >= kMaxSplitTypes) return MPI_DATATYPE_NULL;
  const MPI_Datatype type = mpi::split_type(bytes);
  t.types.emplace(bytes, type);  // a failure is remembered too
  return type;
}

std::atomic<std::uint64_t> g_split_sends{0};

bool splits(int bytes) {
  if (bytes < 2 * mpi::kSplitTail) return false;
  switch (core::config().split_send) {
    case core::SplitChoice::on: return true;
    case core::SplitChoice::off: return false;
    case core::SplitChoice::automatic: break;
  }
  return plan::split_send(*plan::installed_model(), bytes, job_locality());
}

}  // namespace

MPI_Datatype split_send_type(std::int64_t bytes) {
  if (bytes > INT_MAX || !splits(static_cast<int>(bytes))) return MPI_DATATYPE_NULL;
  return split_type_for(static_cast<int>(bytes));
}

void move_split_tail(void* staging, std::int64_t bytes) {
  auto* b = static_cast<unsigned char*>(staging);
  std::memcpy(b + bytes, b + bytes - mpi::kSplitTail, mpi::kSplitTail);
  g_split_sends.fetch_add(1, std::memory_order_relaxed);
}

HostRoutes& host_routes() {
  if (detail::t_routes == nullptr) {
    // Frees the table when the thread ends, and makes the fast path see none from then on.
    struct Owner {
      std::unique_ptr<HostRoutes> table = std::make_unique<HostRoutes>();
      Owner(const Owner&) = delete;
      Owner& operator=(const Owner&) = delete;
      Owner() = default;
      ~Owner() { detail::t_routes = nullptr; }
    };
    thread_local Owner owner;
    detail::t_routes = owner.table.get();
  }
  return *detail::t_routes;
}

namespace {

// True when Strider packs (buf, count, type) for a transfer with `peer`; everything else,
// invalid arguments included, goes to the underlying MPI as called, so its error classes
// and error handlers apply unchanged. Device methods are routed only for callers that run
// them (`device_ok`); for the others a device buffer goes to the underlying MPI, counted.
// The long way; route() below first tries the forwarded-call fast path (exec/forward.hpp).
[[gnu::noinline]] bool route_slow(const void* buf, int count, MPI_Datatype type, int peer, Route& out,
                                  bool device_ok) {
  if (count <= 0 || buf == nullptr || type == MPI_DATATYPE_NULL || peer == MPI_PROC_NULL) return false;
  const std::uint64_t epoch = core::decision_epoch();
  HostRoute& memo = host_route_slot(type, count);
  if (memo.type == type && memo.count == count && memo.epoch == epoch && memory::known_host(buf)) {
    if (!memo.packed) return false;
    out.layout = memo.layout;
    out.bytes = memo.bytes;
    out.method = core::Method::host_pack;
    out.device = -1;
    out.split = memo.split;
    return true;
  }
  const auto& layout = layout_of(type);
  const memory::PointerInfo info = memory::query(buf);
  if (!layout) {
    if (info.kind == memory::Kind::device) core::counters().count_fallback(core::Fallback::unsupported_type);
    if (info.kind == memory::Kind::host) {
      static_cast<void>(next());
      memo = HostRoute{type, count, epoch, false, nullptr, 0};
    }
    return false;
  }
  // The forwarded case (a contiguous host message) decided before anything else is looked up.
  if (info.kind == memory::Kind::host && plan::one_run(*layout, count) &&
      core::config().method != core::MethodChoice::host_pack) {
    static_cast<void>(next());  // the fast path then uses the table without checking it
    if (plan::one_run(*layout, 1)) remember_forward(type, epoch, plan::one_run(*layout, 2));
    memo = HostRoute{type, count, epoch, false, nullptr, 0};
    return false;
  }
  plan::Request request;
  request.layout = layout.get();
  request.count = count;
  request.memory = info.kind;
  const core::Config& config = core::config();
  request.forced = config.method;
  request.locality = job_locality();
  request.explain = config.explain;
  if (info.kind == memory::Kind::device) request.cuda_aware = mpi::cuda_aware();
  const plan::Choice choice = plan::choose_p2p(request);
  if (choice.forced_impossible) warn_forced_once();
  if (!choice.explanation.empty()) print_explanation(choice.explanation);
  const bool device_method = choice.method == core::Method::device || choice.method == core::Method::one_shot ||
                             choice.method == core::Method::staged;
  if (device_method && !device_ok) {
    core::counters().count_fallback(core::Fallback::device_buffer);
    return false;
  }
  const bool host = info.kind == memory::Kind::host && !choice.forced_impossible;
  if (choice.method != core::Method::host_pack && !device_method) {
    if (host) {
      static_cast<void>(next());
      memo = HostRoute{type, count, epoch, false, nullptr, 0};
    }
    return false;
  }
  std::int64_t bytes = 0;
  if (__builtin_mul_overflow(static_cast<std::int64_t>(count), layout->size, &bytes) || bytes > INT_MAX) {
    core::counters().count_fallback(core::Fallback::unsupported_type);
    return false;
  }
  out.layout = layout;
  out.bytes = static_cast<int>(bytes);
  out.method = choice.method;
  out.device = info.device;
  out.split = choice.method == core::Method::host_pack ? split_send_type(out.bytes) : MPI_DATATYPE_NULL;
  if (host && choice.method == core::Method::host_pack)
    memo = HostRoute{type, count, epoch, true, layout, static_cast<int>(bytes), out.split};
  return true;
}

inline bool route(const void* buf, int count, MPI_Datatype type, int peer, Route& out, bool device_ok = false) {
  progress_detached(false);
  if (forward_native(buf, count, type)) return false;
  return route_slow(buf, count, type, peer, out, device_ok);
}

}  // namespace

bool host_packs(const void* buf, int count, MPI_Datatype type, int peer, HostPacking& out) {
  Route r;
  if (!route(buf, count, type, peer, r) || r.on_device()) return false;
  out.layout = r.layout;
  out.bytes = r.bytes;
  return true;
}

namespace {

bool is_device(const void* buf) { return buf != nullptr && memory::classify(buf) == memory::Kind::device; }

// A device send's staging, packed and ready to go; empty (counted) when the caller must fall
// back to the underlying MPI.
DeviceStaging device_staging_send(const Route& r, const void* buf, int count) {
  DeviceStaging ds;
  if (!device_send_prepare(*r.layout, count, buf, r.device, r.method, ds)) return {};
  return ds;
}

DeviceStaging device_staging_recv(const Route& r) {
  DeviceStaging ds;
  if (!device_recv_prepare(*r.layout, r.bytes, r.device, r.method, ds)) return {};
  return ds;
}

Staging staging_for(const Route& r) {
  Staging s = acquire_staging(static_cast<std::size_t>(r.bytes) + (r.split != MPI_DATATYPE_NULL ? mpi::kSplitTail : 0));
  if (!s) core::counters().count_fallback(core::Fallback::resource);
  return s;
}

// What a host-packed send hands the MPI: its staging as `bytes` MPI_PACKED, or for a split
// send one element of the split type (see split sends above).
struct Wire {
  const void* data;
  int count;
  MPI_Datatype type;
};
Wire wire_of(const Route& r, const Staging& s) {
  if (r.split == MPI_DATATYPE_NULL) return {s.data, r.bytes, MPI_PACKED};
  return {s.data, 1, r.split};
}
// The wire of a freshly packed staging buffer, readied to go.
Wire wire(const Route& r, const Staging& s) {
  if (r.split != MPI_DATATYPE_NULL) move_split_tail(s.data, r.bytes);
  return wire_of(r, s);
}

void count_native() { core::counters().count_method(core::Method::native, 0); }

// Blocking sends: pack, send the bytes with `send_bytes`, return the staging buffer.
template <class Send>
int packed_send(const void* buf, int count, MPI_Datatype type, int dest, Send&& send) {
  Route r;
  if (!route(buf, count, type, dest, r, true)) {
    count_native();
    return send(buf, count, type);
  }
  if (r.on_device()) {
    DeviceStaging ds = device_staging_send(r, buf, count);
    if (!ds) return send(buf, count, type);
    const int rc = send(ds.wire(), r.bytes, MPI_PACKED);
    device_release(ds);
    core::counters().count_method(r.method, static_cast<std::uint64_t>(r.bytes));
    return rc;
  }
  Staging s = staging_for(r);
  if (!s) return send(buf, count, type);
  backend::cpu::pack(*r.layout, count, buf, s.data);
  const Wire w = wire(r, s);
  const int rc = send(w.data, w.count, w.type);
  release_staging(s);
  core::counters().count_method(core::Method::host_pack, static_cast<std::uint64_t>(r.bytes));
  return rc;
}

// Nonblocking sends: pack now (so the message is fully in the underlying MPI's hands and
// needs no later Strider call to progress), release the staging buffer at completion.
template <class Isend>
int packed_isend(const void* buf, int count, MPI_Datatype type, int dest, MPI_Request* request, Isend&& isend) {
  Route r;
  if (!route(buf, count, type, dest, r, true)) {
    count_native();
    return isend(buf, count, type);
  }
  if (r.on_device()) {
    DeviceStaging ds = device_staging_send(r, buf, count);
    if (!ds) return isend(buf, count, type);
    const int rc = isend(ds.wire(), r.bytes, MPI_PACKED);
    if (rc != MPI_SUCCESS) {
      device_release(ds);
      return rc;
    }
    Pending p;
    p.kind = Pending::Kind::send;
    p.device = ds;
    track(*request, std::move(p));
    core::counters().count_method(r.method, static_cast<std::uint64_t>(r.bytes));
    return rc;
  }
  Staging s = staging_for(r);
  if (!s) return isend(buf, count, type);
  backend::cpu::pack(*r.layout, count, buf, s.data);
  const Wire w = wire(r, s);
  const int rc = isend(w.data, w.count, w.type);
  if (rc != MPI_SUCCESS) {
    release_staging(s);
    return rc;
  }
  Pending p;
  p.kind = Pending::Kind::send;
  p.staging = s;
  track(*request, std::move(p));
  core::counters().count_method(core::Method::host_pack, static_cast<std::uint64_t>(r.bytes));
  return rc;
}

// A blocking receive's status, whether or not the application wants it.
struct StatusSlot {
  explicit StatusSlot(MPI_Status* user) : user_(user) {}
  MPI_Status* get() { return user_ == MPI_STATUS_IGNORE ? &local_ : user_; }
  MPI_Status* user_;
  MPI_Status local_{};
};

// The packed bytes a blocking receive that returned `rc` delivers (0: none): a truncated
// message still delivers what fit.
int received_bytes(int rc, const Route& r, const MPI_Status& status) {
  if (rc != MPI_SUCCESS && rc != MPI_ERR_TRUNCATE) return 0;
  int bytes = 0;
  // Open MPI's status counts a truncated message whole: only r.bytes of it arrived.
  if (next().Get_count(&status, MPI_BYTE, &bytes) != MPI_SUCCESS || bytes <= 0) return 0;
  return bytes < r.bytes ? bytes : r.bytes;
}

// Unpacks a blocking receive that returned `rc`.
void unpack_if_received(int rc, const Route& r, const MPI_Status& status, const Staging& s, void* buf) {
  const int bytes = received_bytes(rc, r, status);
  if (bytes > 0) unpack_received(*r.layout, bytes, s.data, buf);
}

void device_unpack_if_received(int rc, const Route& r, const MPI_Status& status, const DeviceStaging& ds,
                               void* buf) {
  const int bytes = received_bytes(rc, r, status);
  if (bytes > 0) device_recv_finish(*r.layout, bytes, ds, buf);
}

Pending pending_recv(const Route& r, const Staging& s, void* buf, int count) {
  Pending p;
  p.kind = Pending::Kind::recv;
  p.staging = s;
  p.layout = r.layout;
  p.recv_buf = buf;
  p.count = count;
  return p;
}

// Blocking receives: the packed bytes land in staging and what arrived is unpacked. `recv`
// receives (buffer, count, type) into the status it is given.
template <class Recv>
int packed_recv(void* buf, int count, MPI_Datatype type, int source, MPI_Status* status, Recv&& recv) {
  Route r;
  if (!route(buf, count, type, source, r, true)) {
    count_native();
    return recv(buf, count, type, status);
  }
  if (r.on_device()) {
    DeviceStaging ds = device_staging_recv(r);
    if (!ds) return recv(buf, count, type, status);
    StatusSlot slot(status);
    const int rc = recv(ds.wire(), r.bytes, MPI_PACKED, slot.get());
    device_unpack_if_received(rc, r, *slot.get(), ds, buf);
    device_release(ds);
    core::counters().count_method(r.method, static_cast<std::uint64_t>(r.bytes));
    return rc;
  }
  Staging s = staging_for(r);
  if (!s) return recv(buf, count, type, status);
  StatusSlot slot(status);
  const int rc = recv(s.data, r.bytes, MPI_PACKED, slot.get());
  unpack_if_received(rc, r, *slot.get(), s, buf);
  release_staging(s);
  core::counters().count_method(core::Method::host_pack, static_cast<std::uint64_t>(r.bytes));
  return rc;
}

// Nonblocking receives: post the packed receive into staging; the completion call that
// finishes the request unpacks it (requests.hpp).
template <class Irecv>
int packed_irecv(void* buf, int count, MPI_Datatype type, int source, MPI_Request* request, Irecv&& irecv) {
  Route r;
  if (!route(buf, count, type, source, r, true)) {
    count_native();
    return irecv(buf, count, type);
  }
  if (r.on_device()) {
    DeviceStaging ds = device_staging_recv(r);
    if (!ds) return irecv(buf, count, type);
    const int rc = irecv(ds.wire(), r.bytes, MPI_PACKED);
    if (rc != MPI_SUCCESS) {
      device_release(ds);
      return rc;
    }
    Pending p;
    p.kind = Pending::Kind::recv;
    p.device = ds;
    p.layout = r.layout;
    p.recv_buf = buf;
    p.count = count;
    track(*request, std::move(p));
    core::counters().count_method(r.method, static_cast<std::uint64_t>(r.bytes));
    return rc;
  }
  Staging s = staging_for(r);
  if (!s) return irecv(buf, count, type);
  const int rc = irecv(s.data, r.bytes, MPI_PACKED);
  if (rc != MPI_SUCCESS) {
    release_staging(s);
    return rc;
  }
  track(*request, pending_recv(r, s, buf, count));
  core::counters().count_method(core::Method::host_pack, static_cast<std::uint64_t>(r.bytes));
  return rc;
}

// The peer route() sees for a matched receive, whose message handle names no source: a real
// message is routed as a receive from MPI_ANY_SOURCE is (route() tells only MPI_PROC_NULL
// apart). MPI_MESSAGE_NO_PROC and invalid handles (whose errors the MPI reports) count as
// MPI_PROC_NULL, which route() leaves to the MPI.
int matched_peer(const MPI_Message* message) {
  if (message == nullptr || *message == MPI_MESSAGE_NULL || *message == MPI_MESSAGE_NO_PROC) return MPI_PROC_NULL;
  return MPI_ANY_SOURCE;
}

// Statuses for a completion call over `count` requests, whether or not the application
// wants them: Strider needs the byte counts of its receives.
class Statuses {
 public:
  Statuses(int count, MPI_Status* user) : user_(user) {
    if (user == MPI_STATUSES_IGNORE) local_.resize(static_cast<std::size_t>(count > 0 ? count : 0));
  }
  MPI_Status* get() { return user_ == MPI_STATUSES_IGNORE ? local_.data() : user_; }

 private:
  MPI_Status* user_;
  std::vector<MPI_Status> local_;
};

bool completed_ok(int rc, const MPI_Status& status) {
  if (rc == MPI_SUCCESS) return true;
  return rc == MPI_ERR_IN_STATUS && (status.MPI_ERROR == MPI_SUCCESS || status.MPI_ERROR == MPI_ERR_TRUNCATE);
}

// The handles before a completion call (which resets completed ones to MPI_REQUEST_NULL) and
// the claimed entry of each (0: untracked); empty when none is tracked, so untracked arrays
// pay nothing more. Every claimed entry must end in complete() or unclaim() (see
// requests.hpp: handles are recycled as soon as they complete).
struct Snapshot {
  std::vector<MPI_Request> handles;
  std::vector<std::uint64_t> ids;
  const MPI_Request* live = nullptr;  // the application's array, which the call updates
  bool empty() const { return handles.empty(); }
  void complete(std::size_t i, const MPI_Status& status) {
    exec::complete(handles[i], ids[i], status);
    ids[i] = 0;
  }
  // Completes every request i with done[i], the table locked once (Waitall, Testall).
  // The completion call returned `rc` with these statuses; done: completed_ok per request.
  void complete_all(int rc, const MPI_Status statuses[]) {
    const std::unique_ptr<bool[]> done(new bool[ids.size()]);
    for (std::size_t i = 0; i < ids.size(); ++i) done[i] = completed_ok(rc, statuses[i]);
    exec::complete_many(ids.size(), handles.data(), ids.data(), done.get(), statuses);
    for (std::size_t i = 0; i < ids.size(); ++i)
      if (done[i]) ids[i] = 0;
  }
  // Returns the claims of the requests that did not complete. A request the underlying MPI
  // freed without completing it successfully (it failed, and its handle is now
  // MPI_REQUEST_NULL) is dropped with its staging: there is nothing left to unpack.
  ~Snapshot() {
    for (std::size_t i = 0; i < ids.size(); ++i) {
      if (ids[i] != 0 && live != nullptr && live[i] == MPI_REQUEST_NULL && handles[i] != MPI_REQUEST_NULL) {
        forget(handles[i], ids[i]);
        ids[i] = 0;
      }
    }
    unclaim_many(ids.size(), handles.data(), ids.data());
  }
};

void tracked_snapshot(int count, const MPI_Request requests[], Snapshot& out) {
  if (!requests_tracked() || count <= 0 || requests == nullptr) return;
  std::vector<std::uint64_t> ids(static_cast<std::size_t>(count), 0);
  if (!claim_many(count, requests, ids.data())) return;
  out.handles.assign(requests, requests + count);
  out.ids = std::move(ids);
  out.live = requests;
}


}  // namespace

int send(const void* buf, int count, MPI_Datatype type, int dest, int tag, MPI_Comm comm) {
  return packed_send(buf, count, type, dest,
                     [&](const void* b, int c, MPI_Datatype t) { return next().Send(b, c, t, dest, tag, comm); });
}

int ssend(const void* buf, int count, MPI_Datatype type, int dest, int tag, MPI_Comm comm) {
  return packed_send(buf, count, type, dest,
                     [&](const void* b, int c, MPI_Datatype t) { return next().Ssend(b, c, t, dest, tag, comm); });
}

int bsend(const void* buf, int count, MPI_Datatype type, int dest, int tag, MPI_Comm comm) {
  // The attached buffer was sized with MPI_Pack_size of the user's type; the packed bytes
  // never need more.
  return packed_send(buf, count, type, dest,
                     [&](const void* b, int c, MPI_Datatype t) { return next().Bsend(b, c, t, dest, tag, comm); });
}

int rsend(const void* buf, int count, MPI_Datatype type, int dest, int tag, MPI_Comm comm) {
  return packed_send(buf, count, type, dest,
                     [&](const void* b, int c, MPI_Datatype t) { return next().Rsend(b, c, t, dest, tag, comm); });
}

int recv(void* buf, int count, MPI_Datatype type, int source, int tag, MPI_Comm comm, MPI_Status* status) {
  return packed_recv(buf, count, type, source, status, [&](void* b, int c, MPI_Datatype t, MPI_Status* st) {
    return next().Recv(b, c, t, source, tag, comm, st);
  });
}

int isend(const void* buf, int count, MPI_Datatype type, int dest, int tag, MPI_Comm comm, MPI_Request* request) {
  return packed_isend(buf, count, type, dest, request, [&](const void* b, int c, MPI_Datatype t) {
    return next().Isend(b, c, t, dest, tag, comm, request);
  });
}

int issend(const void* buf, int count, MPI_Datatype type, int dest, int tag, MPI_Comm comm, MPI_Request* request) {
  return packed_isend(buf, count, type, dest, request, [&](const void* b, int c, MPI_Datatype t) {
    return next().Issend(b, c, t, dest, tag, comm, request);
  });
}

int ibsend(const void* buf, int count, MPI_Datatype type, int dest, int tag, MPI_Comm comm, MPI_Request* request) {
  // As for bsend: the packed bytes never need more of the attached buffer than the typed
  // message it was sized for.
  return packed_isend(buf, count, type, dest, request, [&](const void* b, int c, MPI_Datatype t) {
    return next().Ibsend(b, c, t, dest, tag, comm, request);
  });
}

int irsend(const void* buf, int count, MPI_Datatype type, int dest, int tag, MPI_Comm comm, MPI_Request* request) {
  // Ready mode stays the application's promise: packing happens before the send and posts
  // nothing, so the matching receive is posted (or not) exactly as without Strider.
  return packed_isend(buf, count, type, dest, request, [&](const void* b, int c, MPI_Datatype t) {
    return next().Irsend(b, c, t, dest, tag, comm, request);
  });
}

int irecv(void* buf, int count, MPI_Datatype type, int source, int tag, MPI_Comm comm, MPI_Request* request) {
  return packed_irecv(buf, count, type, source, request, [&](void* b, int c, MPI_Datatype t) {
    return next().Irecv(b, c, t, source, tag, comm, request);
  });
}

int mrecv(void* buf, int count, MPI_Datatype type, MPI_Message* message, MPI_Status* status) {
  const int peer = matched_peer(message);
  return packed_recv(buf, count, type, peer, status, [&](void* b, int c, MPI_Datatype t, MPI_Status* st) {
    return next().Mrecv(b, c, t, message, st);
  });
}

int imrecv(void* buf, int count, MPI_Datatype type, MPI_Message* message, MPI_Request* request) {
  const int peer = matched_peer(message);
  return packed_irecv(buf, count, type, peer, request, [&](void* b, int c, MPI_Datatype t) {
    return next().Imrecv(b, c, t, message, request);
  });
}

std::uint64_t split_sends() { return g_split_sends.load(std::memory_order_relaxed); }

void free_split_types() {
  SplitTypes& t = split_types();
  std::lock_guard lock(t.mutex);
  for (auto& [bytes, type] : t.types) mpi::free_type(&type);
  t.types.clear();
}

int sendrecv(const void* sendbuf, int sendcount, MPI_Datatype sendtype, int dest, int sendtag, void* recvbuf,
             int recvcount, MPI_Datatype recvtype, int source, int recvtag, MPI_Comm comm, MPI_Status* status) {
  if (is_device(sendbuf) || is_device(recvbuf)) {
    // Device buffers: the receive posted first, then the send, then the wait; each side takes
    // its own route (device method, host-pack or native) and falls back on its own.
    MPI_Request receive = MPI_REQUEST_NULL;
    int rc = irecv(recvbuf, recvcount, recvtype, source, recvtag, comm, &receive);
    if (rc != MPI_SUCCESS) return rc;
    rc = send(sendbuf, sendcount, sendtype, dest, sendtag, comm);
    if (rc != MPI_SUCCESS) {
      static_cast<void>(cancel(&receive));
      static_cast<void>(wait(&receive, MPI_STATUS_IGNORE));
      return rc;
    }
    return wait(&receive, status);
  }
  Route sr, rr;
  const bool pack_send = route(sendbuf, sendcount, sendtype, dest, sr);
  const bool pack_recv = route(recvbuf, recvcount, recvtype, source, rr);
  Staging ss = pack_send ? staging_for(sr) : Staging{};
  Staging rs = pack_recv ? staging_for(rr) : Staging{};
  const bool use_send = pack_send && ss;
  const bool use_recv = pack_recv && rs;
  Wire out{sendbuf, sendcount, sendtype};
  if (use_send) {
    backend::cpu::pack(*sr.layout, sendcount, sendbuf, ss.data);
    out = wire(sr, ss);
  }
  StatusSlot slot(status);
  const int rc = next().Sendrecv(out.data, out.count, out.type, dest, sendtag, use_recv ? rs.data : recvbuf,
                                 use_recv ? rr.bytes : recvcount, use_recv ? MPI_PACKED : recvtype, source,
                                 recvtag, comm, slot.get());
  if (use_recv) unpack_if_received(rc, rr, *slot.get(), rs, recvbuf);
  release_staging(ss);
  release_staging(rs);
  core::counters().count_method(use_send || use_recv ? core::Method::host_pack : core::Method::native,
                                static_cast<std::uint64_t>((use_send ? sr.bytes : 0) + (use_recv ? rr.bytes : 0)));
  return rc;
}

namespace {
// MPI_Sendrecv_replace of a device buffer: the send side is packed into its staging before
// the receive lands in the receive side's. A side with a null peer uses the user's buffer
// untouched; anything else that cannot be staged goes to the underlying MPI whole.
int device_sendrecv_replace(void* buf, int count, MPI_Datatype type, int dest, int sendtag, int source, int recvtag,
                            MPI_Comm comm, MPI_Status* status) {
  Route sr, rr;
  const bool pack_send = route(buf, count, type, dest, sr, true) && sr.on_device();
  const bool pack_recv = route(buf, count, type, source, rr, true) && rr.on_device();
  bool ok = (pack_send || dest == MPI_PROC_NULL) && (pack_recv || source == MPI_PROC_NULL) && (pack_send || pack_recv);
  DeviceStaging ss, rs;
  if (ok && pack_send) ok = static_cast<bool>(ss = device_staging_send(sr, buf, count));
  if (ok && pack_recv) ok = static_cast<bool>(rs = device_staging_recv(rr));
  if (!ok) {
    device_release(ss);
    device_release(rs);
    count_native();
    return next().Sendrecv_replace(buf, count, type, dest, sendtag, source, recvtag, comm, status);
  }
  StatusSlot slot(status);
  const int rc = next().Sendrecv(pack_send ? ss.wire() : buf, pack_send ? sr.bytes : count,
                                 pack_send ? MPI_PACKED : type, dest, sendtag, pack_recv ? rs.wire() : buf,
                                 pack_recv ? rr.bytes : count, pack_recv ? MPI_PACKED : type, source, recvtag, comm,
                                 slot.get());
  if (pack_recv) device_unpack_if_received(rc, rr, *slot.get(), rs, buf);
  device_release(ss);
  device_release(rs);
  if (pack_send) core::counters().count_method(sr.method, static_cast<std::uint64_t>(sr.bytes));
  if (pack_recv) core::counters().count_method(rr.method, static_cast<std::uint64_t>(rr.bytes));
  return rc;
}
}  // namespace

int sendrecv_replace(void* buf, int count, MPI_Datatype type, int dest, int sendtag, int source, int recvtag,
                     MPI_Comm comm, MPI_Status* status) {
  if (is_device(buf)) return device_sendrecv_replace(buf, count, type, dest, sendtag, source, recvtag, comm, status);
  Route sr, rr;
  const bool pack_send = route(buf, count, type, dest, sr);
  const bool pack_recv = route(buf, count, type, source, rr);
  if (!pack_send && !pack_recv) {
    count_native();
    return next().Sendrecv_replace(buf, count, type, dest, sendtag, source, recvtag, comm, status);
  }
  // Through two buffers: the send side is read (packed) before the receive lands. A side
  // that is not packed has a null peer, so the user's buffer stands in for it untouched.
  Staging ss = pack_send ? staging_for(sr) : Staging{};
  Staging rs = pack_recv ? staging_for(rr) : Staging{};
  if ((pack_send && !ss) || (pack_recv && !rs)) {
    release_staging(ss);
    release_staging(rs);
    return next().Sendrecv_replace(buf, count, type, dest, sendtag, source, recvtag, comm, status);
  }
  Wire out{buf, count, type};
  if (pack_send) {
    backend::cpu::pack(*sr.layout, count, buf, ss.data);
    out = wire(sr, ss);
  }
  StatusSlot slot(status);
  const int rc = next().Sendrecv(out.data, out.count, out.type, dest, sendtag, pack_recv ? rs.data : buf,
                                 pack_recv ? rr.bytes : count, pack_recv ? MPI_PACKED : type, source, recvtag, comm,
                                 slot.get());
  if (pack_recv) unpack_if_received(rc, rr, *slot.get(), rs, buf);
  release_staging(ss);
  release_staging(rs);
  core::counters().count_method(core::Method::host_pack,
                                static_cast<std::uint64_t>((pack_send ? sr.bytes : 0) + (pack_recv ? rr.bytes : 0)));
  return rc;
}

namespace {
// Persistent sends of every mode (`Init`: the mode's slot in mpi::Next): the request sends
// `r.bytes` MPI_PACKED bytes (or one split type, see split sends) from a staging buffer it
// owns, which each start packs anew from the application's buffer (before_start).
template <auto Init>
int packed_send_init(const void* buf, int count, MPI_Datatype type, int dest, int tag, MPI_Comm comm,
                     MPI_Request* request) {
  Route r;
  Staging s;
  if (!route(buf, count, type, dest, r) || !(s = staging_for(r)))
    return (next().*Init)(buf, count, type, dest, tag, comm, request);
  const Wire w = wire_of(r, s);  // each start packs and readies it (before_start)
  const int rc = (next().*Init)(w.data, w.count, w.type, dest, tag, comm, request);
  if (rc != MPI_SUCCESS) {
    release_staging(s);
    return rc;
  }
  Pending p;
  p.kind = Pending::Kind::send;
  p.split = r.split != MPI_DATATYPE_NULL;
  p.persistent = true;
  p.active = false;
  p.staging = s;
  p.layout = r.layout;
  p.send_buf = buf;
  p.count = count;
  track(*request, std::move(p));
  return rc;
}
}  // namespace

int send_init(const void* buf, int count, MPI_Datatype type, int dest, int tag, MPI_Comm comm, MPI_Request* request) {
  return packed_send_init<&mpi::Next::Send_init>(buf, count, type, dest, tag, comm, request);
}

int bsend_init(const void* buf, int count, MPI_Datatype type, int dest, int tag, MPI_Comm comm, MPI_Request* request) {
  return packed_send_init<&mpi::Next::Bsend_init>(buf, count, type, dest, tag, comm, request);
}

int ssend_init(const void* buf, int count, MPI_Datatype type, int dest, int tag, MPI_Comm comm, MPI_Request* request) {
  return packed_send_init<&mpi::Next::Ssend_init>(buf, count, type, dest, tag, comm, request);
}

int rsend_init(const void* buf, int count, MPI_Datatype type, int dest, int tag, MPI_Comm comm, MPI_Request* request) {
  return packed_send_init<&mpi::Next::Rsend_init>(buf, count, type, dest, tag, comm, request);
}

int recv_init(void* buf, int count, MPI_Datatype type, int source, int tag, MPI_Comm comm, MPI_Request* request) {
  Route r;
  Staging s;
  if (!route(buf, count, type, source, r) || !(s = staging_for(r)))
    return next().Recv_init(buf, count, type, source, tag, comm, request);
  const int rc = next().Recv_init(s.data, r.bytes, MPI_PACKED, source, tag, comm, request);
  if (rc != MPI_SUCCESS) {
    release_staging(s);
    return rc;
  }
  Pending p = pending_recv(r, s, buf, count);
  p.persistent = true;
  p.active = false;
  p.count = count;
  track(*request, std::move(p));
  return rc;
}

namespace {
// Work a persistent request needs at each start: a send packs the current data.
void before_start(MPI_Request request) {
  Pending* p = find_pending(request);
  if (p == nullptr) return;
  if (p->kind == Pending::Kind::send) {
    const std::int64_t bytes = p->count * p->layout->size;
    backend::cpu::pack(*p->layout, p->count, p->send_buf, p->staging.data);
    if (p->split) move_split_tail(p->staging.data, bytes);
    core::counters().count_method(core::Method::host_pack, static_cast<std::uint64_t>(bytes));
  }
  p->active = true;
  p->unpacked = false;
}
}  // namespace

int start(MPI_Request* request) {
  progress_detached(false);
  if (request != nullptr) before_start(*request);
  return next().Start(request);
}

int startall(int count, MPI_Request requests[]) {
  progress_detached(false);
  if (requests != nullptr && requests_tracked())
    for (int i = 0; i < count; ++i) before_start(requests[i]);
  return next().Startall(count, requests);
}

int wait(MPI_Request* request, MPI_Status* status) {
  progress_detached(false);
  Snapshot before;
  if (request != nullptr) tracked_snapshot(1, request, before);
  if (before.empty()) return next().Wait(request, status);
  StatusSlot slot(status);
  const int rc = next().Wait(request, slot.get());
  if (rc == MPI_SUCCESS || rc == MPI_ERR_TRUNCATE) before.complete(0, *slot.get());
  return rc;
}

int waitall(int count, MPI_Request requests[], MPI_Status statuses[]) {
  progress_detached(false);
  Snapshot before;
  tracked_snapshot(count, requests, before);
  if (before.empty()) return next().Waitall(count, requests, statuses);
  Statuses st(count, statuses);
  const int rc = next().Waitall(count, requests, st.get());
  before.complete_all(rc, st.get());
  return rc;
}

int waitany(int count, MPI_Request requests[], int* index, MPI_Status* status) {
  progress_detached(false);
  Snapshot before;
  tracked_snapshot(count, requests, before);
  if (before.empty()) return next().Waitany(count, requests, index, status);
  StatusSlot slot(status);
  const int rc = next().Waitany(count, requests, index, slot.get());
  if ((rc == MPI_SUCCESS || rc == MPI_ERR_TRUNCATE) && *index != MPI_UNDEFINED)
    before.complete(static_cast<std::size_t>(*index), *slot.get());
  return rc;
}

int waitsome(int incount, MPI_Request requests[], int* outcount, int indices[], MPI_Status statuses[]) {
  progress_detached(false);
  Snapshot before;
  tracked_snapshot(incount, requests, before);
  if (before.empty()) return next().Waitsome(incount, requests, outcount, indices, statuses);
  Statuses st(incount, statuses);
  const int rc = next().Waitsome(incount, requests, outcount, indices, st.get());
  if ((rc == MPI_SUCCESS || rc == MPI_ERR_IN_STATUS) && *outcount != MPI_UNDEFINED)
    for (int j = 0; j < *outcount; ++j)
      if (completed_ok(rc, st.get()[j])) before.complete(static_cast<std::size_t>(indices[j]), st.get()[j]);
  return rc;
}

int test(MPI_Request* request, int* flag, MPI_Status* status) {
  progress_detached(false);
  Snapshot before;
  if (request != nullptr) tracked_snapshot(1, request, before);
  if (before.empty()) return next().Test(request, flag, status);
  StatusSlot slot(status);
  const int rc = next().Test(request, flag, slot.get());
  if ((rc == MPI_SUCCESS || rc == MPI_ERR_TRUNCATE) && *flag != 0) before.complete(0, *slot.get());
  return rc;
}

int testall(int count, MPI_Request requests[], int* flag, MPI_Status statuses[]) {
  progress_detached(false);
  Snapshot before;
  tracked_snapshot(count, requests, before);
  if (before.empty()) return next().Testall(count, requests, flag, statuses);
  Statuses st(count, statuses);
  const int rc = next().Testall(count, requests, flag, st.get());
  if (*flag != 0) before.complete_all(rc, st.get());
  return rc;
}

int testany(int count, MPI_Request requests[], int* index, int* flag, MPI_Status* status) {
  progress_detached(false);
  Snapshot before;
  tracked_snapshot(count, requests, before);
  if (before.empty()) return next().Testany(count, requests, index, flag, status);
  StatusSlot slot(status);
  const int rc = next().Testany(count, requests, index, flag, slot.get());
  if ((rc == MPI_SUCCESS || rc == MPI_ERR_TRUNCATE) && *flag != 0 && *index != MPI_UNDEFINED)
    before.complete(static_cast<std::size_t>(*index), *slot.get());
  return rc;
}

int testsome(int incount, MPI_Request requests[], int* outcount, int indices[], MPI_Status statuses[]) {
  progress_detached(false);
  Snapshot before;
  tracked_snapshot(incount, requests, before);
  if (before.empty()) return next().Testsome(incount, requests, outcount, indices, statuses);
  Statuses st(incount, statuses);
  const int rc = next().Testsome(incount, requests, outcount, indices, st.get());
  if ((rc == MPI_SUCCESS || rc == MPI_ERR_IN_STATUS) && *outcount != MPI_UNDEFINED)
    for (int j = 0; j < *outcount; ++j)
      if (completed_ok(rc, st.get()[j])) before.complete(static_cast<std::size_t>(indices[j]), st.get()[j]);
  return rc;
}

int request_free(MPI_Request* request) {
  progress_detached(false);
  Pending* p = request != nullptr ? find_pending(*request) : nullptr;
  if (p == nullptr) return next().Request_free(request);
  if (p->persistent && !p->active) {
    // Inactive persistent request: nothing owed; forget it and free it for real.
    forget(*request, p->id);
    return next().Request_free(request);
  }
  // Still active: the application lets go, Strider keeps the handle and finishes the work.
  detach(*request, p->id);
  *request = MPI_REQUEST_NULL;
  return MPI_SUCCESS;
}

int cancel(MPI_Request* request) {
  progress_detached(false);
  // A cancelled receive is recognised at completion (MPI_Test_cancelled) and not unpacked.
  return next().Cancel(request);
}

int request_get_status(MPI_Request request, int* flag, MPI_Status* status) {
  progress_detached(false);
  Pending* p = find_pending(request);
  if (p == nullptr) return next().Request_get_status(request, flag, status);
  StatusSlot slot(status);
  const int rc = next().Request_get_status(request, flag, slot.get());
  // Complete but not freed: the data is delivered now, so the buffer is valid as soon as MPI
  // says the operation is done; the later Wait/Test only releases.
  if (rc == MPI_SUCCESS && *flag != 0 && p->kind == Pending::Kind::collective && !p->unpacked) {
    deliver_blocks(*p);
    p->unpacked = true;
  }
  if (rc == MPI_SUCCESS && *flag != 0 && p->kind == Pending::Kind::recv && p->active && !p->unpacked) {
    int bytes = 0;
    if (!mpi::test_cancelled(*slot.get()) && next().Get_count(slot.get(), MPI_BYTE, &bytes) == MPI_SUCCESS && bytes > 0)
      deliver_received(*p, posted_bytes(*p, bytes));
    p->unpacked = true;
  }
  return rc;
}

}  // namespace strider::exec
