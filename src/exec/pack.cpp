#include "exec/pack.hpp"

#include <cstdint>
#include <memory>

#include "backend/cpu/pack_cpu.hpp"
#include "core/config.hpp"
#include "core/counters.hpp"
#include "exec/device.hpp"
#include "exec/layout_lookup.hpp"
#include "memory/classify.hpp"
#include "mpi/calls.hpp"
#include "plan/method.hpp"

namespace strider::exec {
namespace {

// Strider runs a pack itself only when every argument is one the underlying MPI accepts and
// the result is fully determined; anything else (errors, zero counts, negative positions,
// MPI_BOTTOM, sizes beyond int) is forwarded, so error classes, error handlers and the
// oddities of Open MPI 4.1.4 (a negative position is accepted, insize <= 0 unpacks nothing,
// a zero count still checks position <= outsize) stay exactly the underlying MPI's.
struct Accepted {
  // layout_of()'s: valid until the next lookup on this thread, so for the whole call.
  const types::Layout* layout = nullptr;
  std::int64_t bytes = 0;
  bool device = false;  // either buffer is device memory: packed on the GPU (exec/device)
};

// Device memory on either side decides; else the first buffer that is not plain host memory.
memory::Kind kind_of(const void* a, const void* b) {
  if (memory::known_host(a) && memory::known_host(b)) return memory::Kind::host;  // the usual case
  const memory::Kind ka = memory::classify(a);
  if (ka == memory::Kind::device) return ka;
  const memory::Kind kb = memory::classify(b);
  if (kb == memory::Kind::device) return kb;
  return ka != memory::Kind::host ? ka : kb;
}

// Checks the arguments common to pack and unpack; false: forward. `room` is outsize/insize.
bool accept(const void* strided, const void* packed, int count, MPI_Datatype type, int room,
            const int* position, MPI_Comm comm, Accepted& out) {
  if (comm == MPI_COMM_NULL || strided == nullptr || packed == nullptr || position == nullptr)
    return false;
  if (count <= 0 || room <= 0 || *position < 0 || type == MPI_DATATYPE_NULL) return false;
  out.layout = layout_of(type).get();
  plan::Request request;
  request.layout = out.layout;
  request.count = count;
  request.memory = kind_of(strided, packed);
  request.forced = core::config().method;
  const plan::Method method = plan::choose_pack(request);
  out.device = method == plan::Method::device;
  if (method != plan::Method::host_pack && !out.device) {
    if (out.layout == nullptr) {
      core::counters().count_fallback(core::Fallback::unsupported_type);
    } else if (request.memory != memory::Kind::host) {
      core::counters().count_fallback(core::Fallback::device_buffer);
    } else {
      core::counters().count_fallback(core::Fallback::disabled);
    }
    return false;
  }
  const std::int64_t size = out.layout->size;
  if (size <= 0) return false;
  // count * size overflowing int64 cannot fit any int room either.
  std::int64_t bytes = 0;
  if (__builtin_mul_overflow(static_cast<std::int64_t>(count), size, &bytes)) return false;
  if (bytes > static_cast<std::int64_t>(room) - *position) return false;  // MPI_ERR_TRUNCATE
  out.bytes = bytes;
  return true;
}

}  // namespace

int pack(const void* inbuf, int incount, MPI_Datatype type, void* outbuf, int outsize,
         int* position, MPI_Comm comm) {
  Accepted a;
  if (!accept(inbuf, outbuf, incount, type, outsize, position, comm, a)) {
    return mpi::pack(inbuf, incount, type, outbuf, outsize, position, comm);
  }
  if (a.device) {
    // A failed device pack is counted there and handed to the underlying MPI.
    if (!device_pack(*a.layout, incount, inbuf, static_cast<char*>(outbuf) + *position))
      return mpi::pack(inbuf, incount, type, outbuf, outsize, position, comm);
    *position += static_cast<int>(a.bytes);
    core::counters().count_method(core::Method::device, static_cast<std::uint64_t>(a.bytes));
    return MPI_SUCCESS;
  }
  backend::cpu::pack(*a.layout, incount, inbuf, static_cast<char*>(outbuf) + *position);
  *position += static_cast<int>(a.bytes);
  core::counters().count_method(core::Method::host_pack, static_cast<std::uint64_t>(a.bytes));
  return MPI_SUCCESS;
}

int unpack(const void* inbuf, int insize, int* position, void* outbuf, int outcount,
           MPI_Datatype type, MPI_Comm comm) {
  Accepted a;
  if (!accept(outbuf, inbuf, outcount, type, insize, position, comm, a)) {
    return mpi::unpack(inbuf, insize, position, outbuf, outcount, type, comm);
  }
  if (a.device) {
    if (!device_unpack(*a.layout, outcount, static_cast<const char*>(inbuf) + *position, outbuf))
      return mpi::unpack(inbuf, insize, position, outbuf, outcount, type, comm);
    *position += static_cast<int>(a.bytes);
    core::counters().count_method(core::Method::device, static_cast<std::uint64_t>(a.bytes));
    return MPI_SUCCESS;
  }
  backend::cpu::unpack(*a.layout, outcount, static_cast<const char*>(inbuf) + *position, outbuf);
  *position += static_cast<int>(a.bytes);
  core::counters().count_method(core::Method::host_pack, static_cast<std::uint64_t>(a.bytes));
  return MPI_SUCCESS;
}

// The underlying MPI's answer is authoritative and cheap (Open MPI 4.1.4 even answers
// incount * size for a negative incount, and crashes on an uncommitted type).
int pack_size(int incount, MPI_Datatype type, MPI_Comm comm, int* size) {
  return mpi::pack_size(incount, type, comm, size);
}

}  // namespace strider::exec
