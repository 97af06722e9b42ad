#pragma once
// MPI_Pack / MPI_Unpack / MPI_Pack_size with the MPI signatures: Strider's engine when the
// datatype has a Layout and the buffers are host memory, else the underlying MPI.
#include <mpi.h>

namespace strider::exec {

int pack(const void* inbuf, int incount, MPI_Datatype type, void* outbuf, int outsize,
         int* position, MPI_Comm comm);
int unpack(const void* inbuf, int insize, int* position, void* outbuf, int outcount,
           MPI_Datatype type, MPI_Comm comm);
int pack_size(int incount, MPI_Datatype type, MPI_Comm comm, int* size);

}  // namespace strider::exec
