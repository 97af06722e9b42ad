// strider-measure: measures this system for Strider's performance model and writes it.
//
//   mpiexec -n 2 strider-measure [--quick | --thorough] [--output FILE] [--dry-run]
//                                [--locality intra-node | inter-node]
//
// Run it once with both ranks on one node (intra-node tables), and again with the two ranks
// on different nodes to merge inter-node tables into the same file. Measures:
//   - host pack / unpack (Strider's CPU engine) over (bytes, block, stride density);
//   - ping-pong of contiguous host messages from 1 B to 64 MiB, and from 1 KiB to 1 MiB
//     exchanges of them sent as they are and as two blocks (exec's split sends);
//   - the underlying MPI with strided vector types across blocks and sizes, in exchanges (both
//     ranks send and receive at once, as in a halo exchange: the MPI's own packing on one side
//     then no longer overlaps its unpacking on the other, which a ping-pong would let it do),
//     and Strider's host-pack path in the same exchanges, end to end;
//   - on a GPU (rank 0's first device): the pack and unpack kernels into and out of device
//     memory and mapped host memory over the same grid as the host engine, copies between
//     device and mapped host memory, and one launch plus synchronisation; with a CUDA-aware
//     MPI and a device on both ranks, ping-pong of contiguous device buffers. Without a GPU
//     the file says "device": null and device messages keep the built-in rule.
// Each point is repeated until its median is stable (or its time budget is spent) and
// stored with its spread. The exchange sweep runs in passes (1 with --quick, 2 by default, 3
// with --thorough), each point's a whole sweep apart: a point keeps its fastest pass's time,
// and its slowest pass's as a slow phase when that is 1.2x or more (see plan::Phase).
// Linked against the static modules and calling PMPI_* for its traffic: it must not run under
// libstrider.so. Writes the file atomically into the cache directory ($STRIDER_CACHE_DIR, else
// $XDG_CACHE_HOME/strider, else ~/.cache/strider).
// Bind the two ranks to distinct cores (Open MPI's default for -n 2; not --bind-to none):
// two busy-polling ranks sharing a core measure the scheduler's time slice, not the MPI.
#include <mpi.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "backend/cpu/pack_cpu.hpp"
#include "backend/cuda/device.hpp"
#include "backend/cuda/device_ops.hpp"
#include "backend/cuda/pack_cuda.hpp"
#include "core/config.hpp"
#include "exec/datatype.hpp"
#include "exec/model_load.hpp"
#include "exec/p2p.hpp"
#include "exec/requests.hpp"
#include "exec/staging.hpp"
#include "memory/pool.hpp"
#include "mpi/calls.hpp"
#include "plan/model.hpp"
#include "types/layout.hpp"

namespace {

namespace exec = strider::exec;
namespace plan = strider::plan;
namespace types = strider::types;
using Clock = std::chrono::steady_clock;
using nlohmann::json;

double now_s() { return std::chrono::duration<double>(Clock::now().time_since_epoch()).count(); }

enum class Mode { quick, normal, thorough };
const char* to_string(Mode m) { return m == Mode::quick ? "quick" : (m == Mode::normal ? "default" : "thorough"); }

struct Settings {
  Mode mode = Mode::normal;
  std::vector<double> pack_sizes, pack_blocks;
  std::vector<double> contiguous_sizes;
  std::vector<double> native_sizes, native_blocks;
  // stride / block: densities 1/2, 1/16 and 1/128 (the faces of a grid a hundred wide,
  // whose blocks lie a row apart, are near the last)
  std::vector<double> multipliers{2, 16, 128};
  double max_span = 0;                     // bytes spanned by one strided buffer
  double max_blocks = 0;                   // blocks per strided message
  int min_samples = 0, max_samples = 0;
  double sample_s = 0;  // target duration of one sample
  double point_s = 0;   // time budget of one point
  double tolerance = 0.02;
  // Passes over the exchange sweep (native and packed), each a whole sweep after the last, so
  // that a machine that runs the MPI in slow and fast phases of seconds shows both (see
  // plan::Phase); quick mode has no time for a second one.
  int passes = 2;
};

std::vector<double> geometric(double from, double to, double factor) {
  std::vector<double> out;
  for (double x = from; x <= to * 1.0000001; x *= factor) out.push_back(std::round(x));
  return out;
}

Settings settings_for(Mode mode) {
  Settings s;
  s.mode = mode;
  switch (mode) {
    case Mode::quick:
      s.pack_sizes = {256, 4096, 65536, 1 << 20, 16 << 20};
      // 2048 as well: Open MPI's own strided send is slower at 2 KiB blocks than at 1 KiB or
      // 4 KiB ones (512 KiB at 1/8 density: 150-180 us against 111 and 62), a dip that
      // interpolating across a wider gap hides.
      s.pack_blocks = {1, 8, 32, 128, 512, 2048, 4096};
      // Every power of two: the MPI's protocol switches (eager to rendezvous near 4 KiB in
      // shared memory) are steps that a coarser grid would smear over a factor of four.
      s.contiguous_sizes = geometric(1, 64 << 20, 2);
      // Dense below 4 KiB and around it: the MPI's eager limit makes a step there that both
      // the native and the packed curves must show where it is.
      s.native_sizes = {256, 1024, 2048, 4096, 16384, 65536, 262144, 1 << 20};
      s.native_blocks = {1, 8, 32, 128, 512, 2048, 4096};
      s.max_span = 256 << 20;
      s.max_blocks = 1 << 20;
      s.min_samples = 5;
      s.max_samples = 9;
      s.sample_s = 1e-4;
      s.point_s = 0.06;
      s.tolerance = 0.05;
      s.passes = 1;
      break;
    case Mode::normal:
      s.pack_sizes = geometric(64, 64 << 20, 4);
      s.pack_blocks = {1, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 32768};
      s.contiguous_sizes = geometric(1, 64 << 20, 2);
      s.native_sizes = geometric(64, 16 << 20, 2);
      s.native_blocks = {1, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 32768};
      s.max_span = 256 << 20;
      s.max_blocks = 4 << 20;
      s.min_samples = 7;
      s.max_samples = 25;
      s.sample_s = 3e-4;
      s.point_s = 0.25;
      break;
    case Mode::thorough:
      s.pack_sizes = geometric(64, 64 << 20, 2);
      s.pack_blocks = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 16384, 65536};
      s.contiguous_sizes = geometric(1, 64 << 20, 2);
      s.native_sizes = geometric(64, 64 << 20, 2);
      s.native_blocks = {1, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 16384, 65536};
      s.multipliers = {2, 4, 16, 64, 256};
      s.max_span = 512 << 20;
      s.max_blocks = 16 << 20;
      s.min_samples = 11;
      s.max_samples = 61;
      s.sample_s = 1e-3;
      s.point_s = 1.0;
      s.passes = 3;
      break;
  }
  return s;
}

