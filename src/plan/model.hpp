#pragma once
// The performance model: measured functions of message size (strider-measure writes them as
// one JSON file per system) and the predictions built from them. Pure: plan parses a JSON text
// it is given and never reads files, calls MPI or CUDA; exec/model_load does the IO.
//
// Every table is a curve of seconds against bytes, interpolated piecewise-linearly in
// (log bytes, log seconds). Strided tables hold one curve per (block bytes, density), where
// density = packed bytes / spanned bytes (1/2 for a stride of twice the block); between
// curves they are interpolated in log block and log density, outside them clamped.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/counters.hpp"
#include "memory/classify.hpp"
#include "types/layout.hpp"

namespace strider::plan {

inline constexpr std::string_view kModelSchema = "strider-model";
// Bumped whenever a reader of the previous version would misread the file.
inline constexpr int kModelSchemaVersion = 1;
inline constexpr std::string_view kModelFileName = "model.json";

// Where the peer of a point-to-point message runs.
enum class Locality { intra_node, inter_node };
std::string_view to_string(Locality locality);  // "intra-node" / "inter-node"

// Some systems run the underlying MPI in phases: on the VM this was developed on, Open MPI's
// strided exchange of 4 MiB alternated between about 1.0 and 4.0 ms per exchange for 10-20 s
// at a time, within one process, while Strider's packed exchange moved far less. A point
// measured once records whichever phase it met, so strider-measure measures the exchange
// tables in passes spread over its run and keeps the fastest and the slowest pass; the choice
// then weighs both (see choose); from 512 KiB up, predict also assumes a phase seen at other
// points of about the same size where a point's own passes missed it (StridedTable::slow_factor).
enum class Phase { fast, slow };

struct Point {
  double bytes = 0;    // > 0
  double seconds = 0;  // > 0: median of the repetitions (of the fastest pass when there were several)
  double spread = 0;   // relative interquartile range of the repetitions (informative)
  double slow = 0;     // the slowest pass's median when above `seconds`, else 0 (not seen slower)
  double in(Phase phase) const { return phase == Phase::slow && slow > seconds ? slow : seconds; }
};

// seconds(bytes): piecewise linear in log-log between points; below the first point the
// first time (latency floor), beyond the last the last time scaled with bytes (bandwidth).
// `phase` picks each point's fast or slow time.
struct Curve {
  std::vector<Point> points;  // strictly increasing bytes
  double at(double bytes, Phase phase = Phase::fast) const;
  bool empty() const { return points.empty(); }
  bool has_slow() const;  // some point was measured slower in another pass
};

struct StridedCurve {
  double block = 0;    // contiguous bytes per block
  double density = 0;  // packed bytes / spanned bytes, in (0, 1]
  Curve curve;
};

// A family of strided curves; at() is defined when the family is not empty.
struct StridedTable {
  std::vector<StridedCurve> curves;
  double at(double bytes, double block, double density, Phase phase = Phase::fast) const;
  bool empty() const { return curves.empty(); }
  bool has_slow() const;
  // How much slower the slow phase made messages of about `bytes` (within 4x), wherever it
  // was seen: the median of slow / seconds over those points; 1 where none was seen.
  double slow_factor(double bytes) const;
};

// The point-to-point tables of one peer locality.
struct LocalityTables {
  int nodes = 1;                   // node count of the run that measured them
  Curve contiguous;                // one-way time of a contiguous host message (ping-pong)
  // The underlying MPI with vector types: the time of one exchange (each rank sends one message
  // and receives one at once, as halo exchanges do), which is also what a packed message costs
  // per rank (pack + contiguous transfer + unpack).
  StridedTable native;
  // Strider's host-pack of the same vector types in the same exchanges, measured end to end
  // (pack, transfer, unpack and bookkeeping in the caches they share). Empty in files
  // without it: the host-pack estimate is then composed from the pack tables.
  StridedTable packed;
  std::optional<Curve> device_contiguous;  // device to device, when the MPI is CUDA-aware
  // Exchanges of contiguous host bytes (both ranks send and receive at once with MPI_Sendrecv),
  // sent as they are and as two blocks with a gap between them (exec's split sends), measured
  // side by side over the same sizes. Open MPI's shared-memory transport moves a contiguous
  // message above its eager limit by a single-copy rendezvous, and a non-contiguous one through
  // its copy buffers; on the development VM an exchange of 8 KiB took 5.4 us the first way and
  // 3.4 us the second. Absent in files without them.
  std::optional<Curve> exchange_contiguous, exchange_split;
};

// Device tables (absent on systems measured without a GPU).
struct DeviceTables {
  StridedTable pack_device, unpack_device;  // kernel into / out of device memory
  StridedTable pack_mapped, unpack_mapped;  // kernel into / out of mapped host memory
  Curve host_to_device, device_to_host;
  double launch_seconds = 0;  // kernel launch plus synchronisation
};

struct Fingerprint {
  std::string cpu;                    // /proc/cpuinfo model name
  std::optional<std::string> gpu;     // device name; nullopt: none
  std::optional<std::string> driver;  // driver version; nullopt: none
  std::string mpi;                    // MPI_Get_library_version, first line
  int nodes = 1;                      // most nodes of any run merged into the file
};

// The per-message bookkeeping of a packed host message when the model file does not say
// (files older than the field, the built-in defaults): about what strider-measure finds on a
// current x86 core.
inline constexpr double kDefaultHostMessageSeconds = 0.25e-6;

struct Model {
  bool measured = false;  // false: the built-in defaults
  std::string source;     // the file it came from, or "built-in defaults"
  Fingerprint fingerprint;
  StridedTable host_pack, host_unpack;  // CPU pack into / unpack from contiguous staging
  // Strider's own cost per packed host message, both ends together (staging buffers, request
  // tracking, completion), on top of packing, transfer and unpacking.
  double host_message_seconds = kDefaultHostMessageSeconds;
  std::optional<LocalityTables> intra, inter;
  std::optional<DeviceTables> device;

