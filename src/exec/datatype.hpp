#pragma once
// MPI_Type_commit / MPI_Type_free / MPI_Type_dup: the underlying call, plus keeping the type
// cache in step.
#include <mpi.h>

namespace strider::exec {

int type_commit(MPI_Datatype* type);
int type_free(MPI_Datatype* type);
// The MPI standard makes a duplicate of a committed type committed, with no MPI_Type_commit
// call to see, so the duplicate takes its original's Layout here.
int type_dup(MPI_Datatype type, MPI_Datatype* newtype);

}  // namespace strider::exec