// ---- Statistics ---------------------------------------------------------------------------

double quantile(std::vector<double> v, double q) {
  if (v.empty()) return 0;  // rank 1 of a ping-pong keeps no samples
  std::sort(v.begin(), v.end());
  const double at = q * static_cast<double>(v.size() - 1);
  const auto lo = static_cast<std::size_t>(std::floor(at));
  const auto hi = std::min(v.size() - 1, lo + 1);
  return v[lo] + (at - static_cast<double>(lo)) * (v[hi] - v[lo]);
}

struct Sampled {
  double median = 0, spread = 0;
  int samples = 0;
  bool stable = false;
};

// Decides after each sample whether a point needs more: at least min_samples, then until two
// successive medians agree within the tolerance, at most max_samples or the time budget.
class Stopper {
 public:
  // `share`: how many points are sampled in turn with this one (their time counts here too).
  explicit Stopper(const Settings& s, double share = 1) : s_(s), budget_(s.point_s * share), start_(now_s()) {}
  bool more(double sample) {
    samples_.push_back(sample);
    const int n = static_cast<int>(samples_.size());
    const double spent = now_s() - start_;
    // A slow or loaded machine: past four budgets, three samples have to do.
    if (n >= 3 && spent > 4 * budget_) return false;
    if (n < s_.min_samples) return true;
    const double median = quantile(samples_, 0.5);
    if (previous_ > 0 && std::fabs(median - previous_) <= s_.tolerance * previous_) {
      if (++agreeing_ >= 2) stable_ = true;
    } else {
      agreeing_ = 0;
    }
    previous_ = median;
    if (stable_) return false;
    return n < s_.max_samples && spent < budget_;
  }
  Sampled result() const {
    Sampled r;
    r.median = quantile(samples_, 0.5);
    r.spread = r.median > 0 ? (quantile(samples_, 0.75) - quantile(samples_, 0.25)) / r.median : 0;
    r.samples = static_cast<int>(samples_.size());
    r.stable = stable_;
    return r;
  }

 private:
  const Settings& s_;
  double budget_;
  double start_;
  std::vector<double> samples_;
  double previous_ = 0;
  int agreeing_ = 0;
  bool stable_ = false;
};

// ---- Progress -----------------------------------------------------------------------------

class Progress {
 public:
  Progress(double total_weight, bool show) : total_(total_weight), show_(show), start_(now_s()) {}
  void advance(double weight, const std::string& what) {
    done_ += weight;
    if (!show_) return;
    const double t = now_s();
    const bool tty = ::isatty(STDERR_FILENO) != 0;
    if (!tty && t - last_ < 2.0 && done_ < total_) return;
    last_ = t;
    const double elapsed = t - start_;
    const double eta = done_ > 0 ? elapsed * (total_ - done_) / done_ : 0;
    std::fprintf(stderr, "%sstrider-measure: %3.0f%%  %-52s  elapsed %4.0fs  ETA %4.0fs%s", tty ? "\r" : "",
                 100.0 * done_ / total_, what.c_str(), elapsed, std::max(0.0, eta), tty ? "" : "\n");
    std::fflush(stderr);
  }
  void finish() {
    if (show_ && ::isatty(STDERR_FILENO) != 0) std::fputc('\n', stderr);
  }

 private:
  double total_, done_ = 0;
  bool show_;
  double start_, last_ = 0;
};

// Expected relative cost of a point, for the ETA: a fixed part plus its bytes; a ping-pong
// point costs about twice a pack point (two ranks, synchronisation per sample).
double weight(double bytes) { return 1.0 + bytes / (1 << 20); }
constexpr double kPingPongWeight = 2.0;
// Contiguous sizes also exchanged as split sends (exchange_split): from where an
// MPI's eager limit may lie to where its large-message protocols take over.
constexpr double kSplitMin = 1024;
constexpr double kSplitMax = 1 << 20;

// ---- Buffers ------------------------------------------------------------------------------

// Where a large array from malloc, calloc, new or a Fortran ALLOCATE starts: glibc maps it and
// puts its 16-byte header first, so the data sits 16 bytes past a page (and a cache line). The
// strided side of every host table is placed there, as in the applications the model serves:
// line-aligned blocks of 64-128 B unpack up to twice as fast (streamed), and a model measured
// only on aligned buffers overrated packing for the arrays programs actually have (a 2-rank
// exchange of 4 MiB in 128 B blocks at 3x stride: 1.4 ms aligned, 1.8-2.1 ms 16 B off).
constexpr std::size_t kArrayOffset = 16;

