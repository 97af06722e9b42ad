#include "exec/device.hpp"

#include <string>

#include "backend/cpu/pack_cpu.hpp"
#include "backend/cpu/reference_pack.hpp"
#include "backend/cuda/device_ops.hpp"
#include "backend/cuda/pack_cuda.hpp"
#include "backend/cuda/pack_plan.hpp"
#include "core/log.hpp"
#include "exec/staging.hpp"
#include "memory/classify.hpp"

namespace strider::exec {
namespace {

namespace cuda = backend::cuda;

// Counts a failed device step and says why (debug log): the caller falls back.
bool failed(const core::Status& status, const char* step) {
  core::counters().count_fallback(status.code() == core::Code::unsupported ? core::Fallback::device_buffer
                                                                           : core::Fallback::resource);
  core::log(core::LogLevel::debug, std::string("device path: ") + step + ": " + status.what());
  return false;
}

// A pool buffer returned when it goes out of scope.
struct Pooled {
  memory::StagingBuffer buffer;
  Pooled() = default;
  Pooled(const Pooled&) = delete;
  Pooled& operator=(const Pooled&) = delete;
  ~Pooled() { memory::release(buffer); }
  core::Status acquire(memory::PoolKind kind, int device, std::size_t bytes) {
    return memory::acquire(kind, device, bytes, &buffer);
  }
};

// A host staging buffer returned when it goes out of scope.
struct HostStaging {
  Staging staging;
  explicit HostStaging(std::size_t bytes) : staging(acquire_staging(bytes)) {}
  HostStaging(const HostStaging&) = delete;
  HostStaging& operator=(const HostStaging&) = delete;
  ~HostStaging() { release_staging(staging); }
};

// The device, its stream and the kernels' workspace for the work of one operation; the
// device stays current while it lives. Everything enqueued must be waited for (sync())
// before it goes, since the workspace returns to its pool then.
class DeviceWork {
 public:
  explicit DeviceWork(int device) : device_(device), current_(device) {}
  core::Status start() {
    if (!current_.status()) return current_.status();
    return cuda::stream_for(device_, &stream_);
  }
  core::Status kernel(bool unpack, const types::Layout& layout, std::int64_t count, const void* in, void* out) {
    const std::int64_t need = cuda::workspace_bytes(layout, count);
    void* workspace = nullptr;
    if (need > 0) {
      if (!workspace_.buffer || workspace_.buffer.bytes < static_cast<std::size_t>(need)) {
        if (workspace_.buffer) {
          // A smaller one from an earlier kernel of this operation: wait before reusing.
          if (core::Status s = cuda::synchronize(stream_); !s) return s;
          memory::release(workspace_.buffer);
        }
        if (core::Status s = workspace_.acquire(memory::PoolKind::device, device_, static_cast<std::size_t>(need)); !s)
          return s;
      }
      workspace = workspace_.buffer.device_ptr;
    }
    return unpack ? cuda::unpack(layout, count, in, out, workspace, stream_)
                  : cuda::pack(layout, count, in, out, workspace, stream_);
  }
  core::Status copy(void* dst, const void* src, std::size_t bytes) { return cuda::copy_async(dst, src, bytes, stream_); }
  core::Status sync() { return cuda::synchronize(stream_); }
  int device() const { return device_; }

