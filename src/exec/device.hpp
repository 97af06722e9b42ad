#pragma once
// Device-memory paths of exec: MPI_Pack/MPI_Unpack with device buffers, and the staging of
// the point-to-point device methods (decision 6):
//   device    pack into device staging, the CUDA-aware MPI sends it; receive into device
//             staging and unpack from it;
//   one-shot  pack straight into mapped pinned host memory, host send; receive into it and
//             unpack from it;
//   staged    pack into device staging, copy to pinned host, host send; receive into pinned
//             host, copy to device staging, unpack.
// Every step is checked; a failure is counted (core::counters) and reported as false so the
// caller falls back to the underlying MPI. Nothing here calls MPI.
#include <cstdint>

#include "core/counters.hpp"
#include "memory/pool.hpp"
#include "types/layout.hpp"

namespace strider::exec {

// The staging of one device point-to-point operation.
struct DeviceStaging {
  core::Method method = core::Method::native;  // native: none (a host operation)
  int device = -1;                              // the device of the user buffer
  memory::StagingBuffer device_buffer;          // device, staged
  memory::StagingBuffer host_buffer;            // one-shot, staged (mapped, pinned)
  explicit operator bool() const { return method != core::Method::native; }
  // The address handed to the underlying MPI.
  void* wire() const;
};

// MPI_Pack of `count` elements of `layout` from `in` to the packed bytes at `out`, either of
// them device memory. True when done; false (counted) when the caller must fall back.
bool device_pack(const types::Layout& layout, std::int64_t count, const void* in, void* out);
// MPI_Unpack of count * layout.size packed bytes at `in` into `count` elements at `out`.
bool device_unpack(const types::Layout& layout, std::int64_t count, const void* in, void* out);

// A send of `count` elements at `buf` (on `device`) with `method`: acquires the method's
// staging, packs into it and waits, so the wire bytes are ready. False: nothing is held and
// the failure is counted.
bool device_send_prepare(const types::Layout& layout, std::int64_t count, const void* buf, int device,
                         core::Method method, DeviceStaging& out);
// A receive of `bytes` packed bytes for a buffer on `device` with `method`: acquires the
// staging the underlying MPI receives into. False: nothing is held, counted.
bool device_recv_prepare(const types::Layout& layout, std::int64_t bytes, int device, core::Method method,
                         DeviceStaging& out);
// After the receive: unpacks the `bytes` received packed bytes (possibly ending inside an
// element: the whole elements by kernel, the rest block by block) into `buf`, and waits.
// A failure here cannot fall back (the message is consumed): it is counted and logged.
void device_recv_finish(const types::Layout& layout, std::int64_t bytes, const DeviceStaging& staging, void* buf);
// Returns the staging to the pools; resets `staging`.
void device_release(DeviceStaging& staging);

}  // namespace strider::exec