struct Buffer {
  std::unique_ptr<unsigned char, decltype(&std::free)> data{nullptr, &std::free};
  std::size_t offset = 0;
  // `offset` bytes past a page boundary, the first of `bytes` usable bytes.
  explicit Buffer(double bytes, std::size_t at = 0) : offset(at) {
    const auto size = static_cast<std::size_t>((std::max(bytes, 1.0) + static_cast<double>(at) + 4095) / 4096) * 4096;
    data.reset(static_cast<unsigned char*>(std::aligned_alloc(4096, size)));
    if (!data) {
      std::fprintf(stderr, "strider-measure: out of memory (%.0f bytes)\n", bytes);
      PMPI_Abort(MPI_COMM_WORLD, 2);
    }
    std::memset(data.get(), 1, size);  // fault every page in before timing
  }
  unsigned char* get() const { return data.get() + offset; }
};

types::Layout strided_layout(std::int64_t bytes, std::int64_t block, std::int64_t stride) {
  types::Layout l;
  const std::int64_t n = bytes / block;
  types::Piece p;
  p.bytes = block;
  if (n > 1) p.dims.push_back({n, stride});
  l.pieces.push_back(p);
  l.size = n * block;
  l.extent = l.true_extent = (n - 1) * stride + block;
  types::normalize(l);
  return l;
}

// ---- The two-rank protocol ----------------------------------------------------------------

struct World {
  int rank = 0, size = 0;
  MPI_Comm pair = MPI_COMM_NULL;  // ranks 0 and 1
};

// Rank 0 decides, rank 1 follows: the value is broadcast outside the timed region.
int agree_int(const World& w, int value) {
  PMPI_Bcast(&value, 1, MPI_INT, 0, w.pair);
  return value;
}

// Repetitions per sample so that a sample lasts about `sample_s`, from the last sample's time
// per repetition; re-estimated after every sample, so a machine that slows down (or a first
// estimate that was too optimistic) cannot make a point run for long.
int repetitions(const Settings& s, double per_call, int cap) {
  return static_cast<int>(std::clamp(s.sample_s / std::max(per_call, 1e-9), 1.0, static_cast<double>(cap)));
}

// Quantile of the round trips within one ping-pong sample that the sample reports.
constexpr double kRoundTripQuantile = 0.25;

// How ranks 0 and 1 move a message: ping-pong (one direction at a time; the time is one
// way, half a round trip) or exchange (both send and receive at once with MPI_Sendrecv, as
// the ranks of a halo exchange do; the time is one exchange).
// packed_exchange: an exchange through Strider's host-pack path (exec::sendrecv with the
// method forced), as a packed message of a halo exchange costs.
// split_exchange: an exchange whose sends are one element of `type` (mpi::split_type of `count`
// bytes) and whose receives are `count` MPI_PACKED bytes, as exec's split sends.
enum class Pattern { ping_pong, exchange, packed_exchange, split_exchange };

// Messages of `type` (count elements) between ranks 0 and 1 in `pattern`; an exchange
// receives into `other`, a buffer as large as `buf`. `config`, when set, is the configuration
// exec runs under while this transfer is timed (packed exchanges force host-pack).
struct Transfer {
  void* buf = nullptr;
  int count = 0;
  MPI_Datatype type = MPI_DATATYPE_NULL;
  Pattern pattern = Pattern::ping_pong;
  void* other = nullptr;
  const strider::core::Config* config = nullptr;
  double per_round() const { return pattern == Pattern::ping_pong ? 0.5 : 1.0; }  // messages each way per round
};

// n rounds of a transfer.
void rounds(const World& w, const Transfer& t, int n) {
  const int peer = 1 - w.rank;
  std::optional<strider::core::Config> saved;
  if (t.config != nullptr) {
    saved = strider::core::config();
    strider::core::set_config_for_testing(*t.config);
  }
  for (int i = 0; i < n; ++i) {
    if (t.pattern == Pattern::exchange) {
      PMPI_Sendrecv(t.buf, t.count, t.type, peer, 7, t.other, t.count, t.type, peer, 7, w.pair, MPI_STATUS_IGNORE);
    } else if (t.pattern == Pattern::packed_exchange) {
      exec::sendrecv(t.buf, t.count, t.type, peer, 7, t.other, t.count, t.type, peer, 7, w.pair, MPI_STATUS_IGNORE);
    } else if (t.pattern == Pattern::split_exchange) {
      PMPI_Sendrecv(t.buf, 1, t.type, peer, 7, t.other, t.count, MPI_PACKED, peer, 7, w.pair, MPI_STATUS_IGNORE);
    } else if (w.rank == 0) {
      PMPI_Send(t.buf, t.count, t.type, peer, 7, w.pair);
      PMPI_Recv(t.buf, t.count, t.type, peer, 7, w.pair, MPI_STATUS_IGNORE);
    } else {
      PMPI_Recv(t.buf, t.count, t.type, peer, 7, w.pair, MPI_STATUS_IGNORE);
      PMPI_Send(t.buf, t.count, t.type, peer, 7, w.pair);
    }
  }
  if (saved) strider::core::set_config_for_testing(*saved);
}

