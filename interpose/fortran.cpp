// Fortran entry points. Open MPI's Fortran bindings call PMPI_* directly, so a Fortran program
// would bypass the C entry points in mpi_entry.cpp altogether. Strider therefore defines the
// Fortran symbols of every call it intercepts in C: `mpi_x_` (mpif.h and `use mpi`, gfortran's
// naming) and `ompi_x_f` (what Open MPI's `use mpi_f08` module calls). Each converts its
// handles, statuses, logicals and 1-based indices and calls the C entry point MPI_X, so a
// Fortran call takes exactly the path of the same C call, counters and fallbacks included.
//
// Calls that take requests are all here, so a request Strider tracks is always completed
// through Strider.
#include <dlfcn.h>
#include <mpi.h>

#include <type_traits>
#include <vector>

#include "mpi/calls.hpp"

namespace {

using Fint = MPI_Fint;
// Fortran INTEGER arrays (counts) are passed to C as int arrays.
static_assert(std::is_same_v<Fint, int>, "MPI_Fint is int in the Open MPI this is built for");
constexpr int kStatusInts = static_cast<int>(sizeof(MPI_Status) / sizeof(Fint));  // MPI_STATUS_SIZE
constexpr Fint kTrue = 1;  // gfortran's .TRUE., as Open MPI's Fortran bindings use it

// Fortran's MPI_BOTTOM is the address of a common block, C's is a null pointer. Looked up at
// run time: it lives in libmpi, and an MPI without it has no Fortran MPI_BOTTOM to convert.
const void* fortran_bottom() {
  static const void* const bottom = dlsym(RTLD_DEFAULT, "mpi_fortran_bottom_");
  return bottom;
}
void* c_buffer(void* buf) { return buf != nullptr && buf == fortran_bottom() ? MPI_BOTTOM : buf; }

// The send buffer of a collective may also be Fortran's MPI_IN_PLACE, another common block.
const void* fortran_in_place() {
  static const void* const in_place = dlsym(RTLD_DEFAULT, "mpi_fortran_in_place_");
  return in_place;
}
void* c_send_buffer(void* buf) {
  return buf != nullptr && buf == fortran_in_place() ? MPI_IN_PLACE : c_buffer(buf);
}

void set_error(Fint* ierr, int rc) {
  if (ierr != nullptr) *ierr = static_cast<Fint>(rc);
}

MPI_Status* c_status(Fint* status, MPI_Status* mine) {
  return status == MPI_F_STATUS_IGNORE ? MPI_STATUS_IGNORE : mine;
}
void put_status(const MPI_Status* mine, Fint* status) {
  if (status != MPI_F_STATUS_IGNORE) MPI_Status_c2f(mine, status);
}

// Up to kInline elements on the stack, more on the heap: the arrays of handles and statuses
// that the array calls convert.
template <class T>
class Scratch {
 public:
  explicit Scratch(Fint n) : n_(n < 0 ? 0 : n) {
    if (n_ > kInline) heap_.resize(static_cast<std::size_t>(n_));
  }
  T* data() { return n_ > kInline ? heap_.data() : inline_; }
  T& operator[](Fint i) { return data()[i]; }

 private:
  static constexpr Fint kInline = 32;
  Fint n_;
  T inline_[kInline];
  std::vector<T> heap_;
};

class Requests {
 public:
  Requests(Fint count, Fint* f) : count_(count), f_(f), c_(count) {
    for (Fint i = 0; i < count_; ++i) c_[i] = MPI_Request_f2c(f_[i]);
  }
  MPI_Request* data() { return c_.data(); }
  // Completed requests became MPI_REQUEST_NULL; the rest keep their handles.
  void put_back() {
    for (Fint i = 0; i < count_; ++i) f_[i] = MPI_Request_c2f(c_[i]);
  }

 private:
  Fint count_;
  Fint* f_;
  Scratch<MPI_Request> c_;
};

class Statuses {
 public:
  Statuses(Fint count, Fint* f) : f_(f), c_(f == MPI_F_STATUSES_IGNORE ? 0 : count) {}
  MPI_Status* data() { return f_ == MPI_F_STATUSES_IGNORE ? MPI_STATUSES_IGNORE : c_.data(); }
  // The first n statuses (n may be MPI_UNDEFINED: none).
  void put_back(Fint n) {
    if (f_ == MPI_F_STATUSES_IGNORE) return;
    for (Fint i = 0; i < n; ++i)
      MPI_Status_c2f(&c_[i], f_ + static_cast<std::ptrdiff_t>(i) * kStatusInts);
  }

