#pragma once
// Point-to-point and completion calls with the MPI signatures, entered from the interposed
// MPI_* symbols. Each one is the whole operation seen by the application: it may pack, stage
// and track the request itself, or hand the call to the next MPI unchanged.
#include <mpi.h>

#include <cstdint>
#include <memory>

#include "types/layout.hpp"

namespace strider::exec {

// Whether Strider's host path packs (buf, count, type) in a message with `peer` (as its own
// sends and receives decide it: host memory, a Layout, the model's or the forced choice); then
// `out` holds the Layout and the packed bytes. False for everything it leaves to the MPI.
struct HostPacking {
  std::shared_ptr<const types::Layout> layout;
  std::int64_t bytes = 0;
};
bool host_packs(const void* buf, int count, MPI_Datatype type, int peer, HostPacking& out);

// Split sends (see p2p.cpp). The datatype that `bytes` host-packed bytes leave as, one element
// from the start of a staging buffer mpi::kSplitTail bytes longer than they are, when they
// leave as two blocks (STRIDER_SPLIT_SEND, else the model's exchange tables); MPI_DATATYPE_NULL
// when they leave as contiguous bytes.
MPI_Datatype split_send_type(std::int64_t bytes);
// Readies `bytes` freshly packed bytes at `staging` for a split send: the last
// mpi::kSplitTail of them copied that far on, the send counted.
void move_split_tail(void* staging, std::int64_t bytes);
// Host-packed sends that left as two blocks since the start, on all threads (tests).
std::uint64_t split_sends();
// Frees the split sends' datatypes (MPI_Finalize).
void free_split_types();

// Blocking and nonblocking sends and receives.
int send(const void* buf, int count, MPI_Datatype type, int dest, int tag, MPI_Comm comm);
int ssend(const void* buf, int count, MPI_Datatype type, int dest, int tag, MPI_Comm comm);
int bsend(const void* buf, int count, MPI_Datatype type, int dest, int tag, MPI_Comm comm);
int rsend(const void* buf, int count, MPI_Datatype type, int dest, int tag, MPI_Comm comm);
int recv(void* buf, int count, MPI_Datatype type, int source, int tag, MPI_Comm comm,
         MPI_Status* status);
int isend(const void* buf, int count, MPI_Datatype type, int dest, int tag, MPI_Comm comm,
          MPI_Request* request);
int issend(const void* buf, int count, MPI_Datatype type, int dest, int tag, MPI_Comm comm,
           MPI_Request* request);
int ibsend(const void* buf, int count, MPI_Datatype type, int dest, int tag, MPI_Comm comm,
           MPI_Request* request);
int irsend(const void* buf, int count, MPI_Datatype type, int dest, int tag, MPI_Comm comm,
           MPI_Request* request);
int irecv(void* buf, int count, MPI_Datatype type, int source, int tag, MPI_Comm comm,
          MPI_Request* request);
// Matched receives of a message from MPI_Mprobe/MPI_Improbe; MPI_MESSAGE_NO_PROC and invalid
// handles go to the next MPI unchanged.
int mrecv(void* buf, int count, MPI_Datatype type, MPI_Message* message, MPI_Status* status);
int imrecv(void* buf, int count, MPI_Datatype type, MPI_Message* message, MPI_Request* request);
int sendrecv(const void* sendbuf, int sendcount, MPI_Datatype sendtype, int dest, int sendtag,
             void* recvbuf, int recvcount, MPI_Datatype recvtype, int source, int recvtag,
             MPI_Comm comm, MPI_Status* status);
int sendrecv_replace(void* buf, int count, MPI_Datatype type, int dest, int sendtag, int source,
                     int recvtag, MPI_Comm comm, MPI_Status* status);

// Persistent requests.
int send_init(const void* buf, int count, MPI_Datatype type, int dest, int tag, MPI_Comm comm,
              MPI_Request* request);
int bsend_init(const void* buf, int count, MPI_Datatype type, int dest, int tag, MPI_Comm comm,
               MPI_Request* request);
int ssend_init(const void* buf, int count, MPI_Datatype type, int dest, int tag, MPI_Comm comm,
               MPI_Request* request);
int rsend_init(const void* buf, int count, MPI_Datatype type, int dest, int tag, MPI_Comm comm,
               MPI_Request* request);
int recv_init(void* buf, int count, MPI_Datatype type, int source, int tag, MPI_Comm comm,
              MPI_Request* request);
int start(MPI_Request* request);
int startall(int count, MPI_Request requests[]);

// Completion: every way a request can finish, so deferred work (unpack, staging release) is
// never left waiting for a later Strider call.
int wait(MPI_Request* request, MPI_Status* status);
int waitall(int count, MPI_Request requests[], MPI_Status statuses[]);
int waitany(int count, MPI_Request requests[], int* index, MPI_Status* status);
int waitsome(int incount, MPI_Request requests[], int* outcount, int indices[],
             MPI_Status statuses[]);
int test(MPI_Request* request, int* flag, MPI_Status* status);
int testall(int count, MPI_Request requests[], int* flag, MPI_Status statuses[]);
int testany(int count, MPI_Request requests[], int* index, int* flag, MPI_Status* status);
int testsome(int incount, MPI_Request requests[], int* outcount, int indices[],
             MPI_Status statuses[]);
int request_free(MPI_Request* request);
int cancel(MPI_Request* request);
int request_get_status(MPI_Request request, int* flag, MPI_Status* status);

}  // namespace strider::exec