// The time of each transfer (one way for a ping-pong, one exchange otherwise). Several
// transfers are sampled in turn, a sample of each, until each has enough: on a machine whose
// speed comes and goes in phases lasting seconds (the development VM, where both Open MPI's
// strided exchanges and Strider's packed ones ran 3-4x slower for stretches of 5-20 s), two
// methods timed one after the other can each meet a different phase, and their ratio, which
// is what the choice of method rests on, is then off by that factor. Timed in turn, the phases
// hit both alike.
std::vector<Sampled> sample_in_turn(const World& w, const Settings& s, const std::vector<Transfer>& transfers) {
  const std::size_t n = transfers.size();
  // Several round trips per sample (so that its quantile means something) unless they are
  // long enough for a time slice not to matter.
  auto reps = [&](double round_trip) {
    return std::max(round_trip < 2e-3 ? 8 : 1, repetitions(s, round_trip, 10000));
  };
  std::vector<int> inner(n);
  for (std::size_t k = 0; k < n; ++k) {
    rounds(w, transfers[k], 2);  // warm up: connections, registration, caches
    // The fastest of a few round trips estimates one (a slow one was most likely descheduled).
    double fastest = 1e30;
    for (int i = 0; i < 5; ++i) {
      const double t0 = now_s();
      rounds(w, transfers[k], 1);
      fastest = std::min(fastest, now_s() - t0);
    }
    // Rank 0 decides each sample's repetitions (0: stop) and broadcasts them, untimed.
    inner[k] = agree_int(w, reps(fastest));
  }
  // Each transfer gets the time budget of a point of its own.
  std::vector<Stopper> stops(n, Stopper(s, static_cast<double>(n)));
  std::vector<double> each;
  for (bool any = true; any;) {
    any = false;
    for (std::size_t k = 0; k < n; ++k) {
      if (inner[k] == 0) continue;
      PMPI_Barrier(w.pair);
      each.clear();
      for (int i = 0; i < inner[k]; ++i) {
        const double t0 = now_s();
        rounds(w, transfers[k], 1);
        each.push_back(now_s() - t0);
      }
      // The sample is a low quantile of its round trips: on a shared machine a round trip in
      // which either rank was descheduled costs a scheduler time slice, which says nothing
      // about the MPI; those land in the upper quantiles. The point is the median over samples.
      int next = 0;
      const double round_trip = quantile(each, kRoundTripQuantile);
      if (w.rank == 0 && stops[k].more(round_trip * transfers[k].per_round())) next = reps(round_trip);
      inner[k] = agree_int(w, next);
      any = any || inner[k] > 0;
    }
  }
  std::vector<Sampled> out;
  for (const Stopper& stop : stops) out.push_back(stop.result());
  return out;
}

Sampled pingpong(const World& w, const Settings& s, void* buf, int count, MPI_Datatype type,
                 Pattern pattern = Pattern::ping_pong, void* other = nullptr) {
  return sample_in_turn(w, s, {Transfer{buf, count, type, pattern, other}})[0];
}

// Seconds per call of fn, on this rank alone.
Sampled local_timing(const Settings& s, const std::function<void()>& fn) {
  fn();
  double t0 = now_s();
  fn();
  int inner = repetitions(s, now_s() - t0, 100000);
  Stopper stop(s);
  for (;;) {
    t0 = now_s();
    for (int i = 0; i < inner; ++i) fn();
    const double per_call = (now_s() - t0) / inner;
    if (!stop.more(per_call)) break;
    inner = repetitions(s, per_call, 100000);
  }
  return stop.result();
}

void add_point(plan::Curve& c, double bytes, const Sampled& r) { c.points.push_back({bytes, r.median, r.spread, 0}); }

// A pass slower than the fastest by this factor is a slow phase, not noise.
constexpr double kSlowPhase = 1.2;

// Pass `pass` of point `i` of a curve measured in passes: the point keeps the fastest pass's
// time and spread, and the slowest pass's time as its slow time when it is a slow phase.
void add_pass(plan::Curve& c, std::size_t i, int pass, double bytes, const Sampled& r) {
  if (pass == 0) {
    add_point(c, bytes, r);
    return;
  }
  plan::Point& p = c.points.at(i);
  const double slowest = std::max({p.slow, p.seconds, r.median});
  if (r.median < p.seconds) {
    p.seconds = r.median;
    p.spread = r.spread;
  }
  p.slow = slowest >= kSlowPhase * p.seconds ? slowest : 0;
}

// ---- Measurements -------------------------------------------------------------------------

struct Plan {
  struct Strided {
    double block, multiplier;
    std::vector<double> sizes;
  };
  std::vector<Strided> pack, native;
  double weight = 0;
};

Plan make_plan(const Settings& s) {
  Plan p;
  auto strided = [&](const std::vector<double>& blocks, const std::vector<double>& sizes, std::vector<Plan::Strided>& out,
                     double per_byte_weight) {
    for (double mult : s.multipliers)
      for (double block : blocks) {
        Plan::Strided st{block, mult, {}};
        for (double bytes : sizes)
          if (bytes >= block && bytes * mult <= s.max_span && bytes / block <= s.max_blocks) st.sizes.push_back(bytes);
        if (!st.sizes.empty()) out.push_back(st);
        for (double bytes : st.sizes) p.weight += per_byte_weight * weight(bytes);
      }
  };
  strided(s.pack_blocks, s.pack_sizes, p.pack, 2.0);  // pack and unpack
  strided(s.native_blocks, s.native_sizes, p.native, 4 * kPingPongWeight * s.passes);  // native and packed
  for (double bytes : s.contiguous_sizes)
    p.weight += kPingPongWeight * weight(bytes) * (bytes >= kSplitMin && bytes <= kSplitMax ? 3 : 1);
  return p;
}

void measure_pack(const World& w, const Settings& s, const Plan& p, plan::Model& m, Progress& progress) {
  if (w.rank != 0) return;
  double max_span = 0, max_bytes = 0;
  for (const auto& st : p.pack)
    for (double bytes : st.sizes) {
      max_span = std::max(max_span, bytes * st.multiplier);
      max_bytes = std::max(max_bytes, bytes);
    }
  Buffer strided(max_span, kArrayOffset), packed(max_bytes);
  for (const auto& st : p.pack) {
    plan::StridedCurve pack{st.block, 1.0 / st.multiplier, {}}, unpack{st.block, 1.0 / st.multiplier, {}};
    for (double bytes : st.sizes) {
      const auto b = static_cast<std::int64_t>(st.block);
      const types::Layout layout =
          strided_layout(static_cast<std::int64_t>(bytes), b, static_cast<std::int64_t>(st.block * st.multiplier));
      add_point(pack.curve, bytes, local_timing(s, [&] { strider::backend::cpu::pack(layout, 1, strided.get(), packed.get()); }));
      add_point(unpack.curve, bytes,
                local_timing(s, [&] { strider::backend::cpu::unpack(layout, 1, packed.get(), strided.get()); }));
      char what[64];
      std::snprintf(what, sizeof what, "host pack  block %6.0f B, stride x%.0f", st.block, st.multiplier);
      progress.advance(2.0 * weight(bytes), what);
    }
    m.host_pack.curves.push_back(std::move(pack));
    m.host_unpack.curves.push_back(std::move(unpack));
  }
}

