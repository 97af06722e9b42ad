#include "mpi/calls.hpp"

#include <dlfcn.h>

#include "mpi/next.hpp"

namespace strider::mpi {

Envelope type_envelope(MPI_Datatype type) {
  Envelope e;
  PMPI_Type_get_envelope(type, &e.num_integers, &e.num_addresses, &e.num_datatypes, &e.combiner);
  return e;
}

Contents type_contents(MPI_Datatype type, const Envelope& envelope) {
  Contents c;
  c.integers.resize(static_cast<std::size_t>(envelope.num_integers));
  c.addresses.resize(static_cast<std::size_t>(envelope.num_addresses));
  c.datatypes.resize(static_cast<std::size_t>(envelope.num_datatypes));
  PMPI_Type_get_contents(type, envelope.num_integers, envelope.num_addresses,
                         envelope.num_datatypes, c.integers.data(), c.addresses.data(),
                         c.datatypes.data());
  return c;
}

void free_contents(Contents& contents) {
  for (MPI_Datatype& t : contents.datatypes) {
    // The standard forbids freeing predefined handles returned by get_contents.
    if (t == MPI_DATATYPE_NULL || type_envelope(t).combiner == MPI_COMBINER_NAMED) continue;
    PMPI_Type_free(&t);
  }
  contents.datatypes.clear();
}

Bounds type_bounds(MPI_Datatype type) {
  Bounds b;
  MPI_Count size = 0, lb = 0, extent = 0, true_lb = 0, true_extent = 0;
  PMPI_Type_size_x(type, &size);
  PMPI_Type_get_extent_x(type, &lb, &extent);
  PMPI_Type_get_true_extent_x(type, &true_lb, &true_extent);
  b.size = size;
  b.lb = lb;
  b.extent = extent;
  b.true_lb = true_lb;
  b.true_extent = true_extent;
  return b;
}

std::string type_name(MPI_Datatype type) {
  char name[MPI_MAX_OBJECT_NAME] = {};
  int length = 0;
  PMPI_Type_get_name(type, name, &length);
  return std::string(name, static_cast<std::size_t>(length));
}

int pack(const void* inbuf, int incount, MPI_Datatype type, void* outbuf, int outsize,
         int* position, MPI_Comm comm) {
  return next().Pack(inbuf, incount, type, outbuf, outsize, position, comm);
}

int unpack(const void* inbuf, int insize, int* position, void* outbuf, int outcount,
           MPI_Datatype type, MPI_Comm comm) {
  return next().Unpack(inbuf, insize, position, outbuf, outcount, type, comm);
}

int pack_size(int incount, MPI_Datatype type, MPI_Comm comm, int* size) {
  return next().Pack_size(incount, type, comm, size);
}

bool cuda_aware() {
  static const bool value = [] {
    using Query = int (*)();
    void* symbol = dlsym(RTLD_DEFAULT, "MPIX_Query_cuda_support");
    if (symbol == nullptr) return false;
    return reinterpret_cast<Query>(symbol)() != 0;
  }();
  return value;
}

}  // namespace strider::mpi