 private:
  int device_;
  cuda::CurrentDevice current_;
  void* stream_ = nullptr;
  Pooled workspace_;
};

std::size_t packed_bytes(const types::Layout& layout, std::int64_t count) {
  return static_cast<std::size_t>(layout.size * count);
}

// Unpacks `bytes` packed bytes at `packed` (device-readable) into `buf` on the work's stream:
// whole elements by kernel, a last partial element block by block.
core::Status enqueue_unpack_received(DeviceWork& work, const types::Layout& layout, std::int64_t bytes,
                                     const void* packed, void* buf) {
  if (layout.size <= 0 || bytes <= 0) return core::Status::ok();
  const std::int64_t whole = bytes / layout.size;
  const std::int64_t rest = bytes - whole * layout.size;
  if (whole > 0)
    if (core::Status s = work.kernel(true, layout, whole, packed, buf); !s) return s;
  if (rest > 0) {
    auto* dst = static_cast<char*>(buf);
    const char* src = static_cast<const char*>(packed) + whole * layout.size;
    core::Status status;
    backend::cpu::reference_partial_blocks(
        layout, whole, rest, [&](std::int64_t user_offset, std::int64_t packed_offset, std::int64_t n) {
          if (!status) return;
          status = work.copy(dst + user_offset, src + packed_offset, static_cast<std::size_t>(n));
        });
    if (!status) return status;
  }
  return core::Status::ok();
}

}  // namespace

void* DeviceStaging::wire() const {
  return method == core::Method::device ? device_buffer.ptr : host_buffer.ptr;
}

bool device_pack(const types::Layout& layout, std::int64_t count, const void* in, void* out) {
  const std::size_t bytes = packed_bytes(layout, count);
  if (bytes == 0) return true;
  const memory::PointerInfo from = memory::query(in);
  const memory::PointerInfo to = memory::query(out);
  if (from.kind == memory::Kind::device) {
    DeviceWork work(from.device);
    if (core::Status s = work.start(); !s) return failed(s, "start");
    if (to.kind == memory::Kind::device && to.device == from.device) {
      if (core::Status s = work.kernel(false, layout, count, in, out); !s) return failed(s, "pack");
    } else {
      Pooled staging;
      if (core::Status s = staging.acquire(memory::PoolKind::device, from.device, bytes); !s)
        return failed(s, "device staging");
      core::Status s = work.kernel(false, layout, count, in, staging.buffer.device_ptr);
      if (s) s = work.copy(out, staging.buffer.device_ptr, bytes);
      if (s) s = work.sync();
      if (!s) return failed(s, "pack to staging");
      return true;
    }
    if (core::Status s = work.sync(); !s) return failed(s, "synchronize");
    return true;
  }
  // Host-accessible elements, device output: pack on the CPU, copy the bytes over.
  HostStaging host(bytes);
  if (!host.staging) return failed({core::Code::resource, "host staging allocation"}, "host staging");
  backend::cpu::pack(layout, count, in, host.staging.data);
  DeviceWork work(to.device);
  core::Status s = work.start();
  if (s) s = work.copy(out, host.staging.data, bytes);
  if (s) s = work.sync();
  if (!s) return failed(s, "copy to device");
  return true;
}

bool device_unpack(const types::Layout& layout, std::int64_t count, const void* in, void* out) {
  const std::size_t bytes = packed_bytes(layout, count);
  if (bytes == 0) return true;
  const memory::PointerInfo from = memory::query(in);
  const memory::PointerInfo to = memory::query(out);
  if (to.kind == memory::Kind::device) {
    // The kernels write chunks in parallel: a self-overlapping layout would not end as
    // MPI_Unpack leaves it.
    if (layout.overlaps()) return failed({core::Code::unsupported, "overlapping layout"}, "unpack");
    DeviceWork work(to.device);
    if (core::Status s = work.start(); !s) return failed(s, "start");
    if (from.kind == memory::Kind::device && from.device == to.device) {
      core::Status s = work.kernel(true, layout, count, in, out);
      if (s) s = work.sync();
      if (!s) return failed(s, "unpack");
      return true;
    }
    Pooled staging;
    if (core::Status s = staging.acquire(memory::PoolKind::device, to.device, bytes); !s)
      return failed(s, "device staging");
    core::Status s = work.copy(staging.buffer.device_ptr, in, bytes);
    if (s) s = work.kernel(true, layout, count, staging.buffer.device_ptr, out);
    if (s) s = work.sync();
    if (!s) return failed(s, "unpack from staging");
    return true;
  }
  // Device bytes, host-accessible elements: copy the bytes over, unpack on the CPU.
  HostStaging host(bytes);
  if (!host.staging) return failed({core::Code::resource, "host staging allocation"}, "host staging");
  DeviceWork work(from.device);
  core::Status s = work.start();
  if (s) s = work.copy(host.staging.data, in, bytes);
  if (s) s = work.sync();
  if (!s) return failed(s, "copy from device");
  backend::cpu::unpack(layout, count, host.staging.data, out);
  return true;
}

bool device_send_prepare(const types::Layout& layout, std::int64_t count, const void* buf, int device,
                         core::Method method, DeviceStaging& out) {
  const std::size_t bytes = packed_bytes(layout, count);
  DeviceStaging st;
  st.method = method;
  st.device = device;
  DeviceWork work(device);
  core::Status s = work.start();
  if (s && method != core::Method::one_shot)
    s = memory::acquire(memory::PoolKind::device, device, bytes, &st.device_buffer);
  if (s && method != core::Method::device) s = memory::acquire(memory::PoolKind::mapped, device, bytes, &st.host_buffer);
  if (s) {
    switch (method) {
      case core::Method::one_shot: s = work.kernel(false, layout, count, buf, st.host_buffer.device_ptr); break;
      case core::Method::staged:
        s = work.kernel(false, layout, count, buf, st.device_buffer.device_ptr);
        if (s) s = work.copy(st.host_buffer.ptr, st.device_buffer.device_ptr, bytes);
        break;
      case core::Method::device: s = work.kernel(false, layout, count, buf, st.device_buffer.device_ptr); break;
      default: s = {core::Code::internal, "not a device method"}; break;
    }
  }
  if (s) s = work.sync();
  if (!s) {
    device_release(st);
    return failed(s, "send");
  }
  out = st;
  return true;
}

bool device_recv_prepare(const types::Layout& layout, std::int64_t bytes, int device, core::Method method,
                         DeviceStaging& out) {
  if (layout.overlaps()) return failed({core::Code::unsupported, "overlapping receive layout"}, "receive");
  if (method != core::Method::device && method != core::Method::one_shot && method != core::Method::staged)
    return failed({core::Code::internal, "not a device method"}, "receive");
  DeviceStaging st;
  st.method = method;
  st.device = device;
  const auto n = static_cast<std::size_t>(bytes);
  core::Status s;
  if (method != core::Method::one_shot) s = memory::acquire(memory::PoolKind::device, device, n, &st.device_buffer);
  if (s && method != core::Method::device) s = memory::acquire(memory::PoolKind::mapped, device, n, &st.host_buffer);
  if (!s) {
    device_release(st);
    return failed(s, "receive staging");
  }
  out = st;
  return true;
}

void device_recv_finish(const types::Layout& layout, std::int64_t bytes, const DeviceStaging& staging, void* buf) {
  if (bytes <= 0 || !staging) return;
  DeviceWork work(staging.device);
  core::Status s = work.start();
  const void* packed = nullptr;
  switch (staging.method) {
    case core::Method::one_shot: packed = staging.host_buffer.device_ptr; break;
    case core::Method::staged:
      packed = staging.device_buffer.device_ptr;
      if (s) s = work.copy(staging.device_buffer.device_ptr, staging.host_buffer.ptr, static_cast<std::size_t>(bytes));
      break;
    default: packed = staging.device_buffer.device_ptr; break;
  }
  if (s) s = enqueue_unpack_received(work, layout, bytes, packed, buf);
  if (s) s = work.sync();
  if (!s) {
    // The message is consumed: there is nothing to fall back to.
    core::counters().count_fallback(core::Fallback::internal);
    core::log(core::LogLevel::error, "device receive: unpacking into the device buffer failed: " + s.what());
  }
}

void device_release(DeviceStaging& staging) {
  memory::release(staging.device_buffer);
  memory::release(staging.host_buffer);
  staging = DeviceStaging{};
}

}  // namespace strider::exec