// Strider's bookkeeping of one packed host message at each end: a staging buffer taken and
// returned, the request tracked, claimed by a completion call and completed. The handle is a
// stand-in (the table only compares it); a send's completion touches no MPI.
void measure_message_bookkeeping(const World& w, const Settings& s, plan::Model& m) {
  if (w.rank != 0) return;
  int stand_in = 0;
  const auto request = reinterpret_cast<MPI_Request>(&stand_in);
  const Sampled r = local_timing(s, [&] {
    exec::Pending pending;
    pending.kind = exec::Pending::Kind::send;
    pending.staging = exec::acquire_staging(256);
    exec::track(request, std::move(pending));
    const std::uint64_t id = exec::claim(request);
    exec::complete(request, id, MPI_Status{});
  });
  m.host_message_seconds = 2 * r.median;
}

void measure_p2p(const World& w, const Settings& s, const Plan& p, plan::LocalityTables& t, Progress& progress) {
  double max_bytes = 0, max_span = 0;
  for (double bytes : s.contiguous_sizes) max_bytes = std::max(max_bytes, bytes);
  for (const auto& st : p.native)
    for (double bytes : st.sizes) max_span = std::max(max_span, bytes * st.multiplier);
  {
    Buffer buf(max_bytes + strider::mpi::kSplitTail), other(kSplitMax);
    plan::Curve contiguous, split;
    for (double bytes : s.contiguous_sizes) {
      add_point(t.contiguous, bytes, pingpong(w, s, buf.get(), static_cast<int>(bytes), MPI_BYTE));
      // Exchanges of the same bytes contiguous and as split sends, side by side (exec's split
      // sends; see plan::split_send).
      const bool splits = bytes >= kSplitMin && bytes <= kSplitMax;
      MPI_Datatype type = splits ? strider::mpi::split_type(static_cast<int>(bytes)) : MPI_DATATYPE_NULL;
      if (type != MPI_DATATYPE_NULL) {
        const int n = static_cast<int>(bytes);
        // In turn, so that the two forms' ratio holds even when the machine's speed shifts.
        const std::vector<Sampled> r = sample_in_turn(w, s, {Transfer{buf.get(), n, MPI_BYTE, Pattern::exchange, other.get()},
                                                             Transfer{buf.get(), n, type, Pattern::split_exchange, other.get()}});
        add_point(contiguous, bytes, r[0]);
        add_point(split, bytes, r[1]);
        strider::mpi::free_type(&type);
      }
      char what[64];
      std::snprintf(what, sizeof what, "ping-pong contiguous %.0f B", bytes);
      progress.advance(kPingPongWeight * weight(bytes) * (splits ? 3 : 1), what);
    }
    if (!split.empty()) {
      t.exchange_contiguous = std::move(contiguous);
      t.exchange_split = std::move(split);
    }
  }
  Buffer buf(max_span, kArrayOffset), other(max_span, kArrayOffset);
  // Strider's packed exchanges run with host-pack forced, and only here.
  strider::core::Config forced = strider::core::config();
  forced.method = strider::core::MethodChoice::host_pack;
  forced.explain = false;
  // Packed messages leave as split sends exactly where the tables just measured say they
  // should, whatever model file exec loaded at start.
  plan::Model measured;
  measured.intra = t;
  std::vector<plan::StridedCurve> native, packed;
  for (const auto& st : p.native) native.push_back({st.block, 1.0 / st.multiplier, {}});
  packed = native;
  for (int pass = 0; pass < s.passes; ++pass) {
    for (std::size_t c = 0; c < p.native.size(); ++c) {
      const Plan::Strided& st = p.native[c];
      for (std::size_t i = 0; i < st.sizes.size(); ++i) {
        const double bytes = st.sizes[i];
        // Blocks of doubles where they divide evenly (what applications use), else of bytes.
        const bool doubles = static_cast<std::int64_t>(st.block) % 8 == 0;
        const MPI_Datatype element = doubles ? MPI_DOUBLE : MPI_BYTE;
        const int unit = doubles ? 8 : 1;
        const int blocklen = static_cast<int>(st.block) / unit;
        const int n = static_cast<int>(bytes / st.block);
        MPI_Datatype vec = MPI_DATATYPE_NULL;
        PMPI_Type_vector(n, blocklen, static_cast<int>(blocklen * st.multiplier), element, &vec);
        exec::type_commit(&vec);  // the type cache learns its Layout
        // Rank 0 holds the timings (rank 1's samples are empty); both ranks follow it.
        const int split = agree_int(w, plan::split_send(measured, bytes, plan::Locality::intra_node) ? 1 : 0);
        forced.split_send = split != 0 ? strider::core::SplitChoice::on : strider::core::SplitChoice::off;
        // The native and the packed exchange in turn: the choice rests on their ratio.
        const std::vector<Sampled> r =
            sample_in_turn(w, s, {Transfer{buf.get(), 1, vec, Pattern::exchange, other.get()},
                                  Transfer{buf.get(), 1, vec, Pattern::packed_exchange, other.get(), &forced}});
        add_pass(native[c].curve, i, pass, bytes, r[0]);
        add_pass(packed[c].curve, i, pass, bytes, r[1]);
        exec::type_free(&vec);
        char what[80];
        std::snprintf(what, sizeof what, "exchange vector block %.0f B, x%.0f (pass %d of %d)", st.block, st.multiplier,
                      pass + 1, s.passes);
        progress.advance(4 * kPingPongWeight * weight(bytes), what);
      }
    }
  }
  t.native.curves = std::move(native);
  t.packed.curves = std::move(packed);
}

// ---- Device tables -------------------------------------------------------------------------

namespace cuda = strider::backend::cuda;
namespace memory = strider::memory;
using strider::core::Status;

