#pragma once
// The next MPI implementation below Strider (a PMPI tool stacked underneath, or the MPI
// library itself), as a typed table of function pointers. Every call Strider forwards or makes
// for itself to a function that Strider also intercepts goes through this table, never through
// the MPI_* symbol (which would re-enter Strider).
#include <mpi.h>

#include <atomic>

namespace strider::mpi {

struct Next {
  // Intercepted by Strider (the order of core::Call).
  decltype(&::PMPI_Init) Init;
  decltype(&::PMPI_Init_thread) Init_thread;
  decltype(&::PMPI_Finalize) Finalize;
  decltype(&::PMPI_Type_commit) Type_commit;
  decltype(&::PMPI_Type_free) Type_free;
  decltype(&::PMPI_Type_dup) Type_dup;
  decltype(&::PMPI_Pack) Pack;
  decltype(&::PMPI_Unpack) Unpack;
  decltype(&::PMPI_Pack_size) Pack_size;
  decltype(&::PMPI_Send) Send;
  decltype(&::PMPI_Ssend) Ssend;
  decltype(&::PMPI_Bsend) Bsend;
  decltype(&::PMPI_Rsend) Rsend;
  decltype(&::PMPI_Recv) Recv;
  decltype(&::PMPI_Isend) Isend;
  decltype(&::PMPI_Issend) Issend;
  decltype(&::PMPI_Ibsend) Ibsend;
  decltype(&::PMPI_Irsend) Irsend;
  decltype(&::PMPI_Irecv) Irecv;
  decltype(&::PMPI_Mrecv) Mrecv;
  decltype(&::PMPI_Imrecv) Imrecv;
  decltype(&::PMPI_Sendrecv) Sendrecv;
  decltype(&::PMPI_Sendrecv_replace) Sendrecv_replace;
  decltype(&::PMPI_Send_init) Send_init;
  decltype(&::PMPI_Bsend_init) Bsend_init;
  decltype(&::PMPI_Ssend_init) Ssend_init;
  decltype(&::PMPI_Rsend_init) Rsend_init;
  decltype(&::PMPI_Recv_init) Recv_init;
  decltype(&::PMPI_Start) Start;
  decltype(&::PMPI_Startall) Startall;
  decltype(&::PMPI_Wait) Wait;
  decltype(&::PMPI_Waitall) Waitall;
  decltype(&::PMPI_Waitany) Waitany;
  decltype(&::PMPI_Waitsome) Waitsome;
  decltype(&::PMPI_Test) Test;
  decltype(&::PMPI_Testall) Testall;
  decltype(&::PMPI_Testany) Testany;
  decltype(&::PMPI_Testsome) Testsome;
  decltype(&::PMPI_Request_free) Request_free;
  decltype(&::PMPI_Cancel) Cancel;
  decltype(&::PMPI_Request_get_status) Request_get_status;
  decltype(&::PMPI_Neighbor_alltoallw) Neighbor_alltoallw;
  decltype(&::PMPI_Alltoallw) Alltoallw;
  decltype(&::PMPI_Ineighbor_alltoallw) Ineighbor_alltoallw;
  decltype(&::PMPI_Ialltoallw) Ialltoallw;
  decltype(&::PMPI_Alltoallv) Alltoallv;
  decltype(&::PMPI_Ialltoallv) Ialltoallv;
  decltype(&::PMPI_Neighbor_alltoallv) Neighbor_alltoallv;
  decltype(&::PMPI_Ineighbor_alltoallv) Ineighbor_alltoallv;
  decltype(&::PMPI_Gatherv) Gatherv;
  decltype(&::PMPI_Igatherv) Igatherv;
  decltype(&::PMPI_Scatterv) Scatterv;
  decltype(&::PMPI_Iscatterv) Iscatterv;

  // Not intercepted (yet), but called by Strider itself; a tool below Strider sees them.
  decltype(&::PMPI_Initialized) Initialized;
  decltype(&::PMPI_Finalized) Finalized;
  decltype(&::PMPI_Query_thread) Query_thread;
  decltype(&::PMPI_Comm_rank) Comm_rank;
  decltype(&::PMPI_Comm_size) Comm_size;
  decltype(&::PMPI_Get_count) Get_count;
  decltype(&::PMPI_Get_elements_x) Get_elements_x;
  decltype(&::PMPI_Status_set_elements_x) Status_set_elements_x;
  decltype(&::PMPI_Status_set_cancelled) Status_set_cancelled;
  decltype(&::PMPI_Probe) Probe;
  decltype(&::PMPI_Iprobe) Iprobe;
  decltype(&::PMPI_Mprobe) Mprobe;
  decltype(&::PMPI_Improbe) Improbe;
  decltype(&::PMPI_Abort) Abort;
};

namespace detail {
extern Next g_table;
extern std::atomic<bool> g_resolved;
const Next& resolve_once();
}  // namespace detail

// The table, resolved on first use (thread-safe). Each entry is MPI_X from the objects loaded
// after the caller (RTLD_NEXT), or PMPI_X when MPI_X is missing or is Strider's own; a symbol
// found nowhere is a broken installation: a message naming it and dlerror(), then abort().
// Inline: every forwarded call goes through it, so once resolved it costs one load.
inline const Next& next() {
  if (detail::g_resolved.load(std::memory_order_acquire)) [[likely]]
    return detail::g_table;
  return detail::resolve_once();
}

}  // namespace strider::mpi
