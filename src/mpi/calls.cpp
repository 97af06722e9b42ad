#include "mpi/calls.hpp"

#include <mutex>

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

std::int64_t type_size(MPI_Datatype type) {
  MPI_Count size = 0;
  return PMPI_Type_size_x(type, &size) == MPI_SUCCESS ? static_cast<std::int64_t>(size) : -1;
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

MPI_Datatype split_type(int bytes) {
  if (bytes < 2 * kSplitTail) return MPI_DATATYPE_NULL;
  int lengths[2] = {bytes - kSplitTail, kSplitTail};
  MPI_Aint displacements[2] = {0, static_cast<MPI_Aint>(bytes)};
  MPI_Datatype type = MPI_DATATYPE_NULL;
  if (PMPI_Type_create_hindexed(2, lengths, displacements, MPI_PACKED, &type) != MPI_SUCCESS)
    return MPI_DATATYPE_NULL;
  if (next().Type_commit(&type) != MPI_SUCCESS) {
    next().Type_free(&type);
    return MPI_DATATYPE_NULL;
  }
  return type;
}

void free_type(MPI_Datatype* type) {
  if (*type != MPI_DATATYPE_NULL) next().Type_free(type);
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

bool test_cancelled(const MPI_Status& status) {
  int cancelled = 0;
  PMPI_Test_cancelled(&status, &cancelled);
  return cancelled != 0;
}

std::string library_version() {
  char text[MPI_MAX_LIBRARY_VERSION_STRING] = {};
  int length = 0;
  if (PMPI_Get_library_version(text, &length) != MPI_SUCCESS || length < 0) return {};
  return std::string(text, static_cast<std::size_t>(length));
}

bool intra_size_rank(MPI_Comm comm, int* size, int* rank) {
  int inter = 0;
  if (PMPI_Comm_test_inter(comm, &inter) != MPI_SUCCESS || inter) return false;
  return PMPI_Comm_size(comm, size) == MPI_SUCCESS && PMPI_Comm_rank(comm, rank) == MPI_SUCCESS;
}

int collective_peers(MPI_Comm comm) {
  int inter = 0, size = 0;
  if (comm == MPI_COMM_NULL || PMPI_Comm_test_inter(comm, &inter) != MPI_SUCCESS) return 0;
  const int rc = inter ? PMPI_Comm_remote_size(comm, &size) : PMPI_Comm_size(comm, &size);
  return rc == MPI_SUCCESS ? size : 0;
}

bool topology_neighbours(MPI_Comm comm, Neighbours& out) {
  int topology = MPI_UNDEFINED;
  if (PMPI_Topo_test(comm, &topology) != MPI_SUCCESS) return false;
  out.cartesian = topology == MPI_CART;
  if (topology == MPI_CART) {
    int ndims = 0;
    PMPI_Cartdim_get(comm, &ndims);
    for (int d = 0; d < ndims; ++d) {
      int minus = MPI_PROC_NULL, plus = MPI_PROC_NULL;
      PMPI_Cart_shift(comm, d, 1, &minus, &plus);
      out.sources.push_back(minus);
      out.sources.push_back(plus);
    }
    out.destinations = out.sources;
    return true;
  }
  if (topology == MPI_GRAPH) {
    int rank = 0, count = 0;
    PMPI_Comm_rank(comm, &rank);
    PMPI_Graph_neighbors_count(comm, rank, &count);
    out.sources.resize(static_cast<std::size_t>(count));
    PMPI_Graph_neighbors(comm, rank, count, out.sources.data());
    out.destinations = out.sources;
    return true;
  }
  if (topology == MPI_DIST_GRAPH) {
    int indegree = 0, outdegree = 0, weighted = 0;
    PMPI_Dist_graph_neighbors_count(comm, &indegree, &outdegree, &weighted);
    out.sources.resize(static_cast<std::size_t>(indegree));
    out.destinations.resize(static_cast<std::size_t>(outdegree));
    std::vector<int> source_weights(out.sources.size() + 1), destination_weights(out.destinations.size() + 1);
    PMPI_Dist_graph_neighbors(comm, indegree, out.sources.data(), source_weights.data(), outdegree,
                              out.destinations.data(), destination_weights.data());
    return true;
  }
  return false;
}

namespace {
int g_duplicate_keyval = MPI_KEYVAL_INVALID;
std::once_flag g_keyval_once;

int free_duplicate(MPI_Comm, int, void* value, void*) {
  auto* duplicate = static_cast<MPI_Comm*>(value);
  PMPI_Comm_free(duplicate);
  delete duplicate;
  return MPI_SUCCESS;
}
}  // namespace

MPI_Comm private_duplicate(MPI_Comm comm) {
  std::call_once(g_keyval_once, [] {
    PMPI_Comm_create_keyval(MPI_COMM_NULL_COPY_FN, free_duplicate, &g_duplicate_keyval, nullptr);
  });
  if (g_duplicate_keyval == MPI_KEYVAL_INVALID) return MPI_COMM_NULL;
  void* value = nullptr;
  int found = 0;
  if (PMPI_Comm_get_attr(comm, g_duplicate_keyval, &value, &found) != MPI_SUCCESS) return MPI_COMM_NULL;
  if (found != 0) return *static_cast<MPI_Comm*>(value);
  auto* duplicate = new MPI_Comm(MPI_COMM_NULL);
  if (PMPI_Comm_dup(comm, duplicate) != MPI_SUCCESS ||
      PMPI_Comm_set_attr(comm, g_duplicate_keyval, duplicate) != MPI_SUCCESS) {
    if (*duplicate != MPI_COMM_NULL) PMPI_Comm_free(duplicate);
    delete duplicate;
    return MPI_COMM_NULL;
  }
  return *duplicate;
}

}  // namespace strider::mpi