 private:
  Fint* f_;
  Scratch<MPI_Status> c_;
};

bool statuses_filled(int rc) { return rc == MPI_SUCCESS || rc == MPI_ERR_IN_STATUS; }

}  // namespace

// Each function is defined once as `mpi_x_` and given the name `ompi_x_f` as an alias.
#define STRIDER_FORTRAN(lower, args)                                                   \
  extern "C" [[gnu::visibility("default")]] void ompi_##lower##_f args                 \
      __attribute__((alias("mpi_" #lower "_")));                                       \
  extern "C" [[gnu::visibility("default")]] void mpi_##lower##_ args

// Init and finalize.

STRIDER_FORTRAN(init, (Fint * ierr)) {
  int argc = 0;
  char** argv = nullptr;
  set_error(ierr, MPI_Init(&argc, &argv));
}

STRIDER_FORTRAN(init_thread, (Fint * required, Fint* provided, Fint* ierr)) {
  int argc = 0;
  char** argv = nullptr;
  int c_provided = MPI_THREAD_SINGLE;
  const int rc = MPI_Init_thread(&argc, &argv, *required, &c_provided);
  if (rc == MPI_SUCCESS) *provided = c_provided;
  set_error(ierr, rc);
}

STRIDER_FORTRAN(finalize, (Fint * ierr)) { set_error(ierr, MPI_Finalize()); }

// Datatypes and packing.

STRIDER_FORTRAN(type_commit, (Fint * type, Fint* ierr)) {
  MPI_Datatype t = MPI_Type_f2c(*type);
  const int rc = MPI_Type_commit(&t);
  if (rc == MPI_SUCCESS) *type = MPI_Type_c2f(t);
  set_error(ierr, rc);
}

STRIDER_FORTRAN(type_free, (Fint * type, Fint* ierr)) {
  MPI_Datatype t = MPI_Type_f2c(*type);
  const int rc = MPI_Type_free(&t);
  if (rc == MPI_SUCCESS) *type = MPI_Type_c2f(t);
  set_error(ierr, rc);
}

STRIDER_FORTRAN(type_dup, (Fint * type, Fint* newtype, Fint* ierr)) {
  MPI_Datatype t = MPI_DATATYPE_NULL;
  const int rc = MPI_Type_dup(MPI_Type_f2c(*type), &t);
  if (rc == MPI_SUCCESS) *newtype = MPI_Type_c2f(t);
  set_error(ierr, rc);
}

STRIDER_FORTRAN(pack, (void* inbuf, Fint* incount, Fint* type, void* outbuf, Fint* outsize,
                       Fint* position, Fint* comm, Fint* ierr)) {
  int pos = *position;
  const int rc = MPI_Pack(c_buffer(inbuf), *incount, MPI_Type_f2c(*type), outbuf, *outsize, &pos,
                          MPI_Comm_f2c(*comm));
  if (rc == MPI_SUCCESS) *position = pos;
  set_error(ierr, rc);
}

STRIDER_FORTRAN(unpack, (void* inbuf, Fint* insize, Fint* position, void* outbuf, Fint* outcount,
                         Fint* type, Fint* comm, Fint* ierr)) {
  int pos = *position;
  const int rc = MPI_Unpack(inbuf, *insize, &pos, c_buffer(outbuf), *outcount,
                            MPI_Type_f2c(*type), MPI_Comm_f2c(*comm));
  if (rc == MPI_SUCCESS) *position = pos;
  set_error(ierr, rc);
}

STRIDER_FORTRAN(pack_size, (Fint * incount, Fint* type, Fint* comm, Fint* size, Fint* ierr)) {
  int c_size = 0;
  const int rc = MPI_Pack_size(*incount, MPI_Type_f2c(*type), MPI_Comm_f2c(*comm), &c_size);
  if (rc == MPI_SUCCESS) *size = c_size;
  set_error(ierr, rc);
}

// Point to point. The four blocking send modes and the four nonblocking and persistent ones
// share their argument lists.

#define STRIDER_FORTRAN_SEND(lower, Upper)                                                  \
  STRIDER_FORTRAN(lower, (void* buf, Fint* count, Fint* type, Fint* dest, Fint* tag,       \
                          Fint* comm, Fint* ierr)) {                                        \
    set_error(ierr, MPI_##Upper(c_buffer(buf), *count, MPI_Type_f2c(*type), *dest, *tag,    \
                                MPI_Comm_f2c(*comm)));                                      \
  }
STRIDER_FORTRAN_SEND(send, Send)
STRIDER_FORTRAN_SEND(ssend, Ssend)
STRIDER_FORTRAN_SEND(bsend, Bsend)
STRIDER_FORTRAN_SEND(rsend, Rsend)

// MPI_Isend and its kin, MPI_Send_init and its kin, and MPI_Irecv / MPI_Recv_init (whose
// `peer` is the source).
#define STRIDER_FORTRAN_POST(lower, Upper)                                                     \
  STRIDER_FORTRAN(lower, (void* buf, Fint* count, Fint* type, Fint* peer, Fint* tag,          \
                          Fint* comm, Fint* request, Fint* ierr)) {                            \
    MPI_Request r = MPI_REQUEST_NULL;                                                          \
    const int rc = MPI_##Upper(c_buffer(buf), *count, MPI_Type_f2c(*type), *peer, *tag,        \
                               MPI_Comm_f2c(*comm), &r);                                       \
    if (rc == MPI_SUCCESS) *request = MPI_Request_c2f(r);                                      \
    set_error(ierr, rc);                                                                       \
  }
STRIDER_FORTRAN_POST(isend, Isend)
STRIDER_FORTRAN_POST(issend, Issend)
STRIDER_FORTRAN_POST(ibsend, Ibsend)
STRIDER_FORTRAN_POST(irsend, Irsend)
STRIDER_FORTRAN_POST(irecv, Irecv)
STRIDER_FORTRAN_POST(send_init, Send_init)
STRIDER_FORTRAN_POST(bsend_init, Bsend_init)
STRIDER_FORTRAN_POST(ssend_init, Ssend_init)
STRIDER_FORTRAN_POST(rsend_init, Rsend_init)
STRIDER_FORTRAN_POST(recv_init, Recv_init)

STRIDER_FORTRAN(recv, (void* buf, Fint* count, Fint* type, Fint* source, Fint* tag, Fint* comm,
                       Fint* status, Fint* ierr)) {
  MPI_Status s;
  const int rc = MPI_Recv(c_buffer(buf), *count, MPI_Type_f2c(*type), *source, *tag,
                          MPI_Comm_f2c(*comm), c_status(status, &s));
  if (rc == MPI_SUCCESS) put_status(&s, status);
  set_error(ierr, rc);
}

STRIDER_FORTRAN(mrecv, (void* buf, Fint* count, Fint* type, Fint* message, Fint* status,
                        Fint* ierr)) {
  MPI_Message m = MPI_Message_f2c(*message);
  MPI_Status s;
  const int rc = MPI_Mrecv(c_buffer(buf), *count, MPI_Type_f2c(*type), &m, c_status(status, &s));
  if (rc == MPI_SUCCESS) {
    *message = MPI_Message_c2f(m);
    put_status(&s, status);
  }
  set_error(ierr, rc);
}

STRIDER_FORTRAN(imrecv, (void* buf, Fint* count, Fint* type, Fint* message, Fint* request,
                         Fint* ierr)) {
  MPI_Message m = MPI_Message_f2c(*message);
  MPI_Request r = MPI_REQUEST_NULL;
  const int rc = MPI_Imrecv(c_buffer(buf), *count, MPI_Type_f2c(*type), &m, &r);
  if (rc == MPI_SUCCESS) {
    *message = MPI_Message_c2f(m);
    *request = MPI_Request_c2f(r);
  }
  set_error(ierr, rc);
}

STRIDER_FORTRAN(sendrecv, (void* sendbuf, Fint* sendcount, Fint* sendtype, Fint* dest,
                           Fint* sendtag, void* recvbuf, Fint* recvcount, Fint* recvtype,
                           Fint* source, Fint* recvtag, Fint* comm, Fint* status, Fint* ierr)) {
  MPI_Status s;
  const int rc = MPI_Sendrecv(c_buffer(sendbuf), *sendcount, MPI_Type_f2c(*sendtype), *dest,
                              *sendtag, c_buffer(recvbuf), *recvcount, MPI_Type_f2c(*recvtype),
                              *source, *recvtag, MPI_Comm_f2c(*comm), c_status(status, &s));
  if (rc == MPI_SUCCESS) put_status(&s, status);
  set_error(ierr, rc);
}

STRIDER_FORTRAN(sendrecv_replace, (void* buf, Fint* count, Fint* type, Fint* dest, Fint* sendtag,
                                   Fint* source, Fint* recvtag, Fint* comm, Fint* status,
                                   Fint* ierr)) {
  MPI_Status s;
  const int rc = MPI_Sendrecv_replace(c_buffer(buf), *count, MPI_Type_f2c(*type), *dest, *sendtag,
                                      *source, *recvtag, MPI_Comm_f2c(*comm), c_status(status, &s));
  if (rc == MPI_SUCCESS) put_status(&s, status);
  set_error(ierr, rc);
}

// Starting and completing requests.

STRIDER_FORTRAN(start, (Fint * request, Fint* ierr)) {
  MPI_Request r = MPI_Request_f2c(*request);
  const int rc = MPI_Start(&r);
  *request = MPI_Request_c2f(r);
  set_error(ierr, rc);
}

STRIDER_FORTRAN(startall, (Fint * count, Fint* requests, Fint* ierr)) {
  Requests r(*count, requests);
  const int rc = MPI_Startall(*count, r.data());
  r.put_back();
  set_error(ierr, rc);
}

STRIDER_FORTRAN(wait, (Fint * request, Fint* status, Fint* ierr)) {
  MPI_Request r = MPI_Request_f2c(*request);
  MPI_Status s;
  const int rc = MPI_Wait(&r, c_status(status, &s));
  *request = MPI_Request_c2f(r);
  if (rc == MPI_SUCCESS) put_status(&s, status);
  set_error(ierr, rc);
}

STRIDER_FORTRAN(waitall, (Fint * count, Fint* requests, Fint* statuses, Fint* ierr)) {
  Requests r(*count, requests);
  Statuses s(*count, statuses);
  const int rc = MPI_Waitall(*count, r.data(), s.data());
  r.put_back();
  if (statuses_filled(rc)) s.put_back(*count);
  set_error(ierr, rc);
}

STRIDER_FORTRAN(waitany, (Fint * count, Fint* requests, Fint* index, Fint* status, Fint* ierr)) {
  Requests r(*count, requests);
  MPI_Status s;
  int c_index = MPI_UNDEFINED;
  const int rc = MPI_Waitany(*count, r.data(), &c_index, c_status(status, &s));
  r.put_back();
  if (rc == MPI_SUCCESS) {
    *index = c_index == MPI_UNDEFINED ? MPI_UNDEFINED : c_index + 1;
    put_status(&s, status);
  }
  set_error(ierr, rc);
}

// MPI_Waitsome and MPI_Testsome (`some`): C's 0-based indices become Fortran's 1-based ones.
template <class Some>
void complete_some(Some some, Fint* incount, Fint* requests, Fint* outcount, Fint* indices,
                   Fint* statuses, Fint* ierr) {
  Requests r(*incount, requests);
  Statuses s(*incount, statuses);
  Scratch<int> c_indices(*incount);
  int n = MPI_UNDEFINED;
  const int rc = some(*incount, r.data(), &n, c_indices.data(), s.data());
  r.put_back();
  if (statuses_filled(rc)) {
    *outcount = n;
    for (Fint i = 0; i < n; ++i) indices[i] = c_indices[i] + 1;
    s.put_back(n);
  }
  set_error(ierr, rc);
}

STRIDER_FORTRAN(waitsome, (Fint * incount, Fint* requests, Fint* outcount, Fint* indices,
                           Fint* statuses, Fint* ierr)) {
  complete_some(MPI_Waitsome, incount, requests, outcount, indices, statuses, ierr);
}

STRIDER_FORTRAN(test, (Fint * request, Fint* flag, Fint* status, Fint* ierr)) {
  MPI_Request r = MPI_Request_f2c(*request);
  MPI_Status s;
  int c_flag = 0;
  const int rc = MPI_Test(&r, &c_flag, c_status(status, &s));
  *request = MPI_Request_c2f(r);
  if (rc == MPI_SUCCESS) {
    *flag = c_flag ? kTrue : 0;
    if (c_flag) put_status(&s, status);
  }
  set_error(ierr, rc);
}

STRIDER_FORTRAN(testall, (Fint * count, Fint* requests, Fint* flag, Fint* statuses, Fint* ierr)) {
  Requests r(*count, requests);
  Statuses s(*count, statuses);
  int c_flag = 0;
  const int rc = MPI_Testall(*count, r.data(), &c_flag, s.data());
  r.put_back();
  if (statuses_filled(rc)) {
    *flag = c_flag ? kTrue : 0;
    if (c_flag) s.put_back(*count);
  }
  set_error(ierr, rc);
}

STRIDER_FORTRAN(testany, (Fint * count, Fint* requests, Fint* index, Fint* flag, Fint* status,
                          Fint* ierr)) {
  Requests r(*count, requests);
  MPI_Status s;
  int c_index = MPI_UNDEFINED, c_flag = 0;
  const int rc = MPI_Testany(*count, r.data(), &c_index, &c_flag, c_status(status, &s));
  r.put_back();
  if (rc == MPI_SUCCESS) {
    *flag = c_flag ? kTrue : 0;
    *index = c_index == MPI_UNDEFINED ? MPI_UNDEFINED : c_index + 1;
    if (c_flag && c_index != MPI_UNDEFINED) put_status(&s, status);
  }
  set_error(ierr, rc);
}

STRIDER_FORTRAN(testsome, (Fint * incount, Fint* requests, Fint* outcount, Fint* indices,
                           Fint* statuses, Fint* ierr)) {
  complete_some(MPI_Testsome, incount, requests, outcount, indices, statuses, ierr);
}

STRIDER_FORTRAN(request_free, (Fint * request, Fint* ierr)) {
  MPI_Request r = MPI_Request_f2c(*request);
  const int rc = MPI_Request_free(&r);
  if (rc == MPI_SUCCESS) *request = MPI_Request_c2f(r);
  set_error(ierr, rc);
}

STRIDER_FORTRAN(cancel, (Fint * request, Fint* ierr)) {
  MPI_Request r = MPI_Request_f2c(*request);
  set_error(ierr, MPI_Cancel(&r));
}

STRIDER_FORTRAN(request_get_status, (Fint * request, Fint* flag, Fint* status, Fint* ierr)) {
  MPI_Status s;
  int c_flag = 0;
  const int rc = MPI_Request_get_status(MPI_Request_f2c(*request), &c_flag, c_status(status, &s));
  if (rc == MPI_SUCCESS) {
    *flag = c_flag ? kTrue : 0;
    if (c_flag) put_status(&s, status);
  }
  set_error(ierr, rc);
}

// Collectives.

// The arrays have one entry per neighbour: the datatypes are converted for as many as the
// communicator's topology has. Without a topology there is nothing to convert, and the C call
// reports the error.
struct NeighbourTypes {
  std::vector<MPI_Datatype> send, recv;
  NeighbourTypes(MPI_Comm c, const Fint* sendtypes, const Fint* recvtypes) {
    strider::mpi::Neighbours n;
    if (c == MPI_COMM_NULL || !strider::mpi::topology_neighbours(c, n)) return;
    for (std::size_t i = 0; i < n.destinations.size(); ++i) send.push_back(MPI_Type_f2c(sendtypes[i]));
    for (std::size_t i = 0; i < n.sources.size(); ++i) recv.push_back(MPI_Type_f2c(recvtypes[i]));
  }
};

STRIDER_FORTRAN(neighbor_alltoallw, (void* sendbuf, Fint* sendcounts, MPI_Aint* sdispls,
                                     Fint* sendtypes, void* recvbuf, Fint* recvcounts,
                                     MPI_Aint* rdispls, Fint* recvtypes, Fint* comm, Fint* ierr)) {
  const MPI_Comm c = MPI_Comm_f2c(*comm);
  const NeighbourTypes t(c, sendtypes, recvtypes);
  set_error(ierr, MPI_Neighbor_alltoallw(c_buffer(sendbuf), sendcounts, sdispls, t.send.data(),
                                         c_buffer(recvbuf), recvcounts, rdispls, t.recv.data(), c));
}

STRIDER_FORTRAN(ineighbor_alltoallw, (void* sendbuf, Fint* sendcounts, MPI_Aint* sdispls,
                                      Fint* sendtypes, void* recvbuf, Fint* recvcounts,
                                      MPI_Aint* rdispls, Fint* recvtypes, Fint* comm,
                                      Fint* request, Fint* ierr)) {
  const MPI_Comm c = MPI_Comm_f2c(*comm);
  const NeighbourTypes t(c, sendtypes, recvtypes);
  MPI_Request r = MPI_REQUEST_NULL;
  const int rc = MPI_Ineighbor_alltoallw(c_buffer(sendbuf), sendcounts, sdispls, t.send.data(),
                                         c_buffer(recvbuf), recvcounts, rdispls, t.recv.data(), c, &r);
  if (rc == MPI_SUCCESS) *request = MPI_Request_c2f(r);
  set_error(ierr, rc);
}

// One datatype per process of the communicator (of the remote group for an intercommunicator);
// with MPI_IN_PLACE the send types are ignored and need not be valid handles.
struct AllTypes {
  const void* send_buffer;
  std::vector<MPI_Datatype> send, recv;
  AllTypes(MPI_Comm c, void* sendbuf, const Fint* sendtypes, const Fint* recvtypes)
      : send_buffer(c_send_buffer(sendbuf)) {
    const auto peers = static_cast<std::size_t>(strider::mpi::collective_peers(c));
    send.assign(peers, MPI_DATATYPE_NULL);
    recv.resize(peers);
    for (std::size_t i = 0; i < peers; ++i) {
      if (send_buffer != MPI_IN_PLACE) send[i] = MPI_Type_f2c(sendtypes[i]);
      recv[i] = MPI_Type_f2c(recvtypes[i]);
    }
  }
};

STRIDER_FORTRAN(alltoallw, (void* sendbuf, Fint* sendcounts, Fint* sdispls, Fint* sendtypes,
                            void* recvbuf, Fint* recvcounts, Fint* rdispls, Fint* recvtypes,
                            Fint* comm, Fint* ierr)) {
  const MPI_Comm c = MPI_Comm_f2c(*comm);
  const AllTypes t(c, sendbuf, sendtypes, recvtypes);
  set_error(ierr, MPI_Alltoallw(t.send_buffer, sendcounts, sdispls, t.send.data(), c_buffer(recvbuf),
                                recvcounts, rdispls, t.recv.data(), c));
}

STRIDER_FORTRAN(ialltoallw, (void* sendbuf, Fint* sendcounts, Fint* sdispls, Fint* sendtypes,
                             void* recvbuf, Fint* recvcounts, Fint* rdispls, Fint* recvtypes,
                             Fint* comm, Fint* request, Fint* ierr)) {
  const MPI_Comm c = MPI_Comm_f2c(*comm);
  const AllTypes t(c, sendbuf, sendtypes, recvtypes);
  MPI_Request r = MPI_REQUEST_NULL;
  const int rc = MPI_Ialltoallw(t.send_buffer, sendcounts, sdispls, t.send.data(), c_buffer(recvbuf),
                                recvcounts, rdispls, t.recv.data(), c, &r);
  if (rc == MPI_SUCCESS) *request = MPI_Request_c2f(r);
  set_error(ierr, rc);
}

// One datatype per side (MPI_Alltoallv and its kin; the send type is ignored with
// MPI_IN_PLACE, which the C call sees first). `SEND` converts the send buffer: only
// MPI_Alltoallv's may be MPI_IN_PLACE.
#define STRIDER_FORTRAN_V(lower, Upper, SEND)                                                          \
  STRIDER_FORTRAN(lower, (void* sendbuf, Fint* sendcounts, Fint* sdispls, Fint* sendtype, void* recvbuf, \
                          Fint* recvcounts, Fint* rdispls, Fint* recvtype, Fint* comm, Fint* ierr)) {    \
    set_error(ierr, MPI_##Upper(SEND(sendbuf), sendcounts, sdispls, MPI_Type_f2c(*sendtype),             \
                                c_buffer(recvbuf), recvcounts, rdispls, MPI_Type_f2c(*recvtype),         \
                                MPI_Comm_f2c(*comm)));                                                   \
  }