// A buffer from Strider's device or mapped pool, returned when it goes.
struct PoolBuffer {
  memory::StagingBuffer b;
  PoolBuffer() = default;
  PoolBuffer(const PoolBuffer&) = delete;
  PoolBuffer& operator=(const PoolBuffer&) = delete;
  ~PoolBuffer() { memory::release(b); }
};

double device_weight(const Plan& p) {
  double w = 0;
  for (const auto& st : p.pack)
    for (double bytes : st.sizes) w += 4 * weight(bytes);  // four kernels per point
  return w;
}

// Kernel and copy times without the launch and synchronisation the model adds once per
// message end; never below a tenth of what was measured.
plan::Point net_point(double bytes, const Sampled& r, double launch) {
  return {bytes, std::max(r.median - launch, 0.1 * r.median), r.spread};
}

// Rank 0 on `device`: fills m.device, or leaves it empty and says why on any CUDA error.
void measure_device(const Settings& s, const Plan& p, int device, plan::Model& m, Progress& progress) {
  Status so_far;  // the first CUDA error, if any
  auto check = [&](const Status& status, const char* what) {
    if (!status && so_far) so_far = Status(status.code(), std::string(what) + ": " + status.what());
    return static_cast<bool>(so_far);
  };
  const cuda::CurrentDevice current(device);
  void* stream = nullptr;
  double max_span = 0, max_bytes = 0;
  for (const auto& st : p.pack)
    for (double bytes : st.sizes) {
      max_span = std::max(max_span, bytes * st.multiplier);
      max_bytes = std::max(max_bytes, bytes);
    }
  PoolBuffer strided, packed, mapped;
  if (check(current.status(), "select device") && check(cuda::stream_for(device, &stream), "stream") &&
      check(memory::acquire(memory::PoolKind::device, device, static_cast<std::size_t>(max_span), &strided.b), "device memory") &&
      check(memory::acquire(memory::PoolKind::device, device, static_cast<std::size_t>(max_bytes), &packed.b), "device memory") &&
      check(memory::acquire(memory::PoolKind::mapped, device, static_cast<std::size_t>(max_bytes), &mapped.b), "mapped memory")) {
    // Seconds per call of `enqueue` followed by a synchronisation.
    auto timed = [&](const std::function<Status()>& enqueue) {
      return local_timing(s, [&] {
        if (so_far) check(enqueue(), "enqueue");
        if (so_far) check(cuda::synchronize(stream), "synchronize");
      });
    };
    plan::DeviceTables d;
    const types::Layout one = strided_layout(8, 8, 8);
    d.launch_seconds = timed([&] { return cuda::pack(one, 1, strided.b.device_ptr, packed.b.device_ptr, nullptr, stream); }).median;
    for (const auto& st : p.pack) {
      if (!so_far) break;
      const plan::StridedCurve empty{st.block, 1.0 / st.multiplier, {}};
      plan::StridedCurve pack_device = empty, unpack_device = empty, pack_mapped = empty, unpack_mapped = empty;
      for (double bytes : st.sizes) {
        const types::Layout layout = strided_layout(static_cast<std::int64_t>(bytes), static_cast<std::int64_t>(st.block),
                                                    static_cast<std::int64_t>(st.block * st.multiplier));
        void* user = strided.b.device_ptr;
        auto kernel = [&](bool unpack, void* staging) {
          return timed([&] {
            return unpack ? cuda::unpack(layout, 1, staging, user, nullptr, stream)
                          : cuda::pack(layout, 1, user, staging, nullptr, stream);
          });
        };
        pack_device.curve.points.push_back(net_point(bytes, kernel(false, packed.b.device_ptr), d.launch_seconds));
        unpack_device.curve.points.push_back(net_point(bytes, kernel(true, packed.b.device_ptr), d.launch_seconds));
        pack_mapped.curve.points.push_back(net_point(bytes, kernel(false, mapped.b.device_ptr), d.launch_seconds));
        unpack_mapped.curve.points.push_back(net_point(bytes, kernel(true, mapped.b.device_ptr), d.launch_seconds));
        char what[64];
        std::snprintf(what, sizeof what, "device pack block %6.0f B, stride x%.0f", st.block, st.multiplier);
        progress.advance(4 * weight(bytes), what);
      }
      d.pack_device.curves.push_back(std::move(pack_device));
      d.unpack_device.curves.push_back(std::move(unpack_device));
      d.pack_mapped.curves.push_back(std::move(pack_mapped));
      d.unpack_mapped.curves.push_back(std::move(unpack_mapped));
    }
    // The staged method's copies: device staging to and from mapped host staging.
    for (double bytes : s.contiguous_sizes) {
      if (!so_far || bytes > max_bytes) break;
      const auto n = static_cast<std::size_t>(bytes);
      d.device_to_host.points.push_back(net_point(
          bytes, timed([&] { return cuda::copy_async(mapped.b.ptr, packed.b.device_ptr, n, stream); }), d.launch_seconds));
      d.host_to_device.points.push_back(net_point(
          bytes, timed([&] { return cuda::copy_async(packed.b.device_ptr, mapped.b.ptr, n, stream); }), d.launch_seconds));
    }
    if (so_far) m.device = std::move(d);
  }
  if (!so_far)
    std::fprintf(stderr, "strider-measure: no device tables (%s); device messages keep the built-in rule\n",
                 so_far.what().c_str());
}

