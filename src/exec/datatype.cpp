#include "exec/datatype.hpp"

#include "mpi/next.hpp"
#include "types/cache.hpp"

namespace strider::exec {

int type_commit(MPI_Datatype* type) {
  const int rc = mpi::next().Type_commit(type);
  if (rc == MPI_SUCCESS) types::type_cache().on_commit(*type);
  return rc;
}

int type_free(MPI_Datatype* type) {
  // Forget first: once freed, Open MPI may hand the same handle to a new type.
  if (type != nullptr) types::type_cache().on_free(*type);
  return mpi::next().Type_free(type);
}

int type_dup(MPI_Datatype type, MPI_Datatype* newtype) {
  const int rc = mpi::next().Type_dup(type, newtype);
  if (rc == MPI_SUCCESS && newtype != nullptr) types::type_cache().on_dup(type, *newtype);
  return rc;
}

}  // namespace strider::exec
