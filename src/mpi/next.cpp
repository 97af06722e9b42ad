#include "mpi/next.hpp"

#include <dlfcn.h>

#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <type_traits>

namespace strider::mpi {
namespace {

// Calls f(slot, "X") for every member of Next; the single list of what gets resolved.
template <class F>
constexpr void for_each_slot(Next& n, F&& f) {
  f(n.Init, "Init");
  f(n.Init_thread, "Init_thread");
  f(n.Finalize, "Finalize");
  f(n.Type_commit, "Type_commit");
  f(n.Type_free, "Type_free");
  f(n.Type_dup, "Type_dup");
  f(n.Pack, "Pack");
  f(n.Unpack, "Unpack");
  f(n.Pack_size, "Pack_size");
  f(n.Send, "Send");
  f(n.Ssend, "Ssend");
  f(n.Bsend, "Bsend");
  f(n.Rsend, "Rsend");
  f(n.Recv, "Recv");
  f(n.Isend, "Isend");
  f(n.Issend, "Issend");
  f(n.Ibsend, "Ibsend");
  f(n.Irsend, "Irsend");
  f(n.Irecv, "Irecv");
  f(n.Mrecv, "Mrecv");
  f(n.Imrecv, "Imrecv");
  f(n.Sendrecv, "Sendrecv");
  f(n.Sendrecv_replace, "Sendrecv_replace");
  f(n.Send_init, "Send_init");
  f(n.Bsend_init, "Bsend_init");
  f(n.Ssend_init, "Ssend_init");
  f(n.Rsend_init, "Rsend_init");
  f(n.Recv_init, "Recv_init");
  f(n.Start, "Start");
  f(n.Startall, "Startall");
  f(n.Wait, "Wait");
  f(n.Waitall, "Waitall");
  f(n.Waitany, "Waitany");
  f(n.Waitsome, "Waitsome");
  f(n.Test, "Test");
  f(n.Testall, "Testall");
  f(n.Testany, "Testany");
  f(n.Testsome, "Testsome");
  f(n.Request_free, "Request_free");
  f(n.Cancel, "Cancel");
  f(n.Request_get_status, "Request_get_status");
  f(n.Neighbor_alltoallw, "Neighbor_alltoallw");
  f(n.Alltoallw, "Alltoallw");
  f(n.Ineighbor_alltoallw, "Ineighbor_alltoallw");
  f(n.Ialltoallw, "Ialltoallw");
  f(n.Alltoallv, "Alltoallv");
  f(n.Ialltoallv, "Ialltoallv");
  f(n.Neighbor_alltoallv, "Neighbor_alltoallv");
  f(n.Ineighbor_alltoallv, "Ineighbor_alltoallv");
  f(n.Gatherv, "Gatherv");
  f(n.Igatherv, "Igatherv");
  f(n.Scatterv, "Scatterv");
  f(n.Iscatterv, "Iscatterv");
  f(n.Initialized, "Initialized");
  f(n.Finalized, "Finalized");
  f(n.Query_thread, "Query_thread");
  f(n.Comm_rank, "Comm_rank");
  f(n.Comm_size, "Comm_size");
  f(n.Get_count, "Get_count");
  f(n.Get_elements_x, "Get_elements_x");
  f(n.Status_set_elements_x, "Status_set_elements_x");
  f(n.Status_set_cancelled, "Status_set_cancelled");
  f(n.Probe, "Probe");
  f(n.Iprobe, "Iprobe");
  f(n.Mprobe, "Mprobe");
  f(n.Improbe, "Improbe");
  f(n.Abort, "Abort");
}

constexpr std::size_t visited_slots() {
  Next n{};
  std::size_t count = 0;
  for_each_slot(n, [&count](auto&, const char*) { ++count; });
  return count;
}
// A member added to Next but not to for_each_slot would stay null and crash on first use.
static_assert(visited_slots() * sizeof(void (*)()) == sizeof(Next),
              "every member of mpi::Next must be listed in for_each_slot");

// Any object of this library: dladdr on it names the object file Strider was linked into
// (libstrider.so, or the executable when the modules are linked statically).
const char kSelfMarker = 0;

const void* object_base(const void* address) {
  Dl_info info{};
  if (dladdr(address, &info) == 0) return nullptr;
  return info.dli_fbase;
}

[[noreturn]] void fail(const std::string& name, const char* error) {
  std::string message = "strider: fatal: cannot find MPI_" + name + " or PMPI_" + name +
                        " in any MPI library loaded after Strider (dlerror: " +
                        (error != nullptr ? error : "none") +
                        "). libstrider.so must be loaded into a program that uses MPI: check "
                        "LD_PRELOAD and that the MPI library is the one Strider was built with.\n";
  std::fwrite(message.data(), 1, message.size(), stderr);
  std::abort();
}

void* lookup(const std::string& name, const void* self_base) {
  dlerror();
  const std::string mpi_name = "MPI_" + name;
  // MPI_X first, so that a PMPI tool loaded below Strider still sees the call.
  void* symbol = dlsym(RTLD_NEXT, mpi_name.c_str());
  if (symbol != nullptr && object_base(symbol) != self_base) return symbol;
  const std::string pmpi_name = "PMPI_" + name;
  symbol = dlsym(RTLD_NEXT, pmpi_name.c_str());
  if (symbol != nullptr && object_base(symbol) != self_base) return symbol;
  symbol = dlsym(RTLD_DEFAULT, pmpi_name.c_str());
  if (symbol != nullptr && object_base(symbol) != self_base) return symbol;
  fail(name, dlerror());
}

Next resolve() {
  Next table{};
  const void* self_base = object_base(&kSelfMarker);
  for_each_slot(table, [self_base](auto& slot, const char* name) {
    // POSIX guarantees that a dlsym result converts to the function pointer type.
    slot = reinterpret_cast<std::remove_reference_t<decltype(slot)>>(lookup(name, self_base));
  });
  return table;
}

}  // namespace

namespace detail {
Next g_table{};
std::atomic<bool> g_resolved{false};

const Next& resolve_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    g_table = resolve();
    g_resolved.store(true, std::memory_order_release);
  });
  return g_table;
}
}  // namespace detail

}  // namespace strider::mpi