#define STRIDER_FORTRAN_IV(lower, Upper, SEND)                                                         \
  STRIDER_FORTRAN(lower, (void* sendbuf, Fint* sendcounts, Fint* sdispls, Fint* sendtype, void* recvbuf, \
                          Fint* recvcounts, Fint* rdispls, Fint* recvtype, Fint* comm, Fint* request,    \
                          Fint* ierr)) {                                                                 \
    MPI_Request r = MPI_REQUEST_NULL;                                                                    \
    const int rc = MPI_##Upper(SEND(sendbuf), sendcounts, sdispls, MPI_Type_f2c(*sendtype),              \
                               c_buffer(recvbuf), recvcounts, rdispls, MPI_Type_f2c(*recvtype),          \
                               MPI_Comm_f2c(*comm), &r);                                                 \
    if (rc == MPI_SUCCESS) *request = MPI_Request_c2f(r);                                                \
    set_error(ierr, rc);                                                                                 \
  }
STRIDER_FORTRAN_V(alltoallv, Alltoallv, c_send_buffer)
STRIDER_FORTRAN_IV(ialltoallv, Ialltoallv, c_send_buffer)
STRIDER_FORTRAN_V(neighbor_alltoallv, Neighbor_alltoallv, c_buffer)
STRIDER_FORTRAN_IV(ineighbor_alltoallv, Ineighbor_alltoallv, c_buffer)