// One-way time of contiguous device buffers between ranks 0 and 1, when both have a device
// and the MPI is CUDA-aware; nullopt otherwise (decided together, so both ranks take part).
std::optional<plan::Curve> measure_device_pingpong(const World& w, const Settings& s, bool device_tables, Progress& progress) {
  const int devices = cuda::device_count();
  const int device = devices > 0 ? w.rank % devices : -1;
  PoolBuffer buf;
  double max_bytes = 0;
  for (double bytes : s.contiguous_sizes) max_bytes = std::max(max_bytes, bytes);
  int able = device >= 0 && strider::mpi::cuda_aware() && (w.rank != 0 || device_tables) &&
             memory::acquire(memory::PoolKind::device, device, static_cast<std::size_t>(max_bytes), &buf.b).is_ok();
  PMPI_Allreduce(MPI_IN_PLACE, &able, 1, MPI_INT, MPI_MIN, w.pair);
  if (!able) return std::nullopt;
  const cuda::CurrentDevice current(device);
  plan::Curve curve;
  for (double bytes : s.contiguous_sizes) {
    add_point(curve, bytes, pingpong(w, s, buf.b.device_ptr, static_cast<int>(bytes), MPI_BYTE));
    char what[64];
    std::snprintf(what, sizeof what, "ping-pong device %.0f B", bytes);
    progress.advance(0, what);
  }
  return curve;
}

// ---- Output -------------------------------------------------------------------------------

void print_summary(const plan::Model& m, const plan::LocalityTables& t, plan::Locality locality) {
  std::printf("strider-measure: %s tables\n", std::string(plan::to_string(locality)).c_str());
  std::printf("  contiguous ping-pong (one-way): 1 B %.2f us", t.contiguous.at(1) * 1e6);
  const double big = t.contiguous.points.back().bytes;
  std::printf(", %.0f MiB %.2f GB/s\n", big / (1 << 20), big / t.contiguous.at(big) / 1e9);
  if (t.exchange_split) {
    std::printf("  split sends (two blocks) faster than contiguous by %.0f%% or more at:",
                100 * (1 - plan::kSplitMargin));
    int shown = 0;
    for (const plan::Point& p : t.exchange_split->points)
      if (plan::split_send(m, p.bytes, locality)) {
        std::printf(" %.0f", p.bytes);
        ++shown;
      }
    std::printf("%s\n", shown == 0 ? " no size" : " B");
  }
  std::printf("  host-pack bookkeeping per message (both ends): %.3f us\n", m.host_message_seconds * 1e6);
  std::printf("  %-10s %-8s %14s %14s %14s %14s\n", "block", "stride", "pack GB/s", "unpack GB/s", "native GB/s",
              "host-pack GB/s");
  std::size_t points = 0, slow = 0;
  for (const plan::StridedTable* table : {&t.native, &t.packed})
    for (const auto& c : table->curves)
      for (const plan::Point& p : c.curve.points) {
        ++points;
        slow += p.slow > p.seconds ? 1 : 0;
      }
  std::printf("  exchange points with a slow phase (a pass %.1fx slower or more): %zu of %zu\n", kSlowPhase, slow,
              points);
  const double bytes = 1 << 20;
  for (const auto& c : m.host_pack.curves) {
    const double pack = m.host_pack.at(bytes, c.block, c.density);
    const double unpack = m.host_unpack.at(bytes, c.block, c.density);
    const double native = t.native.at(bytes, c.block, c.density);
    const double hp = !t.packed.empty() ? t.packed.at(bytes, c.block, c.density)
                                        : pack + unpack + t.contiguous.at(bytes) + m.host_message_seconds;
    std::printf("  %-10.0f x%-7.0f %14.2f %14.2f %14.2f %14.2f   (1 MiB)\n", c.block, 1.0 / c.density, bytes / pack / 1e9,
                bytes / unpack / 1e9, bytes / native / 1e9, bytes / hp / 1e9);
  }
  if (!m.device) return;
  const plan::DeviceTables& d = *m.device;
  std::printf("  device: launch + synchronisation %.2f us; copies (1 MiB) to host %.2f GB/s, to device %.2f GB/s%s\n",
              d.launch_seconds * 1e6, bytes / d.device_to_host.at(bytes) / 1e9, bytes / d.host_to_device.at(bytes) / 1e9,
              t.device_contiguous ? "; device ping-pong measured" : "");
  std::printf("  %-10s %-8s %14s %14s %14s %14s\n", "block", "stride", "dev pack GB/s", "dev unpack", "mapped pack",
              "mapped unpack");
  for (const auto& c : d.pack_device.curves)
    std::printf("  %-10.0f x%-7.0f %14.2f %14.2f %14.2f %14.2f   (1 MiB)\n", c.block, 1.0 / c.density,
                bytes / d.pack_device.at(bytes, c.block, c.density) / 1e9,
                bytes / d.unpack_device.at(bytes, c.block, c.density) / 1e9,
                bytes / d.pack_mapped.at(bytes, c.block, c.density) / 1e9,
                bytes / d.unpack_mapped.at(bytes, c.block, c.density) / 1e9);
}

