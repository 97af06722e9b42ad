#pragma once
// Calls into the underlying MPI that Strider makes for itself (datatype queries, the oracle
// pack). Calls that Strider also intercepts go to the next MPI (mpi/next.hpp), never back
// into Strider; the rest go to PMPI_* directly.
#include <cstdint>
#include <string>
#include <vector>

#include <mpi.h>

namespace strider::mpi {

struct Envelope {
  int num_integers = 0;
  int num_addresses = 0;
  int num_datatypes = 0;
  int combiner = MPI_COMBINER_NAMED;
};
Envelope type_envelope(MPI_Datatype type);

struct Contents {
  std::vector<int> integers;
  std::vector<MPI_Aint> addresses;
  std::vector<MPI_Datatype> datatypes;
};
// The contents of a derived type. The caller owns the returned handles: release them with
// free_contents (named handles are left alone, as the standard requires).
Contents type_contents(MPI_Datatype type, const Envelope& envelope);
void free_contents(Contents& contents);

struct Bounds {
  std::int64_t size = 0;
  std::int64_t lb = 0;
  std::int64_t extent = 0;
  std::int64_t true_lb = 0;
  std::int64_t true_extent = 0;
};
Bounds type_bounds(MPI_Datatype type);
// The bytes of data in one element of `type` (MPI_Type_size_x); -1 on error.
std::int64_t type_size(MPI_Datatype type);
std::string type_name(MPI_Datatype type);

// The underlying MPI's pack family (the oracle), bypassing Strider.
int pack(const void* inbuf, int incount, MPI_Datatype type, void* outbuf, int outsize,
         int* position, MPI_Comm comm);
int unpack(const void* inbuf, int insize, int* position, void* outbuf, int outcount,
           MPI_Datatype type, MPI_Comm comm);
int pack_size(int incount, MPI_Datatype type, MPI_Comm comm, int* size);

// Split sends (see exec): `bytes` contiguous bytes (bytes >= 2 * kSplitTail) sent as two
// blocks of MPI_PACKED, the first bytes - kSplitTail long at offset 0 and the last kSplitTail
// bytes at offset `bytes`, so that the MPI takes its path for non-contiguous data. The sender
// copies its last kSplitTail bytes kSplitTail further on first; the message carries the same
// bytes, in the same order, as `bytes` MPI_PACKED from offset 0.
inline constexpr int kSplitTail = 64;
// The committed type (MPI_DATATYPE_NULL on failure); free it with free_type.
MPI_Datatype split_type(int bytes);
void free_type(MPI_Datatype* type);

// Whether the underlying MPI can send and receive device memory: MPIX_Query_cuda_support(),
// resolved once with dlsym (absent in MPIs built without the CUDA extension: false). Cached
// after the first call.
bool cuda_aware();

// MPI_Test_cancelled on a completed request's status.
bool test_cancelled(const MPI_Status& status);

// MPI_Get_library_version's text (callable before MPI_Init and after MPI_Finalize).
std::string library_version();

// The neighbours of a communicator with a process topology, in the order the MPI standard
// gives them to neighbourhood collectives: Cartesian, per dimension the -1 then the +1
// neighbour (MPI_PROC_NULL included); graph, MPI_Graph_neighbors; distributed graph, the
// sources and destinations lists. False without a topology (or for an invalid communicator).
struct Neighbours {
  std::vector<int> sources;
  std::vector<int> destinations;
  bool cartesian = false;
};
bool topology_neighbours(MPI_Comm comm, Neighbours& out);

// The size of an intracommunicator and this process's rank in it; false for an
// intercommunicator or an invalid communicator.
bool intra_size_rank(MPI_Comm comm, int* size, int* rank);

// How many processes a collective's per-process arrays cover on `comm`: its size, or for an
// intercommunicator the size of the remote group; 0 for an invalid communicator.
int collective_peers(MPI_Comm comm);

// A private duplicate of `comm` for Strider's own traffic on it, created (collectively) on
// first use, kept as an attribute of `comm` and freed with it; MPI_COMM_NULL on failure.
MPI_Comm private_duplicate(MPI_Comm comm);

}  // namespace strider::mpi