// A count and displacement per rank on one side, one block on the other. The buffer that may
// be MPI_IN_PLACE at the root (the send buffer of MPI_Gatherv, the receive buffer of
// MPI_Scatterv) is converted with c_send_buffer.
STRIDER_FORTRAN(gatherv, (void* sendbuf, Fint* sendcount, Fint* sendtype, void* recvbuf, Fint* recvcounts,
                          Fint* displs, Fint* recvtype, Fint* root, Fint* comm, Fint* ierr)) {
  set_error(ierr, MPI_Gatherv(c_send_buffer(sendbuf), *sendcount, MPI_Type_f2c(*sendtype), c_buffer(recvbuf),
                              recvcounts, displs, MPI_Type_f2c(*recvtype), *root, MPI_Comm_f2c(*comm)));
}

STRIDER_FORTRAN(igatherv, (void* sendbuf, Fint* sendcount, Fint* sendtype, void* recvbuf, Fint* recvcounts,
                           Fint* displs, Fint* recvtype, Fint* root, Fint* comm, Fint* request, Fint* ierr)) {
  MPI_Request r = MPI_REQUEST_NULL;
  const int rc = MPI_Igatherv(c_send_buffer(sendbuf), *sendcount, MPI_Type_f2c(*sendtype), c_buffer(recvbuf),
                              recvcounts, displs, MPI_Type_f2c(*recvtype), *root, MPI_Comm_f2c(*comm), &r);
  if (rc == MPI_SUCCESS) *request = MPI_Request_c2f(r);
  set_error(ierr, rc);
}