int usage(int rank) {
  if (rank == 0)
    std::fprintf(stderr,
                 "usage: mpiexec -n 2 strider-measure [--quick | --thorough] [--output FILE] [--dry-run]\n"
                 "  --quick     fewer points, under 20 s\n"
                 "  --thorough  more blocks, sizes and strides, several minutes\n"
                 "  --output    write (merge into) FILE instead of the cache directory's model.json\n"
                 "  --dry-run   measure and print, write nothing\n"
                 "  --locality  file the tables under this locality instead of the detected one\n"
                 "              (processor names that do not tell nodes apart; tests)\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  PMPI_Init(&argc, &argv);
  const double started = now_s();
  World w;
  PMPI_Comm_rank(MPI_COMM_WORLD, &w.rank);
  PMPI_Comm_size(MPI_COMM_WORLD, &w.size);
  Mode mode = Mode::normal;
  std::string output;
  bool dry_run = false;
  std::string forced_locality;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--quick") {
      mode = Mode::quick;
    } else if (a == "--thorough") {
      mode = Mode::thorough;
    } else if (a == "--output" && i + 1 < argc) {
      output = argv[++i];
    } else if (a == "--dry-run") {
      dry_run = true;
    } else if (a == "--locality" && i + 1 < argc &&
               (std::string_view(argv[i + 1]) == "intra-node" || std::string_view(argv[i + 1]) == "inter-node")) {
      forced_locality = argv[++i];
    } else {
      const int rc = usage(w.rank);
      PMPI_Finalize();
      return rc;
    }
  }
  if (w.size < 2) {
    if (w.rank == 0) std::fprintf(stderr, "strider-measure: needs 2 ranks (mpiexec -n 2 strider-measure)\n");
    PMPI_Finalize();
    return 2;
  }
  // Node count and the locality of ranks 0 and 1, from the processor names.
  char name[MPI_MAX_PROCESSOR_NAME] = {};
  int length = 0;
  PMPI_Get_processor_name(name, &length);
  std::vector<char> names(static_cast<std::size_t>(w.size) * MPI_MAX_PROCESSOR_NAME);
  PMPI_Allgather(name, MPI_MAX_PROCESSOR_NAME, MPI_CHAR, names.data(), MPI_MAX_PROCESSOR_NAME, MPI_CHAR, MPI_COMM_WORLD);
  std::set<std::string> distinct;
  for (int r = 0; r < w.size; ++r) distinct.insert(std::string(&names[static_cast<std::size_t>(r) * MPI_MAX_PROCESSOR_NAME]));
  const int nodes = static_cast<int>(distinct.size());
  const bool same_node = std::string(&names[0]) == std::string(&names[MPI_MAX_PROCESSOR_NAME]);
  const plan::Locality locality = forced_locality.empty()
                                      ? (same_node ? plan::Locality::intra_node : plan::Locality::inter_node)
                                      : (forced_locality == "intra-node" ? plan::Locality::intra_node
                                                                         : plan::Locality::inter_node);
  PMPI_Comm_split(MPI_COMM_WORLD, w.rank < 2 ? 0 : MPI_UNDEFINED, w.rank, &w.pair);

  const Settings s = settings_for(mode);
  const Plan p = make_plan(s);
  plan::Model m;
  m.measured = true;
  m.fingerprint = strider::exec::local_fingerprint();
  m.fingerprint.nodes = nodes;
  const int devices = strider::backend::cuda::device_count();
  if (devices > 0) {
    m.fingerprint.gpu = strider::backend::cuda::device_name(0);
    if (const std::string driver = strider::backend::cuda::driver_version(); !driver.empty()) m.fingerprint.driver = driver;
  }
  plan::LocalityTables tables;
  tables.nodes = nodes;

  if (w.rank == 0)
    std::fprintf(stderr, "strider-measure: %s mode, %d ranks on %d node%s, ranks 0 and 1 %s\n", to_string(mode), w.size,
                 nodes, nodes == 1 ? "" : "s", same_node ? "share a node" : "on different nodes");
  Progress progress(p.weight + (devices > 0 ? device_weight(p) : 0), w.rank == 0);
  if (w.rank < 2) {
    measure_pack(w, s, p, m, progress);
    measure_message_bookkeeping(w, s, m);
    if (w.rank == 0 && devices > 0) measure_device(s, p, 0, m, progress);
    PMPI_Barrier(w.pair);
    measure_p2p(w, s, p, tables, progress);
    tables.device_contiguous = measure_device_pingpong(w, s, m.device.has_value(), progress);
  }
  progress.finish();

  int status = 0;
  if (w.rank == 0) {
    if (locality == plan::Locality::intra_node) {
      m.intra = tables;
    } else {
      m.inter = tables;
    }
    print_summary(m, tables, locality);
    const double seconds = now_s() - started;
    const json run = {{"mode", to_string(mode)}, {"locality", plan::to_string(locality)}, {"nodes", nodes},
                      {"ranks", w.size},         {"seconds", seconds},                  {"time", std::time(nullptr)}};
    const strider::core::Config& config = strider::core::config();
    const std::string path = output.empty() ? strider::exec::model_path(config) : output;
    if (dry_run) {
      std::printf("strider-measure: dry run, nothing written (%.1f s)\n", seconds);
    } else if (path.empty()) {
      std::fprintf(stderr, "strider-measure: no cache directory (set STRIDER_CACHE_DIR or HOME); nothing written\n");
      status = 1;
    } else {
      std::string merged_note;
      const std::string error = strider::exec::update_file_locked(path, [&](const std::optional<std::string>& old) {
        plan::Model out = m;
        json runs = json::array();
        const plan::LoadResult previous = plan::parse_model(old, m.fingerprint, path);
        if (old && previous.issue == plan::ModelIssue::none) {
          // Same machine: keep the other locality's tables, replace what this run measured.
          const plan::Model& prev = previous.model;
          if (locality == plan::Locality::intra_node && prev.inter) out.inter = prev.inter;
          if (locality == plan::Locality::inter_node && prev.intra) out.intra = prev.intra;
          if (!out.device && prev.device) out.device = prev.device;
          out.fingerprint.nodes = std::max(out.fingerprint.nodes, prev.fingerprint.nodes);
          const json old_json = json::parse(*old, nullptr, false);
          if (old_json.is_object() && old_json.contains("runs") && old_json["runs"].is_array()) runs = old_json["runs"];
          merged_note = " (merged with the existing file)";
        } else if (old) {
          merged_note = " (replaced: " + std::string(plan::to_string(previous.issue)) + ")";
        }
        runs.push_back(run);
        json j = plan::to_json(out);
        j["runs"] = runs;
        return j.dump(1) + "\n";
      });
      if (!error.empty()) {
        std::fprintf(stderr, "strider-measure: %s\n", error.c_str());
        status = 1;
      } else {
        std::printf("strider-measure: wrote %s%s in %.1f s\n", path.c_str(), merged_note.c_str(), seconds);
      }
    }
  }
  PMPI_Bcast(&status, 1, MPI_INT, 0, MPI_COMM_WORLD);
  if (w.pair != MPI_COMM_NULL) PMPI_Comm_free(&w.pair);
  PMPI_Finalize();
  return status;
}
