#include "types/decode.hpp"

#include "mpi/calls.hpp"

namespace strider::types {
namespace {

Combiner combiner_of(int mpi_combiner) {
  switch (mpi_combiner) {
    case MPI_COMBINER_DUP: return Combiner::dup;
    case MPI_COMBINER_CONTIGUOUS: return Combiner::contiguous;
    case MPI_COMBINER_VECTOR: return Combiner::vector;
    case MPI_COMBINER_HVECTOR: return Combiner::hvector;
    case MPI_COMBINER_INDEXED: return Combiner::indexed;
    case MPI_COMBINER_HINDEXED: return Combiner::hindexed;
    case MPI_COMBINER_INDEXED_BLOCK: return Combiner::indexed_block;
    case MPI_COMBINER_HINDEXED_BLOCK: return Combiner::hindexed_block;
    case MPI_COMBINER_STRUCT: return Combiner::structure;
    case MPI_COMBINER_SUBARRAY: return Combiner::subarray;
    case MPI_COMBINER_DARRAY: return Combiner::darray;
    case MPI_COMBINER_RESIZED: return Combiner::resized;
    case MPI_COMBINER_F90_REAL: return Combiner::f90_real;
    case MPI_COMBINER_F90_COMPLEX: return Combiner::f90_complex;
    case MPI_COMBINER_F90_INTEGER: return Combiner::f90_integer;
    default: return Combiner::unknown;  // MPI-1 Fortran combiners: not canonicalised
  }
}

std::shared_ptr<TypeIR> decode_node(MPI_Datatype type) {
  auto node = std::make_shared<TypeIR>();
  const mpi::Bounds bounds = mpi::type_bounds(type);
  node->size = bounds.size;
  node->lb = bounds.lb;
  node->extent = bounds.extent;
  node->true_lb = bounds.true_lb;
  node->true_extent = bounds.true_extent;

  const mpi::Envelope envelope = mpi::type_envelope(type);
  if (envelope.combiner == MPI_COMBINER_NAMED) {
    node->combiner = Combiner::named;
    node->name = mpi::type_name(type);
    return node;
  }
  node->combiner = combiner_of(envelope.combiner);
  mpi::Contents contents = mpi::type_contents(type, envelope);
  node->ints.assign(contents.integers.begin(), contents.integers.end());
  node->addresses.assign(contents.addresses.begin(), contents.addresses.end());
  for (MPI_Datatype child : contents.datatypes) node->children.push_back(decode_node(child));
  mpi::free_contents(contents);
  return node;
}

}  // namespace

std::shared_ptr<const TypeIR> decode(MPI_Datatype type) {
  if (type == MPI_DATATYPE_NULL) return nullptr;
  return decode_node(type);
}

}  // namespace strider::types