STRIDER_FORTRAN(scatterv, (void* sendbuf, Fint* sendcounts, Fint* displs, Fint* sendtype, void* recvbuf,
                           Fint* recvcount, Fint* recvtype, Fint* root, Fint* comm, Fint* ierr)) {
  set_error(ierr, MPI_Scatterv(c_buffer(sendbuf), sendcounts, displs, MPI_Type_f2c(*sendtype),
                               c_send_buffer(recvbuf), *recvcount, MPI_Type_f2c(*recvtype), *root,
                               MPI_Comm_f2c(*comm)));
}

STRIDER_FORTRAN(iscatterv, (void* sendbuf, Fint* sendcounts, Fint* displs, Fint* sendtype, void* recvbuf,
                            Fint* recvcount, Fint* recvtype, Fint* root, Fint* comm, Fint* request, Fint* ierr)) {
  MPI_Request r = MPI_REQUEST_NULL;
  const int rc = MPI_Iscatterv(c_buffer(sendbuf), sendcounts, displs, MPI_Type_f2c(*sendtype),
                               c_send_buffer(recvbuf), *recvcount, MPI_Type_f2c(*recvtype), *root,
                               MPI_Comm_f2c(*comm), &r);
  if (rc == MPI_SUCCESS) *request = MPI_Request_c2f(r);
  set_error(ierr, rc);
}
