#include "exec/pack.hpp"

#include "mpi/calls.hpp"

namespace strider::exec {

int pack(const void* inbuf, int incount, MPI_Datatype type, void* outbuf, int outsize,
         int* position, MPI_Comm comm) {
  return mpi::pack(inbuf, incount, type, outbuf, outsize, position, comm);
}

int unpack(const void* inbuf, int insize, int* position, void* outbuf, int outcount,
           MPI_Datatype type, MPI_Comm comm) {
  return mpi::unpack(inbuf, insize, position, outbuf, outcount, type, comm);
}

int pack_size(int incount, MPI_Datatype type, MPI_Comm comm, int* size) {
  return mpi::pack_size(incount, type, comm, size);
}

}  // namespace strider::exec
