#pragma once
// Spec tree (core/spec.hpp) -> MPI datatype handle, built with the underlying MPI's own
// constructors (PMPI_Type_*; none of them is intercepted). Used by tests, tools and benchmarks.
#include <string>
#include <string_view>

#include <mpi.h>

#include "core/spec.hpp"

namespace strider::mpi {

// Creates the datatype `spec` describes; does NOT commit it (Strider intercepts commit, so
// the caller decides whose commit runs). Intermediate handles are freed once the outer type
// holds them. A bare named type yields the predefined handle itself, and f90 types are
// predefined too: release results with free_built_type, never PMPI_Type_free directly.
// Arguments MPI would reject (negative counts, bad subarray starts, darray grids that do not
// multiply to size...) are caught before any MPI call, since Open MPI's default error handler
// aborts: returns MPI_SUCCESS, or an MPI error class with *error (when non-null) saying why.
int build_type(const core::SpecNode& spec, MPI_Datatype* out, std::string* error);

// Frees a handle from build_type unless it is predefined; sets it to MPI_DATATYPE_NULL.
int free_built_type(MPI_Datatype* type);

// True for handles MPI forbids freeing: named types and the f90 parameterised types.
bool is_predefined(MPI_Datatype type);

// The predefined handle for a canonical spec name ("double", "2int"); MPI_DATATYPE_NULL when
// the name is unknown.
MPI_Datatype named_type(std::string_view canonical_name);

}  // namespace strider::mpi