  // The tables for `locality`, else the other locality's; null only for an invalid model.
  const LocalityTables* tables(Locality locality) const;
};

// Built-in defaults: plausible tables for a shared-memory node whose decisions reproduce the
// policy Strider had before measured models (host-pack when the average block is below ~1 KiB).
const Model& default_model();

// JSON form (the file strider-measure writes). from_json throws std::exception on any error.
nlohmann::json to_json(const Model& model);
Model model_from_json(const nlohmann::json& json);

// Why a file was not used.
enum class ModelIssue { none, missing, empty, corrupt, old_schema, other_machine, invalid };
std::string_view to_string(ModelIssue issue);

struct LoadResult {
  Model model;  // the parsed model, or the defaults when issue != none
  ModelIssue issue = ModelIssue::none;
  std::string message;  // one line for the warning; empty when issue == none
};

// Parses and validates a model file's text (nullopt: there is no file) against this
// machine's fingerprint (`local`: cpu and mpi must match when both are known; a local gpu of
// nullopt is not compared). Never throws; any problem gives the defaults and one message.
LoadResult parse_model(const std::optional<std::string>& text, const Fingerprint& local,
                       std::string_view source);

// True when two fingerprints describe the same machine (cpu and MPI; gpu when both known).
bool same_machine(const Fingerprint& a, const Fingerprint& b);

// The predicted one-way time of each candidate method for `count` elements of `layout`.
struct Estimate {
  core::Method method = core::Method::native;
  double seconds = 0;
  bool available = true;  // false: predicted for information, exec cannot run it here
  double slow_seconds = 0;  // the same in the slow phase (see Phase); == seconds where none was seen
};
struct Prediction {
  std::vector<Estimate> estimates;
  core::Method best = core::Method::native;  // least worst-case regret (see choose); native on ties
  double bytes = 0, average_block = 0, density = 1;
  Locality locality = Locality::intra_node;
  bool fallback_locality = false;  // the locality had no tables; the other one's were used
};
// For host memory, host-pack is chosen only when predicted faster than kNativeMargin times
// the native estimate (see predict).
inline constexpr double kNativeMargin = 0.9;

// The choice among estimates: each available method's regret in a phase is its time over the
// fastest available time in that phase; the method whose larger regret of the two phases is
// least wins. With no slow phase in the tables this is the cheapest method. For host memory
// native's regret is scaled by kNativeMargin first (packing must win clearly), so with one
// phase host-pack wins exactly when it is below kNativeMargin times native.
// An example from the phases above, 4 MiB in 2 KiB blocks: native 1.05 / 4.1 ms, host-pack
// 1.26 / 1.75 ms; native risks 2.3x in the slow phase, host-pack 1.2x in the fast one.
core::Method choose(const std::vector<Estimate>& estimates, bool host_memory);

// Candidates: native and (host memory) host-pack; device, one-shot and staged only when the
// model has device tables and the buffer is device memory (`device_methods`: exec can run
// them). For device memory, native is available only for one contiguous run through a
// CUDA-aware MPI (`cuda_aware`; its strided device sends are not in the tables, and are slow)
// and `device` only with a CUDA-aware MPI and a device_contiguous table. The layout must have
// size > 0 and count > 0.
Prediction predict(const Model& model, const types::Layout& layout, std::int64_t count,
                   Locality locality, memory::Kind memory, bool device_methods, bool cuda_aware = false);

// Whether host-packed messages of `bytes` should leave as two blocks (exec's split sends): the
// model's `exchange_split` table, within its measured sizes, is below kSplitMargin times
// `exchange_contiguous`. False without those tables.
inline constexpr double kSplitMargin = 0.9;
bool split_send(const Model& model, double bytes, Locality locality);

// One line: the message, the competing estimates and the choice.
std::string explain(const Prediction& prediction, const types::Layout& layout, std::int64_t count);

// The model decisions use: installed once by exec after MPI_Init (replacing it clears the
// decision cache); the defaults until then. Thread-safe.
void install_model(std::shared_ptr<const Model> model);
std::shared_ptr<const Model> installed_model();

// Decisions cached per (layout, count, locality, memory kind). `first` is true for exactly
// one caller per distinct decision (the one that made it), so that it is explained once.
struct CachedDecision {
  core::Method method = core::Method::native;
  bool first = false;
  std::string explanation;  // filled when first and `explain` was asked for
};
// Device memory: the device methods are candidates (exec runs them), `cuda_aware` as for
// predict.
CachedDecision decide(const types::Layout& layout, std::int64_t count, Locality locality,
                      memory::Kind memory, bool explain, bool cuda_aware = false);
// Number of cached decisions (tests).
std::size_t cached_decisions();

}  // namespace strider::plan
