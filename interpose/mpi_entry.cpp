// The exported MPI_* entry points of libstrider.so: one guarded dispatch each (dispatch.hpp).
// Only these, the strider_* queries and (through the version script) nothing else leave the
// library. PMPI_* are deliberately not defined: a tool or application calling PMPI_X means to
// bypass every interposer, Strider included.
#include <mpi.h>

#include "exec/datatype.hpp"
#include "exec/collectives.hpp"
#include "exec/p2p.hpp"
#include "exec/pack.hpp"
#include "exec/runtime.hpp"
#include "dispatch.hpp"

namespace {
using strider::core::Call;
using strider::interpose::guarded;
using strider::interpose::guarded_p2p;
using strider::mpi::Next;
namespace exec = strider::exec;
}  // namespace

extern "C" {

// Init and finalize.

[[gnu::visibility("default")]] int MPI_Init(int* argc, char*** argv) {
  return guarded<&::MPI_Init, &Next::Init, exec::init>(Call::Init, argc, argv);
}

[[gnu::visibility("default")]] int MPI_Init_thread(int* argc, char*** argv, int required,
                                                   int* provided) {
  return guarded<&::MPI_Init_thread, &Next::Init_thread, exec::init_thread>(
      Call::Init_thread, argc, argv, required, provided);
}

[[gnu::visibility("default")]] int MPI_Finalize() {
  return guarded<&::MPI_Finalize, &Next::Finalize, exec::finalize>(Call::Finalize);
}

// Datatypes and packing.

[[gnu::visibility("default")]] int MPI_Type_commit(MPI_Datatype* type) {
  return guarded<&::MPI_Type_commit, &Next::Type_commit, exec::type_commit>(Call::Type_commit,
                                                                             type);
}

[[gnu::visibility("default")]] int MPI_Type_free(MPI_Datatype* type) {
  return guarded<&::MPI_Type_free, &Next::Type_free, exec::type_free>(Call::Type_free, type);
}

[[gnu::visibility("default")]] int MPI_Type_dup(MPI_Datatype type, MPI_Datatype* newtype) {
  return guarded<&::MPI_Type_dup, &Next::Type_dup, exec::type_dup>(Call::Type_dup, type,
                                                                    newtype);
}

[[gnu::visibility("default")]] int MPI_Pack(const void* inbuf, int incount, MPI_Datatype type,
                                            void* outbuf, int outsize, int* position,
                                            MPI_Comm comm) {
  return guarded<&::MPI_Pack, &Next::Pack, exec::pack>(Call::Pack, inbuf, incount, type, outbuf,
                                                       outsize, position, comm);
}

[[gnu::visibility("default")]] int MPI_Unpack(const void* inbuf, int insize, int* position,
                                              void* outbuf, int outcount, MPI_Datatype type,
                                              MPI_Comm comm) {
  return guarded<&::MPI_Unpack, &Next::Unpack, exec::unpack>(Call::Unpack, inbuf, insize,
                                                             position, outbuf, outcount, type,
                                                             comm);
}

[[gnu::visibility("default")]] int MPI_Pack_size(int incount, MPI_Datatype type, MPI_Comm comm,
                                                 int* size) {
  return guarded<&::MPI_Pack_size, &Next::Pack_size, exec::pack_size>(Call::Pack_size, incount,
                                                                      type, comm, size);
}

// Point to point.

[[gnu::visibility("default")]] int MPI_Send(const void* buf, int count, MPI_Datatype type,
                                            int dest, int tag, MPI_Comm comm) {
  return guarded_p2p<Call::Send, &::MPI_Send, &Next::Send, exec::send>(buf, count, type, dest, tag,
                                                       comm);
}

[[gnu::visibility("default")]] int MPI_Ssend(const void* buf, int count, MPI_Datatype type,
                                             int dest, int tag, MPI_Comm comm) {
  return guarded_p2p<Call::Ssend, &::MPI_Ssend, &Next::Ssend, exec::ssend>(buf, count, type, dest,
                                                          tag, comm);
}

[[gnu::visibility("default")]] int MPI_Bsend(const void* buf, int count, MPI_Datatype type,
                                             int dest, int tag, MPI_Comm comm) {
  return guarded_p2p<Call::Bsend, &::MPI_Bsend, &Next::Bsend, exec::bsend>(buf, count, type, dest,
                                                          tag, comm);
}

[[gnu::visibility("default")]] int MPI_Rsend(const void* buf, int count, MPI_Datatype type,
                                             int dest, int tag, MPI_Comm comm) {
  return guarded_p2p<Call::Rsend, &::MPI_Rsend, &Next::Rsend, exec::rsend>(buf, count, type, dest,
                                                          tag, comm);
}

[[gnu::visibility("default")]] int MPI_Recv(void* buf, int count, MPI_Datatype type, int source,
                                            int tag, MPI_Comm comm, MPI_Status* status) {
  return guarded_p2p<Call::Recv, &::MPI_Recv, &Next::Recv, exec::recv>(buf, count, type, source,
                                                       tag, comm, status);
}

[[gnu::visibility("default")]] int MPI_Isend(const void* buf, int count, MPI_Datatype type,
                                             int dest, int tag, MPI_Comm comm,
                                             MPI_Request* request) {
  return guarded_p2p<Call::Isend, &::MPI_Isend, &Next::Isend, exec::isend>(buf, count, type, dest,
                                                          tag, comm, request);
}

[[gnu::visibility("default")]] int MPI_Issend(const void* buf, int count, MPI_Datatype type,
                                              int dest, int tag, MPI_Comm comm,
                                              MPI_Request* request) {
  return guarded_p2p<Call::Issend, &::MPI_Issend, &Next::Issend, exec::issend>(buf, count, type,
                                                             dest, tag, comm, request);
}

[[gnu::visibility("default")]] int MPI_Ibsend(const void* buf, int count, MPI_Datatype type,
                                              int dest, int tag, MPI_Comm comm,
                                              MPI_Request* request) {
  return guarded_p2p<Call::Ibsend, &::MPI_Ibsend, &Next::Ibsend, exec::ibsend>(buf, count, type,
                                                             dest, tag, comm, request);
}

[[gnu::visibility("default")]] int MPI_Irsend(const void* buf, int count, MPI_Datatype type,
                                              int dest, int tag, MPI_Comm comm,
                                              MPI_Request* request) {
  return guarded_p2p<Call::Irsend, &::MPI_Irsend, &Next::Irsend, exec::irsend>(buf, count, type,
                                                             dest, tag, comm, request);
}

[[gnu::visibility("default")]] int MPI_Irecv(void* buf, int count, MPI_Datatype type, int source,
                                             int tag, MPI_Comm comm, MPI_Request* request) {
  return guarded_p2p<Call::Irecv, &::MPI_Irecv, &Next::Irecv, exec::irecv>(buf, count, type, source,
                                                          tag, comm, request);
}

// Matched receives: no peer among the arguments for the forwarded-call fast path to test.
[[gnu::visibility("default")]] int MPI_Mrecv(void* buf, int count, MPI_Datatype type,
                                             MPI_Message* message, MPI_Status* status) {
  return guarded<&::MPI_Mrecv, &Next::Mrecv, exec::mrecv>(Call::Mrecv, buf, count, type, message,
                                                          status);
}

[[gnu::visibility("default")]] int MPI_Imrecv(void* buf, int count, MPI_Datatype type,
                                              MPI_Message* message, MPI_Request* request) {
  return guarded<&::MPI_Imrecv, &Next::Imrecv, exec::imrecv>(Call::Imrecv, buf, count, type,
                                                             message, request);
}

[[gnu::visibility("default")]] int MPI_Sendrecv(const void* sendbuf, int sendcount,
                                                MPI_Datatype sendtype, int dest, int sendtag,
                                                void* recvbuf, int recvcount,
                                                MPI_Datatype recvtype, int source, int recvtag,
                                                MPI_Comm comm, MPI_Status* status) {
  return guarded<&::MPI_Sendrecv, &Next::Sendrecv, exec::sendrecv>(
      Call::Sendrecv, sendbuf, sendcount, sendtype, dest, sendtag, recvbuf, recvcount, recvtype,
      source, recvtag, comm, status);
}

[[gnu::visibility("default")]] int MPI_Sendrecv_replace(void* buf, int count, MPI_Datatype type,
                                                        int dest, int sendtag, int source,
                                                        int recvtag, MPI_Comm comm,
                                                        MPI_Status* status) {
  return guarded<&::MPI_Sendrecv_replace, &Next::Sendrecv_replace, exec::sendrecv_replace>(
      Call::Sendrecv_replace, buf, count, type, dest, sendtag, source, recvtag, comm, status);
}

// Persistent requests.

[[gnu::visibility("default")]] int MPI_Send_init(const void* buf, int count, MPI_Datatype type,
                                                 int dest, int tag, MPI_Comm comm,
                                                 MPI_Request* request) {
  return guarded<&::MPI_Send_init, &Next::Send_init, exec::send_init>(
      Call::Send_init, buf, count, type, dest, tag, comm, request);
}

[[gnu::visibility("default")]] int MPI_Bsend_init(const void* buf, int count, MPI_Datatype type,
                                                  int dest, int tag, MPI_Comm comm,
                                                  MPI_Request* request) {
  return guarded<&::MPI_Bsend_init, &Next::Bsend_init, exec::bsend_init>(
      Call::Bsend_init, buf, count, type, dest, tag, comm, request);
}

[[gnu::visibility("default")]] int MPI_Ssend_init(const void* buf, int count, MPI_Datatype type,
                                                  int dest, int tag, MPI_Comm comm,
                                                  MPI_Request* request) {
  return guarded<&::MPI_Ssend_init, &Next::Ssend_init, exec::ssend_init>(
      Call::Ssend_init, buf, count, type, dest, tag, comm, request);
}

[[gnu::visibility("default")]] int MPI_Rsend_init(const void* buf, int count, MPI_Datatype type,
                                                  int dest, int tag, MPI_Comm comm,
                                                  MPI_Request* request) {
  return guarded<&::MPI_Rsend_init, &Next::Rsend_init, exec::rsend_init>(
      Call::Rsend_init, buf, count, type, dest, tag, comm, request);
}

[[gnu::visibility("default")]] int MPI_Recv_init(void* buf, int count, MPI_Datatype type,
                                                 int source, int tag, MPI_Comm comm,
                                                 MPI_Request* request) {
  return guarded<&::MPI_Recv_init, &Next::Recv_init, exec::recv_init>(
      Call::Recv_init, buf, count, type, source, tag, comm, request);
}

[[gnu::visibility("default")]] int MPI_Start(MPI_Request* request) {
  return guarded<&::MPI_Start, &Next::Start, exec::start>(Call::Start, request);
}

[[gnu::visibility("default")]] int MPI_Startall(int count, MPI_Request requests[]) {
  return guarded<&::MPI_Startall, &Next::Startall, exec::startall>(Call::Startall, count,
                                                                   requests);
}

// Completion.

[[gnu::visibility("default")]] int MPI_Wait(MPI_Request* request, MPI_Status* status) {
  return guarded<&::MPI_Wait, &Next::Wait, exec::wait>(Call::Wait, request, status);
}

[[gnu::visibility("default")]] int MPI_Waitall(int count, MPI_Request requests[],
                                               MPI_Status statuses[]) {
  return guarded<&::MPI_Waitall, &Next::Waitall, exec::waitall>(Call::Waitall, count, requests,
                                                                statuses);
}

[[gnu::visibility("default")]] int MPI_Waitany(int count, MPI_Request requests[], int* index,
                                               MPI_Status* status) {
  return guarded<&::MPI_Waitany, &Next::Waitany, exec::waitany>(Call::Waitany, count, requests,
                                                                index, status);
}

[[gnu::visibility("default")]] int MPI_Waitsome(int incount, MPI_Request requests[],
                                                int* outcount, int indices[],
                                                MPI_Status statuses[]) {
  return guarded<&::MPI_Waitsome, &Next::Waitsome, exec::waitsome>(
      Call::Waitsome, incount, requests, outcount, indices, statuses);
}

[[gnu::visibility("default")]] int MPI_Test(MPI_Request* request, int* flag, MPI_Status* status) {
  return guarded<&::MPI_Test, &Next::Test, exec::test>(Call::Test, request, flag, status);
}

[[gnu::visibility("default")]] int MPI_Testall(int count, MPI_Request requests[], int* flag,
                                               MPI_Status statuses[]) {
  return guarded<&::MPI_Testall, &Next::Testall, exec::testall>(Call::Testall, count, requests,
                                                                flag, statuses);
}

[[gnu::visibility("default")]] int MPI_Testany(int count, MPI_Request requests[], int* index,
                                               int* flag, MPI_Status* status) {
  return guarded<&::MPI_Testany, &Next::Testany, exec::testany>(Call::Testany, count, requests,
                                                                index, flag, status);
}

[[gnu::visibility("default")]] int MPI_Testsome(int incount, MPI_Request requests[],
                                                int* outcount, int indices[],
                                                MPI_Status statuses[]) {
  return guarded<&::MPI_Testsome, &Next::Testsome, exec::testsome>(
      Call::Testsome, incount, requests, outcount, indices, statuses);
}

[[gnu::visibility("default")]] int MPI_Request_free(MPI_Request* request) {
  return guarded<&::MPI_Request_free, &Next::Request_free, exec::request_free>(
      Call::Request_free, request);
}

[[gnu::visibility("default")]] int MPI_Cancel(MPI_Request* request) {
  return guarded<&::MPI_Cancel, &Next::Cancel, exec::cancel>(Call::Cancel, request);
}

[[gnu::visibility("default")]] int MPI_Request_get_status(MPI_Request request, int* flag,
                                                          MPI_Status* status) {
  return guarded<&::MPI_Request_get_status, &Next::Request_get_status,
                 exec::request_get_status>(Call::Request_get_status, request, flag, status);
}

// Neighbourhood collectives.

[[gnu::visibility("default")]] int MPI_Neighbor_alltoallw(
    const void* sendbuf, const int sendcounts[], const MPI_Aint sdispls[], const MPI_Datatype sendtypes[],
    void* recvbuf, const int recvcounts[], const MPI_Aint rdispls[], const MPI_Datatype recvtypes[],
    MPI_Comm comm) {
  return guarded<&::MPI_Neighbor_alltoallw, &Next::Neighbor_alltoallw, exec::neighbor_alltoallw>(
      Call::Neighbor_alltoallw, sendbuf, sendcounts, sdispls, sendtypes, recvbuf, recvcounts, rdispls,
      recvtypes, comm);
}

// Collectives.

[[gnu::visibility("default")]] int MPI_Alltoallw(const void* sendbuf, const int sendcounts[], const int sdispls[],
                                                 const MPI_Datatype sendtypes[], void* recvbuf,
                                                 const int recvcounts[], const int rdispls[],
                                                 const MPI_Datatype recvtypes[], MPI_Comm comm) {
  return guarded<&::MPI_Alltoallw, &Next::Alltoallw, exec::alltoallw>(
      Call::Alltoallw, sendbuf, sendcounts, sdispls, sendtypes, recvbuf, recvcounts, rdispls, recvtypes, comm);
}

[[gnu::visibility("default")]] int MPI_Ineighbor_alltoallw(
    const void* sendbuf, const int sendcounts[], const MPI_Aint sdispls[], const MPI_Datatype sendtypes[],
    void* recvbuf, const int recvcounts[], const MPI_Aint rdispls[], const MPI_Datatype recvtypes[],
    MPI_Comm comm, MPI_Request* request) {
  return guarded<&::MPI_Ineighbor_alltoallw, &Next::Ineighbor_alltoallw, exec::ineighbor_alltoallw>(
      Call::Ineighbor_alltoallw, sendbuf, sendcounts, sdispls, sendtypes, recvbuf, recvcounts, rdispls,
      recvtypes, comm, request);
}

[[gnu::visibility("default")]] int MPI_Ialltoallw(const void* sendbuf, const int sendcounts[], const int sdispls[],
                                                  const MPI_Datatype sendtypes[], void* recvbuf,
                                                  const int recvcounts[], const int rdispls[],
                                                  const MPI_Datatype recvtypes[], MPI_Comm comm,
                                                  MPI_Request* request) {
  return guarded<&::MPI_Ialltoallw, &Next::Ialltoallw, exec::ialltoallw>(Call::Ialltoallw, sendbuf, sendcounts,
                                                                          sdispls, sendtypes, recvbuf, recvcounts,
                                                                          rdispls, recvtypes, comm, request);
}

[[gnu::visibility("default")]] int MPI_Alltoallv(const void* sendbuf, const int sendcounts[], const int sdispls[],
                                                 MPI_Datatype sendtype, void* recvbuf, const int recvcounts[],
                                                 const int rdispls[], MPI_Datatype recvtype, MPI_Comm comm) {
  return guarded<&::MPI_Alltoallv, &Next::Alltoallv, exec::alltoallv>(
      Call::Alltoallv, sendbuf, sendcounts, sdispls, sendtype, recvbuf, recvcounts, rdispls, recvtype, comm);
}

[[gnu::visibility("default")]] int MPI_Ialltoallv(const void* sendbuf, const int sendcounts[], const int sdispls[],
                                                  MPI_Datatype sendtype, void* recvbuf, const int recvcounts[],
                                                  const int rdispls[], MPI_Datatype recvtype, MPI_Comm comm,
                                                  MPI_Request* request) {
  return guarded<&::MPI_Ialltoallv, &Next::Ialltoallv, exec::ialltoallv>(
      Call::Ialltoallv, sendbuf, sendcounts, sdispls, sendtype, recvbuf, recvcounts, rdispls, recvtype, comm,
      request);
}

[[gnu::visibility("default")]] int MPI_Neighbor_alltoallv(const void* sendbuf, const int sendcounts[],
                                                          const int sdispls[], MPI_Datatype sendtype, void* recvbuf,
                                                          const int recvcounts[], const int rdispls[],
                                                          MPI_Datatype recvtype, MPI_Comm comm) {
  return guarded<&::MPI_Neighbor_alltoallv, &Next::Neighbor_alltoallv, exec::neighbor_alltoallv>(
      Call::Neighbor_alltoallv, sendbuf, sendcounts, sdispls, sendtype, recvbuf, recvcounts, rdispls, recvtype,
      comm);
}

[[gnu::visibility("default")]] int MPI_Ineighbor_alltoallv(const void* sendbuf, const int sendcounts[],
                                                           const int sdispls[], MPI_Datatype sendtype,
                                                           void* recvbuf, const int recvcounts[],
                                                           const int rdispls[], MPI_Datatype recvtype,
                                                           MPI_Comm comm, MPI_Request* request) {
  return guarded<&::MPI_Ineighbor_alltoallv, &Next::Ineighbor_alltoallv, exec::ineighbor_alltoallv>(
      Call::Ineighbor_alltoallv, sendbuf, sendcounts, sdispls, sendtype, recvbuf, recvcounts, rdispls, recvtype,
      comm, request);
}

[[gnu::visibility("default")]] int MPI_Gatherv(const void* sendbuf, int sendcount, MPI_Datatype sendtype,
                                               void* recvbuf, const int recvcounts[], const int displs[],
                                               MPI_Datatype recvtype, int root, MPI_Comm comm) {
  return guarded<&::MPI_Gatherv, &Next::Gatherv, exec::gatherv>(Call::Gatherv, sendbuf, sendcount, sendtype,
                                                                recvbuf, recvcounts, displs, recvtype, root, comm);
}

[[gnu::visibility("default")]] int MPI_Igatherv(const void* sendbuf, int sendcount, MPI_Datatype sendtype,
                                                void* recvbuf, const int recvcounts[], const int displs[],
                                                MPI_Datatype recvtype, int root, MPI_Comm comm,
                                                MPI_Request* request) {
  return guarded<&::MPI_Igatherv, &Next::Igatherv, exec::igatherv>(
      Call::Igatherv, sendbuf, sendcount, sendtype, recvbuf, recvcounts, displs, recvtype, root, comm, request);
}

[[gnu::visibility("default")]] int MPI_Scatterv(const void* sendbuf, const int sendcounts[], const int displs[],
                                                MPI_Datatype sendtype, void* recvbuf, int recvcount,
                                                MPI_Datatype recvtype, int root, MPI_Comm comm) {
  return guarded<&::MPI_Scatterv, &Next::Scatterv, exec::scatterv>(Call::Scatterv, sendbuf, sendcounts, displs,
                                                                   sendtype, recvbuf, recvcount, recvtype, root,
                                                                   comm);
}

[[gnu::visibility("default")]] int MPI_Iscatterv(const void* sendbuf, const int sendcounts[], const int displs[],
                                                 MPI_Datatype sendtype, void* recvbuf, int recvcount,
                                                 MPI_Datatype recvtype, int root, MPI_Comm comm,
                                                 MPI_Request* request) {
  return guarded<&::MPI_Iscatterv, &Next::Iscatterv, exec::iscatterv>(
      Call::Iscatterv, sendbuf, sendcounts, displs, sendtype, recvbuf, recvcount, recvtype, root, comm, request);
}

}  // extern "C"
