#pragma once
// Datatype handle -> TypeIR, through MPI_Type_get_envelope / MPI_Type_get_contents.
// Every derived handle that MPI_Type_get_contents returns is freed again.
#include <memory>

#include <mpi.h>

#include "types/typeir.hpp"

namespace strider::types {

// Never null for a valid handle; MPI_DATATYPE_NULL gives null.
std::shared_ptr<const TypeIR> decode(MPI_Datatype type);

}  // namespace strider::types
