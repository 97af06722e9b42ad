#pragma once
// MPI_Type_commit / MPI_Type_free: the underlying call, plus keeping the type cache in step.
#include <mpi.h>

namespace strider::exec {

int type_commit(MPI_Datatype* type);
int type_free(MPI_Datatype* type);

}  // namespace strider::exec
