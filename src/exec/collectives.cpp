#include "exec/collectives.hpp"

#include <climits>
#include <cstdint>
#include <vector>

#include "backend/cpu/pack_cpu.hpp"
#include "core/counters.hpp"
#include "exec/layout_lookup.hpp"
#include "exec/p2p.hpp"
#include "exec/requests.hpp"
#include "exec/staging.hpp"
#include "memory/classify.hpp"
#include "mpi/calls.hpp"
#include "mpi/next.hpp"

namespace strider::exec {
namespace {

// Strider's traffic for a collective must never match the application's own receives
// (MPI_ANY_TAG), so it runs on a private duplicate of the communicator (mpi::private_duplicate).

// Tags of the Strider traffic on the private communicator. On a Cartesian grid a message sent
// towards the +1 neighbour arrives on that rank's -1 side and vice versa; tagging by the
// receiving slot keeps that pairing when both neighbours are the same rank (a periodic
// dimension of one or two ranks), exactly as the underlying MPI pairs them. Graphs pair
// messages between two ranks in posting order, under one tag. MPI_Alltoallw sends at most one
// message each way between two ranks, under a tag of its own. A rank may enter its next
// collective on the communicator while a peer still waits in this one; its new messages
// cannot be taken for this one's, because each collective posts all of its receives before it
// returns and the MPI matches messages from one sender in order.
constexpr int kGraphTag = 0;
constexpr int kAlltoallwTag = 1 << 20;

int cart_recv_tag(std::size_t slot) { return static_cast<int>(slot); }
int cart_send_tag(std::size_t slot) { return static_cast<int>(slot ^ 1U); }

// `base` + `displacement` bytes, computed on integers: with MPI_BOTTOM (a null pointer) the
// displacements are absolute addresses.
char* at(const void* base, MPI_Aint displacement) {
  return reinterpret_cast<char*>(reinterpret_cast<std::uintptr_t>(base) + static_cast<std::uintptr_t>(displacement));
}

// One message of a collective, in the application's terms.
struct Message {
  char* buf;
  int count;
  MPI_Datatype type;
  int peer;
  int tag;
};

// Posts every receive, then every send, through Strider's point-to-point path, and waits for
// all of them. An error stops the posting; what was posted is still waited for.
int exchange(const std::vector<Message>& receives, const std::vector<Message>& sends, MPI_Comm shadow) {
  std::vector<MPI_Request> requests(receives.size() + sends.size(), MPI_REQUEST_NULL);
  int rc = MPI_SUCCESS;
  for (std::size_t i = 0; i < receives.size() && rc == MPI_SUCCESS; ++i) {
    const Message& m = receives[i];
    rc = irecv(m.buf, m.count, m.type, m.peer, m.tag, shadow, &requests[i]);
  }
  for (std::size_t i = 0; i < sends.size() && rc == MPI_SUCCESS; ++i) {
    const Message& m = sends[i];
    rc = isend(m.buf, m.count, m.type, m.peer, m.tag, shadow, &requests[receives.size() + i]);
  }
  const int wait_rc = waitall(static_cast<int>(requests.size()), requests.data(), MPI_STATUSES_IGNORE);
  return rc != MPI_SUCCESS ? rc : wait_rc;
}

// One block of a nonblocking collective: the application's, and where Strider stages it
// (offset -1: not staged, the MPI moves it as given).
struct Block {
  char* buf = nullptr;
  int count = 0;
  MPI_Datatype type = MPI_DATATYPE_NULL;
  int peer = MPI_PROC_NULL;
  bool send = false;
  std::shared_ptr<const types::Layout> layout;
  std::int64_t bytes = 0;
  std::int64_t offset = -1;
  // A staged send block that leaves as two blocks (exec's split sends): one element of this
  // type from its offset, the staging holding mpi::kSplitTail bytes more. Null: `bytes` bytes.
  MPI_Datatype split = MPI_DATATYPE_NULL;
  bool staged() const { return offset >= 0; }
  // How a staged block is handed to the MPI from its offset: `bytes` MPI_BYTE, or one split type.
  int wire_count() const { return split != MPI_DATATYPE_NULL ? 1 : static_cast<int>(bytes); }
  MPI_Datatype wire_type() const { return split != MPI_DATATYPE_NULL ? split : MPI_BYTE; }
};

Block block(char* buf, int count, MPI_Datatype type, int peer, bool send) {
  Block b;
  b.buf = buf;
  b.count = count;
  b.type = type;
  b.peer = peer;
  b.send = send;
  return b;
}

// The staging buffer of a collective: receive blocks from its start, send blocks from
// `send_start`. The two areas never start at the same address: Open MPI 4.1's nonblocking
// MPI_Ialltoallw takes a send buffer equal to the receive buffer for MPI_IN_PLACE.
struct StagingPlan {
  std::int64_t total = 0;  // 0: nothing staged
  std::int64_t send_start = 0;
};

// Which blocks are staged. `block`: those Strider's host path packs, each on its own merit
// (calls that address every block from MPI_BOTTOM, where staged and unstaged blocks mix).
// `side`: per side (send, receive), every block holding data as soon as one of them is worth
// packing, and none when one cannot be (device memory, a type without a Layout, more than
// INT_MAX bytes): the calls whose side is one buffer with int displacements in one unit.
enum class Grouping : std::uint8_t { block, side };

bool holds_data(const Block& b) { return b.count > 0 && b.type != MPI_DATATYPE_NULL && b.peer != MPI_PROC_NULL; }

// Gives every block of side `send` that holds data a Layout and its bytes (Grouping::side);
// false when one of them cannot be staged.
bool stage_whole_side(std::vector<Block>& blocks, bool send) {
  for (Block& b : blocks) {
    if (b.send != send || b.layout || !holds_data(b)) continue;
    const auto& layout = layout_of(b.type);
    if (!layout || memory::classify(b.buf) != memory::Kind::host) return false;
    const std::int64_t bytes = layout->size * b.count;
    if (bytes > INT_MAX) return false;
    if (bytes == 0) continue;
    b.layout = layout;
    b.bytes = bytes;
  }
  return true;
}

// Decides which blocks are staged (see Grouping) and where, and with `split_sends` (calls that
// can name a datatype for each staged send block: MPI_Ialltoallw, MPI_Ineighbor_alltoallw and
// MPI_Gatherv's one send block) which staged send blocks leave as split sends. Receive blocks
// come first in `blocks`.
StagingPlan plan_staging(std::vector<Block>& blocks, Grouping grouping, bool split_sends) {
  bool any[2] = {false, false};  // per side: receive, send
  for (Block& b : blocks) {
    HostPacking hp;
    if (host_packs(b.buf, b.count, b.type, b.peer, hp)) {
      b.layout = hp.layout;
      b.bytes = hp.bytes;
      any[b.send] = true;
    }
  }
  if (grouping == Grouping::side)
    for (const bool send : {false, true})
      if (any[send] && !stage_whole_side(blocks, send)) {
        any[send] = false;
        for (Block& b : blocks)
          if (b.send == send) b.layout.reset();
      }
  if (!any[0] && !any[1]) return {};
  // Each block on a line of its own, and a line between the areas.
  StagingPlan plan;
  for (Block& b : blocks) {
    if (b.send && plan.send_start == 0) plan.total = plan.send_start = plan.total + 64;
    if (!b.layout) continue;
    if (b.send && split_sends) b.split = split_send_type(b.bytes);
    b.offset = plan.total;
    plan.total += (b.bytes + (b.split != MPI_DATATYPE_NULL ? mpi::kSplitTail : 0) + 63) / 64 * 64;
  }
  return plan;
}

// A collective's staging, planned and acquired, its send blocks packed: `recv` and `send` are
// the two areas, null when nothing is staged (then no block is).
struct Staged {
  Staging staging;
  char* recv = nullptr;
  char* send = nullptr;
};

Staged stage(std::vector<Block>& blocks, Grouping grouping, bool split_sends) {
  const StagingPlan plan = plan_staging(blocks, grouping, split_sends);
  Staged s;
  if (plan.total > 0 && plan.total <= INT_MAX) {
    s.staging = acquire_staging(static_cast<std::size_t>(plan.total));
    if (!s.staging) core::counters().count_fallback(core::Fallback::resource);
  }
  if (!s.staging) {
    for (Block& b : blocks) b.offset = -1;
    return s;
  }
  s.recv = static_cast<char*>(s.staging.data);
  s.send = s.recv + plan.send_start;
  for (const Block& b : blocks) {
    if (!b.staged() || !b.send) continue;
    backend::cpu::pack(*b.layout, b.count, b.buf, s.recv + b.offset);
    if (b.split != MPI_DATATYPE_NULL) move_split_tail(s.recv + b.offset, b.bytes);
  }
  return s;
}

// Counts each block with data under the method that moved it.
void count_blocks(const std::vector<Block>& blocks) {
  for (const Block& b : blocks) {
    if (b.staged())
      core::counters().count_method(core::Method::host_pack, static_cast<std::uint64_t>(b.bytes));
    else if (b.count > 0 && b.peer != MPI_PROC_NULL)
      core::counters().count_method(core::Method::native, 0);
  }
}

// Stages and packs the send blocks, posts `post` (the underlying collective, given the staging
// and the entry's CollectiveState) and tracks the request. The entry keeps the staged receive
// blocks, unpacked at completion, and the argument arrays `post` fills: the standard lets the
// MPI read them until completion, and Open MPI 4.1 does (it releases the datatypes it retained
// from them), so they must outlive the call even when nothing is staged, e.g. when they are a
// Fortran binding's converted handles.
template <class Post>
int post_staged(std::vector<Block>& blocks, Grouping grouping, bool split_sends, MPI_Request* request, Post&& post) {
  Staged s = stage(blocks, grouping, split_sends);
  Pending p;
  p.collective = std::make_unique<CollectiveState>();
  const int rc = post(s, *p.collective);
  if (rc != MPI_SUCCESS) {
    release_staging(s.staging);
    return rc;
  }
  p.kind = Pending::Kind::collective;
  p.staging = s.staging;
  for (const Block& b : blocks)
    if (b.staged() && !b.send) p.collective->blocks.push_back({b.layout, b.count, b.buf, b.offset});
  count_blocks(blocks);
  track(*request, std::move(p));
  return rc;
}

// The blocking form: packs, runs `call` (as `post`, without a request), unpacks what arrived.
template <class Call>
int run_staged(std::vector<Block>& blocks, bool split_sends, Call&& call) {
  Staged s = stage(blocks, Grouping::side, split_sends);
  CollectiveState arguments;
  const int rc = call(s, arguments);
  if (rc == MPI_SUCCESS) {
    for (const Block& b : blocks)
      if (b.staged() && !b.send) unpack_received(*b.layout, b.count * b.layout->size, s.recv + b.offset, b.buf);
    count_blocks(blocks);
  }
  release_staging(s.staging);
  return rc;
}

// The blocks of one side of a call whose blocks share one datatype (MPI_Alltoallv and the
// like): block i holds counts[i] elements of `type` at displs[i] extents from `buf`, for
// peers[i]. False for arguments that are the MPI's to report (a null type, a negative count).
bool add_side(std::vector<Block>& blocks, const void* buf, const int counts[], const int displs[],
              MPI_Datatype type, const std::vector<int>& peers, bool send) {
  if (type == MPI_DATATYPE_NULL) return false;
  const std::int64_t extent = mpi::type_bounds(type).extent;
  for (std::size_t i = 0; i < peers.size(); ++i) {
    if (counts[i] < 0) return false;
    blocks.push_back(block(at(buf, static_cast<MPI_Aint>(displs[i] * extent)), counts[i], type, peers[i], send));
  }
  return true;
}

// One side's arguments for the underlying MPI: the application's when no block of the side
// is staged, else the staged blocks as bytes, displaced from the side's staging area `area`
// (written into `counts` and `displs`, which must not reallocate while the MPI may read them).
// A split send block counts one: its caller names its type (ialltoallw).
struct SideArgs {
  const void* buf;
  const int* counts;
  const int* displs;
  MPI_Datatype type;
};

SideArgs side_args(const std::vector<Block>& blocks, bool send, const Staged& s, SideArgs mine,
                   std::vector<int>& counts, std::vector<int>& displs) {
  bool staged = false;
  for (const Block& b : blocks) staged = staged || (b.send == send && b.staged());
  if (!staged) return mine;
  char* const area = send ? s.send : s.recv;
  const std::int64_t area_offset = area - s.recv;  // offsets count from the receive area
  const std::size_t first = counts.size();
  for (const Block& b : blocks) {
    if (b.send != send) continue;
    counts.push_back(b.staged() ? b.wire_count() : 0);
    displs.push_back(b.staged() ? static_cast<int>(b.offset - area_offset) : 0);
  }
  return {area, counts.data() + first, displs.data() + first, MPI_BYTE};
}

}  // namespace

int neighbor_alltoallw(const void* sendbuf, const int sendcounts[], const MPI_Aint sdispls[],
                       const MPI_Datatype sendtypes[], void* recvbuf, const int recvcounts[],
                       const MPI_Aint rdispls[], const MPI_Datatype recvtypes[], MPI_Comm comm) {
  auto native = [&] {
    return mpi::next().Neighbor_alltoallw(sendbuf, sendcounts, sdispls, sendtypes, recvbuf, recvcounts,
                                          rdispls, recvtypes, comm);
  };
  mpi::Neighbours n;
  // Anything unusual (no topology, an invalid communicator) is the underlying MPI's to report.
  if (comm == MPI_COMM_NULL || !mpi::topology_neighbours(comm, n)) return native();
  const MPI_Comm shadow = mpi::private_duplicate(comm);
  if (shadow == MPI_COMM_NULL) return native();

  // Receives and sends each in neighbour order.
  std::vector<Message> receives, sends;
  receives.reserve(n.sources.size());
  sends.reserve(n.destinations.size());
  for (std::size_t i = 0; i < n.sources.size(); ++i)
    receives.push_back({at(recvbuf, rdispls[i]), recvcounts[i], recvtypes[i], n.sources[i],
                        n.cartesian ? cart_recv_tag(i) : kGraphTag});
  for (std::size_t i = 0; i < n.destinations.size(); ++i)
    sends.push_back({at(sendbuf, sdispls[i]), sendcounts[i], sendtypes[i], n.destinations[i],
                     n.cartesian ? cart_send_tag(i) : kGraphTag});
  return exchange(receives, sends, shadow);
}

int alltoallw(const void* sendbuf, const int sendcounts[], const int sdispls[],
              const MPI_Datatype sendtypes[], void* recvbuf, const int recvcounts[],
              const int rdispls[], const MPI_Datatype recvtypes[], MPI_Comm comm) {
  auto native = [&] {
    return mpi::next().Alltoallw(sendbuf, sendcounts, sdispls, sendtypes, recvbuf, recvcounts, rdispls,
                                 recvtypes, comm);
  };
  int size = 0, rank = 0;
  if (comm == MPI_COMM_NULL || sendbuf == MPI_IN_PLACE || !mpi::intra_size_rank(comm, &size, &rank))
    return native();
  // Messages of no data are not sent: the standard makes the bytes sent from i to j equal the
  // bytes j receives from i, so both ends leave such a pair out alike. Negative counts and
  // invalid types are the underlying MPI's to report.
  auto bytes = [](int count, MPI_Datatype type) -> std::int64_t {
    if (count < 0 || type == MPI_DATATYPE_NULL) return -1;
    return count == 0 ? 0 : mpi::type_size(type);
  };
  std::vector<Message> receives, sends;
  // Sends start with the next rank and receives with the previous one, so that the ranks do
  // not all address rank 0 first.
  for (int k = 0; k < size; ++k) {
    const int from = (rank - k + size) % size, to = (rank + k) % size;
    const std::int64_t in = bytes(recvcounts[from], recvtypes[from]);
    const std::int64_t out = bytes(sendcounts[to], sendtypes[to]);
    if (in < 0 || out < 0) return native();
    if (in > 0)
      receives.push_back({at(recvbuf, rdispls[from]), recvcounts[from], recvtypes[from], from,
                          kAlltoallwTag});
    if (out > 0) sends.push_back({at(sendbuf, sdispls[to]), sendcounts[to], sendtypes[to], to, kAlltoallwTag});
  }
  const MPI_Comm shadow = mpi::private_duplicate(comm);
  if (shadow == MPI_COMM_NULL) return native();
  return exchange(receives, sends, shadow);
}

int ineighbor_alltoallw(const void* sendbuf, const int sendcounts[], const MPI_Aint sdispls[],
                        const MPI_Datatype sendtypes[], void* recvbuf, const int recvcounts[],
                        const MPI_Aint rdispls[], const MPI_Datatype recvtypes[], MPI_Comm comm,
                        MPI_Request* request) {
  auto native = [&] {
    return mpi::next().Ineighbor_alltoallw(sendbuf, sendcounts, sdispls, sendtypes, recvbuf, recvcounts, rdispls,
                                           recvtypes, comm, request);
  };
  mpi::Neighbours n;
  if (comm == MPI_COMM_NULL || request == nullptr || !mpi::topology_neighbours(comm, n)) return native();
  std::vector<Block> blocks;
  blocks.reserve(n.sources.size() + n.destinations.size());
  for (std::size_t i = 0; i < n.sources.size(); ++i)
    blocks.push_back(block(at(recvbuf, rdispls[i]), recvcounts[i], recvtypes[i], n.sources[i], false));
  for (std::size_t i = 0; i < n.destinations.size(); ++i)
    blocks.push_back(block(at(sendbuf, sdispls[i]), sendcounts[i], sendtypes[i], n.destinations[i], true));
  // Every block addressed from the staging areas (MPI_Aint displacements reach anywhere), or
  // from the application's buffers when nothing is staged: staged ones as bytes there, the
  // others where and as the application gave them.
  auto post = [&](const Staged& staged, CollectiveState& p) {
    const std::size_t nr = n.sources.size();
    char* const recv_base = staged.recv != nullptr ? staged.recv : static_cast<char*>(recvbuf);
    const char* const send_base = staged.send != nullptr ? staged.send : static_cast<const char*>(sendbuf);
    for (const Block& b : blocks) {
      const char* const area = b.send ? send_base : recv_base;
      const char* const where = b.staged() ? staged.recv + b.offset : b.buf;
      p.counts.push_back(b.staged() ? b.wire_count() : b.count);
      p.types.push_back(b.staged() ? b.wire_type() : b.type);
      p.displs.push_back(static_cast<MPI_Aint>(reinterpret_cast<std::uintptr_t>(where) -
                                               reinterpret_cast<std::uintptr_t>(area)));
    }
    return mpi::next().Ineighbor_alltoallw(send_base, p.counts.data() + nr, p.displs.data() + nr,
                                           p.types.data() + nr, recv_base, p.counts.data(), p.displs.data(),
                                           p.types.data(), comm, request);
  };
  return post_staged(blocks, Grouping::block, true, request, post);
}

int ialltoallw(const void* sendbuf, const int sendcounts[], const int sdispls[],
               const MPI_Datatype sendtypes[], void* recvbuf, const int recvcounts[],
               const int rdispls[], const MPI_Datatype recvtypes[], MPI_Comm comm,
               MPI_Request* request) {
  auto native = [&] {
    return mpi::next().Ialltoallw(sendbuf, sendcounts, sdispls, sendtypes, recvbuf, recvcounts, rdispls, recvtypes,
                                  comm, request);
  };
  int size = 0, rank = 0;
  if (comm == MPI_COMM_NULL || request == nullptr || sendbuf == MPI_IN_PLACE ||
      !mpi::intra_size_rank(comm, &size, &rank))
    return native();
  const auto n = static_cast<std::size_t>(size);
  std::vector<Block> blocks;
  blocks.reserve(2 * n);
  for (int j = 0; j < size; ++j) {
    if (recvcounts[j] < 0 || sendcounts[j] < 0) return native();  // the MPI's error to report
    blocks.push_back(block(at(recvbuf, rdispls[j]), recvcounts[j], recvtypes[j], j, false));
  }
  for (int j = 0; j < size; ++j) blocks.push_back(block(at(sendbuf, sdispls[j]), sendcounts[j], sendtypes[j], j, true));
  // Per side: every block of data staged (bytes at its offset from the side's area), the
  // blocks of none as zero bytes; or, with nothing of the side staged, a copy of the
  // application's arguments (the types may be a Fortran binding's converted handles).
  auto post = [&](const Staged& staged, CollectiveState& p) {
    p.counts.reserve(2 * n);
    p.int_displs.reserve(2 * n);
    p.types.reserve(2 * n);
    auto side = [&](bool send, const void* buf, const int counts[], const int displs[], const MPI_Datatype types[]) {
      const SideArgs args = side_args(blocks, send, staged, {buf, counts, displs, MPI_DATATYPE_NULL}, p.counts,
                                      p.int_displs);
      if (args.type == MPI_BYTE) {
        for (const Block& b : blocks)  // in peer order, as side_args wrote the counts
          if (b.send == send) p.types.push_back(b.staged() ? b.wire_type() : MPI_BYTE);
        return args.buf;
      }
      p.counts.insert(p.counts.end(), counts, counts + n);
      p.int_displs.insert(p.int_displs.end(), displs, displs + n);
      p.types.insert(p.types.end(), types, types + n);
      return buf;
    };
    const void* const recv_area = side(false, recvbuf, recvcounts, rdispls, recvtypes);
    const void* const send_area = side(true, sendbuf, sendcounts, sdispls, sendtypes);
    return mpi::next().Ialltoallw(send_area, p.counts.data() + n, p.int_displs.data() + n, p.types.data() + n,
                                  const_cast<void*>(recv_area), p.counts.data(), p.int_displs.data(), p.types.data(),
                                  comm, request);
  };
  return post_staged(blocks, Grouping::side, true, request, post);
}

namespace {

// The blocks of MPI_Alltoallv or MPI_Neighbor_alltoallv (receives first, then sends), with
// their peers; false when the arguments are the MPI's to judge.
bool v_blocks(std::vector<Block>& blocks, const void* sendbuf, const int sendcounts[], const int sdispls[],
              MPI_Datatype sendtype, void* recvbuf, const int recvcounts[], const int rdispls[],
              MPI_Datatype recvtype, const std::vector<int>& sources, const std::vector<int>& destinations) {
  blocks.reserve(sources.size() + destinations.size());
  return add_side(blocks, recvbuf, recvcounts, rdispls, recvtype, sources, false) &&
         add_side(blocks, sendbuf, sendcounts, sdispls, sendtype, destinations, true);
}

// The peers of an MPI_Alltoallv on an intracommunicator of `size` ranks: all of them, in order.
std::vector<int> all_ranks(int size) {
  std::vector<int> ranks(static_cast<std::size_t>(size));
  for (int j = 0; j < size; ++j) ranks[static_cast<std::size_t>(j)] = j;
  return ranks;
}

// Runs `call` over the staged blocks: blocking when `request` is null, else posted and tracked
// under it. `split_sends`: see plan_staging.
template <class Call>
int staged_call(std::vector<Block>& blocks, bool split_sends, MPI_Request* request, Call&& call) {
  return request == nullptr ? run_staged(blocks, split_sends, call)
                            : post_staged(blocks, Grouping::side, split_sends, request, call);
}

// The collectives below take `fn`, the underlying MPI's call with its buffer arguments (send
// side, then receive side) left to fill: the application's, or a side's staged bytes. The
// nonblocking forms pass their `request` (null for the blocking ones), and go to the MPI when it
// is null. Calls that are not `routable` (in place, an intercommunicator, no topology) and
// arguments that are the MPI's to judge (null types, negative counts, a root out of range) go to
// the MPI as called.

// MPI_Alltoallv and MPI_Neighbor_alltoallv, blocking and not.
template <class Fn>
int v_collective(bool routable, const std::vector<int>& sources, const std::vector<int>& destinations,
                 const void* sendbuf, const int sendcounts[], const int sdispls[], MPI_Datatype sendtype,
                 void* recvbuf, const int recvcounts[], const int rdispls[], MPI_Datatype recvtype,
                 MPI_Request* request, Fn&& fn) {
  std::vector<Block> blocks;
  if (!routable || !v_blocks(blocks, sendbuf, sendcounts, sdispls, sendtype, recvbuf, recvcounts, rdispls, recvtype,
                             sources, destinations))
    return fn(sendbuf, sendcounts, sdispls, sendtype, recvbuf, recvcounts, rdispls, recvtype);
  return staged_call(blocks, false, request, [&](const Staged& staged, CollectiveState& p) {
    p.counts.reserve(blocks.size());  // both sides: the pointers below stay valid
    p.int_displs.reserve(blocks.size());
    const SideArgs r = side_args(blocks, false, staged, {recvbuf, recvcounts, rdispls, recvtype}, p.counts,
                                 p.int_displs);
    const SideArgs s = side_args(blocks, true, staged, {sendbuf, sendcounts, sdispls, sendtype}, p.counts,
                                 p.int_displs);
    return fn(s.buf, s.counts, s.displs, s.type, const_cast<void*>(r.buf), r.counts, r.displs, r.type);
  });
}

// A side that is one block (the send side of MPI_Gatherv, the receive side of MPI_Scatterv):
// the application's (buf, count, type), or its staged bytes.
struct OneArgs {
  const void* buf;
  int count;
  MPI_Datatype type;
};

bool add_one(std::vector<Block>& blocks, const void* buf, int count, MPI_Datatype type, int peer, bool send) {
  if (count < 0 || type == MPI_DATATYPE_NULL) return false;
  blocks.push_back(block(at(buf, 0), count, type, peer, send));
  return true;
}

OneArgs one_args(const std::vector<Block>& blocks, bool send, const Staged& s, OneArgs mine) {
  for (const Block& b : blocks)
    if (b.send == send && b.staged()) return {s.recv + b.offset, b.wire_count(), b.wire_type()};
  return mine;
}

// The size of `comm` and this rank in it, for a collective with a `root`; false when the call
// is the MPI's: a null request of a nonblocking form, an intercommunicator, a root out of range.
bool rooted(MPI_Comm comm, int root, bool nonblocking, MPI_Request* request, int* size, int* rank) {
  return comm != MPI_COMM_NULL && (!nonblocking || request != nullptr) && mpi::intra_size_rank(comm, size, rank) &&
         root >= 0 && root < *size;
}

// MPI_Gatherv, blocking and not: one send block, and at the root a receive block per rank. Not
// in place.
template <class Fn>
int gatherv_collective(const void* sendbuf, int sendcount, MPI_Datatype sendtype, void* recvbuf,
                       const int recvcounts[], const int displs[], MPI_Datatype recvtype, int root, MPI_Comm comm,
                       bool nonblocking, MPI_Request* request, Fn&& fn) {
  int size = 0, rank = 0;
  std::vector<Block> blocks;
  if (sendbuf == MPI_IN_PLACE || !rooted(comm, root, nonblocking, request, &size, &rank) ||
      (rank == root && !add_side(blocks, recvbuf, recvcounts, displs, recvtype, all_ranks(size), false)) ||
      !add_one(blocks, sendbuf, sendcount, sendtype, root, true))
    return fn(sendbuf, sendcount, sendtype, recvbuf, recvcounts, displs, recvtype);
  return staged_call(blocks, true, request, [&](const Staged& staged, CollectiveState& p) {
    p.counts.reserve(blocks.size());
    p.int_displs.reserve(blocks.size());
    const SideArgs r = side_args(blocks, false, staged, {recvbuf, recvcounts, displs, recvtype}, p.counts,
                                 p.int_displs);
    const OneArgs s = one_args(blocks, true, staged, {sendbuf, sendcount, sendtype});
    return fn(s.buf, s.count, s.type, const_cast<void*>(r.buf), r.counts, r.displs, r.type);
  });
}

// MPI_Scatterv, blocking and not: the mirror image (the root's block per rank is the send
// side). Not in place.
template <class Fn>
int scatterv_collective(const void* sendbuf, const int sendcounts[], const int displs[], MPI_Datatype sendtype,
                        void* recvbuf, int recvcount, MPI_Datatype recvtype, int root, MPI_Comm comm,
                        bool nonblocking, MPI_Request* request, Fn&& fn) {
  int size = 0, rank = 0;
  std::vector<Block> blocks;
  if (recvbuf == MPI_IN_PLACE || !rooted(comm, root, nonblocking, request, &size, &rank) ||
      !add_one(blocks, recvbuf, recvcount, recvtype, root, false) ||
      (rank == root && !add_side(blocks, sendbuf, sendcounts, displs, sendtype, all_ranks(size), true)))
    return fn(sendbuf, sendcounts, displs, sendtype, recvbuf, recvcount, recvtype);
  return staged_call(blocks, false, request, [&](const Staged& staged, CollectiveState& p) {
    p.counts.reserve(blocks.size());
    p.int_displs.reserve(blocks.size());
    const OneArgs r = one_args(blocks, false, staged, {recvbuf, recvcount, recvtype});
    const SideArgs s = side_args(blocks, true, staged, {sendbuf, sendcounts, displs, sendtype}, p.counts,
                                 p.int_displs);
    return fn(s.buf, s.counts, s.displs, s.type, const_cast<void*>(r.buf), r.count, r.type);
  });
}

}  // namespace

int alltoallv(const void* sendbuf, const int sendcounts[], const int sdispls[], MPI_Datatype sendtype,
              void* recvbuf, const int recvcounts[], const int rdispls[], MPI_Datatype recvtype, MPI_Comm comm) {
  int size = 0, rank = 0;
  const bool routable = comm != MPI_COMM_NULL && sendbuf != MPI_IN_PLACE && mpi::intra_size_rank(comm, &size, &rank);
  const std::vector<int> peers = all_ranks(size);
  return v_collective(routable, peers, peers, sendbuf, sendcounts, sdispls, sendtype, recvbuf, recvcounts, rdispls,
                      recvtype, nullptr, [&](auto... a) { return mpi::next().Alltoallv(a..., comm); });
}

int ialltoallv(const void* sendbuf, const int sendcounts[], const int sdispls[], MPI_Datatype sendtype,
               void* recvbuf, const int recvcounts[], const int rdispls[], MPI_Datatype recvtype, MPI_Comm comm,
               MPI_Request* request) {
  int size = 0, rank = 0;
  const bool routable = comm != MPI_COMM_NULL && request != nullptr && sendbuf != MPI_IN_PLACE &&
                        mpi::intra_size_rank(comm, &size, &rank);
  const std::vector<int> peers = all_ranks(size);
  return v_collective(routable, peers, peers, sendbuf, sendcounts, sdispls, sendtype, recvbuf, recvcounts, rdispls,
                      recvtype, request, [&](auto... a) { return mpi::next().Ialltoallv(a..., comm, request); });
}

int neighbor_alltoallv(const void* sendbuf, const int sendcounts[], const int sdispls[], MPI_Datatype sendtype,
                       void* recvbuf, const int recvcounts[], const int rdispls[], MPI_Datatype recvtype,
                       MPI_Comm comm) {
  mpi::Neighbours n;
  const bool routable = comm != MPI_COMM_NULL && sendbuf != MPI_IN_PLACE && mpi::topology_neighbours(comm, n);
  return v_collective(routable, n.sources, n.destinations, sendbuf, sendcounts, sdispls, sendtype, recvbuf,
                      recvcounts, rdispls, recvtype, nullptr,
                      [&](auto... a) { return mpi::next().Neighbor_alltoallv(a..., comm); });
}

int ineighbor_alltoallv(const void* sendbuf, const int sendcounts[], const int sdispls[], MPI_Datatype sendtype,
                        void* recvbuf, const int recvcounts[], const int rdispls[], MPI_Datatype recvtype,
                        MPI_Comm comm, MPI_Request* request) {
  mpi::Neighbours n;
  const bool routable = comm != MPI_COMM_NULL && request != nullptr && sendbuf != MPI_IN_PLACE &&
                        mpi::topology_neighbours(comm, n);
  return v_collective(routable, n.sources, n.destinations, sendbuf, sendcounts, sdispls, sendtype, recvbuf,
                      recvcounts, rdispls, recvtype, request,
                      [&](auto... a) { return mpi::next().Ineighbor_alltoallv(a..., comm, request); });
}

int gatherv(const void* sendbuf, int sendcount, MPI_Datatype sendtype, void* recvbuf, const int recvcounts[],
            const int displs[], MPI_Datatype recvtype, int root, MPI_Comm comm) {
  return gatherv_collective(sendbuf, sendcount, sendtype, recvbuf, recvcounts, displs, recvtype, root, comm, false,
                            nullptr, [&](auto... a) { return mpi::next().Gatherv(a..., root, comm); });
}

int igatherv(const void* sendbuf, int sendcount, MPI_Datatype sendtype, void* recvbuf, const int recvcounts[],
             const int displs[], MPI_Datatype recvtype, int root, MPI_Comm comm, MPI_Request* request) {
  return gatherv_collective(sendbuf, sendcount, sendtype, recvbuf, recvcounts, displs, recvtype, root, comm, true,
                            request, [&](auto... a) { return mpi::next().Igatherv(a..., root, comm, request); });
}

int scatterv(const void* sendbuf, const int sendcounts[], const int displs[], MPI_Datatype sendtype, void* recvbuf,
             int recvcount, MPI_Datatype recvtype, int root, MPI_Comm comm) {
  return scatterv_collective(sendbuf, sendcounts, displs, sendtype, recvbuf, recvcount, recvtype, root, comm, false,
                             nullptr, [&](auto... a) { return mpi::next().Scatterv(a..., root, comm); });
}

int iscatterv(const void* sendbuf, const int sendcounts[], const int displs[], MPI_Datatype sendtype, void* recvbuf,
              int recvcount, MPI_Datatype recvtype, int root, MPI_Comm comm, MPI_Request* request) {
  return scatterv_collective(sendbuf, sendcounts, displs, sendtype, recvbuf, recvcount, recvtype, root, comm, true,
                             request, [&](auto... a) { return mpi::next().Iscatterv(a..., root, comm, request); });
}

}  // namespace strider::exec
