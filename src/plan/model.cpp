#include "plan/model.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <mutex>
#include <shared_mutex>
#include <stdexcept>
#include <unordered_map>
#include <utility>

#include <nlohmann/json.hpp>

#include "core/config.hpp"

namespace strider::plan {
namespace {

using nlohmann::json;

// Linear interpolation of log(y) in log(x), with x0 < x < x1 (all positive).
double log_interp(double x, double x0, double x1, double y0, double y1) {
  const double t = (std::log(x) - std::log(x0)) / (std::log(x1) - std::log(x0));
  return std::exp(std::log(y0) + t * (std::log(y1) - std::log(y0)));
}

bool close(double a, double b) { return std::fabs(a - b) <= 1e-9 * std::max(std::fabs(a), std::fabs(b)); }

// Interpolates across the curves of one density, ordered by block.
double at_density(const std::vector<const StridedCurve*>& curves, double bytes, double block, Phase phase) {
  if (block <= curves.front()->block) return curves.front()->curve.at(bytes, phase);
  if (block >= curves.back()->block) return curves.back()->curve.at(bytes, phase);
  std::size_t i = 1;
  while (curves[i]->block < block) ++i;
  const StridedCurve& lo = *curves[i - 1];
  const StridedCurve& hi = *curves[i];
  return log_interp(block, lo.block, hi.block, lo.curve.at(bytes, phase), hi.curve.at(bytes, phase));
}

}  // namespace

std::string_view to_string(Locality locality) {
  return locality == Locality::intra_node ? "intra-node" : "inter-node";
}

double Curve::at(double bytes, Phase phase) const {
  if (points.empty()) return 0;
  const Point& first = points.front();
  const Point& last = points.back();
  if (bytes <= first.bytes) return first.in(phase);
  if (bytes >= last.bytes) return last.in(phase) * (bytes / last.bytes);
  const auto hi = std::upper_bound(points.begin(), points.end(), bytes,
                                   [](double b, const Point& p) { return b < p.bytes; });
  const auto lo = hi - 1;
  return log_interp(bytes, lo->bytes, hi->bytes, lo->in(phase), hi->in(phase));
}

bool Curve::has_slow() const {
  return std::any_of(points.begin(), points.end(), [](const Point& p) { return p.slow > p.seconds; });
}

bool StridedTable::has_slow() const {
  return std::any_of(curves.begin(), curves.end(), [](const StridedCurve& c) { return c.curve.has_slow(); });
}

double StridedTable::slow_factor(double bytes) const {
  std::vector<double> factors;
  for (const StridedCurve& c : curves)
    for (const Point& p : c.curve.points)
      if (p.slow > p.seconds && p.bytes >= bytes / 4 && p.bytes <= bytes * 4) factors.push_back(p.slow / p.seconds);
  if (factors.empty()) return 1;
  const auto mid = factors.begin() + static_cast<std::ptrdiff_t>(factors.size() / 2);
  std::nth_element(factors.begin(), mid, factors.end());
  return *mid;
}

double StridedTable::at(double bytes, double block, double density, Phase phase) const {
  if (curves.empty()) return 0;
  // Distinct densities, ascending; for each, its curves by ascending block.
  std::vector<double> densities;
  for (const auto& c : curves)
    if (std::none_of(densities.begin(), densities.end(), [&](double d) { return close(d, c.density); }))
      densities.push_back(c.density);
  std::sort(densities.begin(), densities.end());
  auto family = [&](double d) {
    std::vector<const StridedCurve*> out;
    for (const auto& c : curves)
      if (close(c.density, d)) out.push_back(&c);
    std::sort(out.begin(), out.end(), [](const StridedCurve* a, const StridedCurve* b) { return a->block < b->block; });
    return out;
  };
  if (density <= densities.front()) return at_density(family(densities.front()), bytes, block, phase);
  if (density >= densities.back()) return at_density(family(densities.back()), bytes, block, phase);
  std::size_t i = 1;
  while (densities[i] < density) ++i;
  const double d0 = densities[i - 1];
  const double d1 = densities[i];
  return log_interp(density, d0, d1, at_density(family(d0), bytes, block, phase),
                    at_density(family(d1), bytes, block, phase));
}

const LocalityTables* Model::tables(Locality locality) const {
  const std::optional<LocalityTables>& want = locality == Locality::intra_node ? intra : inter;
  const std::optional<LocalityTables>& other = locality == Locality::intra_node ? inter : intra;
  if (want) return &*want;
  if (other) return &*other;
  return nullptr;
}

// ---- Built-in defaults --------------------------------------------------------------------

namespace {

// The shapes of the defaults (seconds): a shared-memory transport with 1 us latency and
// 8 GB/s; a CPU pack at 10 GB/s for blocks of 64 B and more, slower for smaller blocks and
// sparser strides; an underlying MPI that pays 100 ns per block on top of the transfer.
// With these, host-pack wins below an average block of about 1 KiB, the policy Strider used
// before it had measured models.
double default_contiguous(double bytes) { return 1e-6 + bytes / 8e9; }
double default_pack(double bytes, double block, double density) {
  const double bw = 10e9 * std::sqrt(std::min(1.0, block / 64.0)) * (density < 0.25 ? 0.7 : 1.0);
  return 2e-8 + bytes / bw;
}
double default_native(double bytes, double block) { return default_contiguous(bytes) + (bytes / block) * 1e-7 + bytes / 10e9; }

Model make_default_model() {
  Model m;
  m.measured = false;
  m.source = "built-in defaults";
  const std::vector<double> sizes = {64, 1024, 16384, 262144, 4194304, 67108864};
  const std::vector<double> blocks = {8, 64, 512, 4096, 32768};
  LocalityTables intra;
  for (double b : sizes) intra.contiguous.points.push_back({b, default_contiguous(b), 0});
  for (double density : {1.0 / 16.0, 0.5}) {
    for (double block : blocks) {
      StridedCurve pack{block, density, {}}, native{block, density, {}};
      for (double b : sizes) {
        if (b < block) continue;
        pack.curve.points.push_back({b, default_pack(b, block, density), 0});
        native.curve.points.push_back({b, default_native(b, block), 0});
      }
      m.host_pack.curves.push_back(pack);
      m.host_unpack.curves.push_back(pack);
      intra.native.curves.push_back(native);
    }
  }
  m.intra = std::move(intra);
  return m;
}

// ---- JSON ---------------------------------------------------------------------------------

json curve_json(const Curve& c) {
  json out = json::array();
  for (const Point& p : c.points) {
    json point = {{"bytes", p.bytes}, {"seconds", p.seconds}, {"spread", p.spread}};
    if (p.slow > p.seconds) point["slow"] = p.slow;  // optional: readers without it use seconds
    out.push_back(std::move(point));
  }
  return out;
}

json strided_json(const StridedTable& t) {
  json out = json::array();
  for (const StridedCurve& c : t.curves)
    out.push_back({{"block", c.block}, {"density", c.density}, {"points", curve_json(c.curve)}});
  return out;
}

[[noreturn]] void fail(const std::string& what) { throw std::runtime_error(what); }

Curve curve_from(const json& j, const std::string& where) {
  if (!j.is_array() || j.empty()) fail(where + ": expected a non-empty array of points");
  Curve c;
  for (const json& p : j) {
    if (!p.is_object()) fail(where + ": a point is not an object");
    Point pt;
    pt.bytes = p.at("bytes").get<double>();
    pt.seconds = p.at("seconds").get<double>();
    pt.spread = p.value("spread", 0.0);
    pt.slow = p.value("slow", 0.0);
    if (!(std::isfinite(pt.bytes) && pt.bytes > 0 && std::isfinite(pt.seconds) && pt.seconds > 0))
      fail(where + ": bytes and seconds must be positive and finite");
    if (!(std::isfinite(pt.slow) && pt.slow >= 0)) fail(where + ": slow must be positive and finite");
    if (!c.points.empty() && !(pt.bytes > c.points.back().bytes)) fail(where + ": bytes must increase");
    c.points.push_back(pt);
  }
  return c;
}

StridedTable strided_from(const json& j, const std::string& where) {
  if (!j.is_array() || j.empty()) fail(where + ": expected a non-empty array of curves");
  StridedTable t;
  for (const json& c : j) {
    StridedCurve sc;
    sc.block = c.at("block").get<double>();
    sc.density = c.at("density").get<double>();
    if (!(std::isfinite(sc.block) && sc.block > 0)) fail(where + ": block must be positive");
    if (!(std::isfinite(sc.density) && sc.density > 0 && sc.density <= 1)) fail(where + ": density must be in (0, 1]");
    sc.curve = curve_from(c.at("points"), where);
    t.curves.push_back(std::move(sc));
  }
  return t;
}

std::optional<std::string> optional_string(const json& j, const char* key) {
  const auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::nullopt;
  return it->get<std::string>();
}

LocalityTables locality_from(const json& j, const std::string& where) {
  LocalityTables t;
  t.nodes = j.value("nodes", 1);
  t.contiguous = curve_from(j.at("contiguous"), where + ".contiguous");
  t.native = strided_from(j.at("native"), where + ".native");
  const auto packed = j.find("packed");
  if (packed != j.end() && !packed->is_null()) t.packed = strided_from(*packed, where + ".packed");
  const auto dc = j.find("device_contiguous");
  if (dc != j.end() && !dc->is_null()) t.device_contiguous = curve_from(*dc, where + ".device_contiguous");
  for (auto [key, curve] : {std::pair{"exchange_contiguous", &t.exchange_contiguous},
                            std::pair{"exchange_split", &t.exchange_split}}) {
    const auto it = j.find(key);
    if (it != j.end() && !it->is_null()) *curve = curve_from(*it, where + "." + key);
  }
  return t;
}

json locality_json(const LocalityTables& t) {
  return {{"nodes", t.nodes},
          {"contiguous", curve_json(t.contiguous)},
          {"native", strided_json(t.native)},
          {"packed", t.packed.empty() ? json(nullptr) : strided_json(t.packed)},
          {"device_contiguous", t.device_contiguous ? curve_json(*t.device_contiguous) : json(nullptr)},
          {"exchange_contiguous", t.exchange_contiguous ? curve_json(*t.exchange_contiguous) : json(nullptr)},
          {"exchange_split", t.exchange_split ? curve_json(*t.exchange_split) : json(nullptr)}};
}

std::string first_line(std::string_view text) {
  const auto end = text.find_first_of("\r\n");
  std::string line(text.substr(0, end));
  while (!line.empty() && (line.back() == ' ' || line.back() == '\t')) line.pop_back();
  return line;
}

}  // namespace

const Model& default_model() {
  static const Model* model = new Model(make_default_model());
  return *model;
}

json to_json(const Model& m) {
  json p2p = json::object();
  if (m.intra) p2p[std::string(to_string(Locality::intra_node))] = locality_json(*m.intra);
  if (m.inter) p2p[std::string(to_string(Locality::inter_node))] = locality_json(*m.inter);
  json device = nullptr;
  if (m.device) {
    const DeviceTables& d = *m.device;
    device = {{"pack_device", strided_json(d.pack_device)},     {"unpack_device", strided_json(d.unpack_device)},
              {"pack_mapped", strided_json(d.pack_mapped)},     {"unpack_mapped", strided_json(d.unpack_mapped)},
              {"host_to_device", curve_json(d.host_to_device)}, {"device_to_host", curve_json(d.device_to_host)},
              {"launch_seconds", d.launch_seconds}};
  }
  const Fingerprint& f = m.fingerprint;
  return {{"schema", kModelSchema},
          {"schema_version", kModelSchemaVersion},
          {"fingerprint",
           {{"cpu", f.cpu},
            {"gpu", f.gpu ? json(*f.gpu) : json(nullptr)},
            {"driver", f.driver ? json(*f.driver) : json(nullptr)},
            {"mpi", f.mpi},
            {"nodes", f.nodes}}},
          {"host",
           {{"pack", strided_json(m.host_pack)},
            {"unpack", strided_json(m.host_unpack)},
            {"message_seconds", m.host_message_seconds}}},
          {"device", device},
          {"p2p", p2p}};
}

Model model_from_json(const json& j) {
  if (!j.is_object()) fail("the top level is not an object");
  Model m;
  m.measured = true;
  const json& f = j.at("fingerprint");
  m.fingerprint.cpu = f.at("cpu").get<std::string>();
  m.fingerprint.gpu = optional_string(f, "gpu");
  m.fingerprint.driver = optional_string(f, "driver");
  m.fingerprint.mpi = f.at("mpi").get<std::string>();
  m.fingerprint.nodes = f.value("nodes", 1);
  const json& host = j.at("host");
  m.host_pack = strided_from(host.at("pack"), "host.pack");
  m.host_unpack = strided_from(host.at("unpack"), "host.unpack");
  m.host_message_seconds = host.value("message_seconds", kDefaultHostMessageSeconds);
  if (!(m.host_message_seconds >= 0 && m.host_message_seconds < 1e-3))
    fail("host.message_seconds is not a plausible time");
  const json& p2p = j.at("p2p");
  const auto intra = p2p.find(std::string(to_string(Locality::intra_node)));
  const auto inter = p2p.find(std::string(to_string(Locality::inter_node)));
  if (intra != p2p.end()) m.intra = locality_from(*intra, "p2p.intra-node");
  if (inter != p2p.end()) m.inter = locality_from(*inter, "p2p.inter-node");
  if (!m.intra && !m.inter) fail("p2p has neither intra-node nor inter-node tables");
  const auto device = j.find("device");
  if (device != j.end() && !device->is_null()) {
    DeviceTables d;
    d.pack_device = strided_from(device->at("pack_device"), "device.pack_device");
    d.unpack_device = strided_from(device->at("unpack_device"), "device.unpack_device");
    d.pack_mapped = strided_from(device->at("pack_mapped"), "device.pack_mapped");
    d.unpack_mapped = strided_from(device->at("unpack_mapped"), "device.unpack_mapped");
    d.host_to_device = curve_from(device->at("host_to_device"), "device.host_to_device");
    d.device_to_host = curve_from(device->at("device_to_host"), "device.device_to_host");
    d.launch_seconds = device->at("launch_seconds").get<double>();
    if (!(std::isfinite(d.launch_seconds) && d.launch_seconds >= 0)) fail("device.launch_seconds is invalid");
    m.device = std::move(d);
  }
  return m;
}

std::string_view to_string(ModelIssue issue) {
  switch (issue) {
    case ModelIssue::none: return "none";
    case ModelIssue::missing: return "missing";
    case ModelIssue::empty: return "empty";
    case ModelIssue::corrupt: return "corrupt";
    case ModelIssue::old_schema: return "old-schema";
    case ModelIssue::other_machine: return "other-machine";
    case ModelIssue::invalid: return "invalid";
  }
  return "?";
}

bool same_machine(const Fingerprint& a, const Fingerprint& b) {
  if (a.cpu != b.cpu) return false;
  if (first_line(a.mpi) != first_line(b.mpi)) return false;
  if (a.gpu && b.gpu && *a.gpu != *b.gpu) return false;
  return true;
}

LoadResult parse_model(const std::optional<std::string>& text, const Fingerprint& local, std::string_view source) {
  LoadResult result;
  const std::string where(source);
  auto defaults = [&](ModelIssue issue, const std::string& why) {
    result.model = default_model();
    result.issue = issue;
    result.message = "performance model " + where + " " + why + "; using the built-in defaults";
    return result;
  };
  if (!text) return defaults(ModelIssue::missing, "not found (run strider-measure to create it)");
  if (text->find_first_not_of(" \t\r\n") == std::string::npos) return defaults(ModelIssue::empty, "is empty");
  json j = json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return defaults(ModelIssue::corrupt, "is corrupt or truncated (not valid JSON)");
  if (!j.is_object() || j.value("schema", std::string()) != kModelSchema)
    return defaults(ModelIssue::invalid, "is not a Strider model file");
  const auto version = j.find("schema_version");
  if (version == j.end() || !version->is_number_integer())
    return defaults(ModelIssue::invalid, "has no schema_version");
  if (version->get<long long>() != kModelSchemaVersion)
    return defaults(ModelIssue::old_schema, "has schema version " + std::to_string(version->get<long long>()) +
                                                ", this Strider reads version " +
                                                std::to_string(kModelSchemaVersion) + " (re-run strider-measure)");
  Model model;
  try {
    model = model_from_json(j);
  } catch (const std::exception& e) {
    return defaults(ModelIssue::invalid, std::string("is invalid: ") + e.what());
  }
  const Fingerprint& f = model.fingerprint;
  if (!local.cpu.empty() && f.cpu != local.cpu)
    return defaults(ModelIssue::other_machine, "was measured on another CPU ('" + f.cpu + "', this is '" + local.cpu +
                                                   "'; re-run strider-measure)");
  if (!local.mpi.empty() && first_line(f.mpi) != first_line(local.mpi))
    return defaults(ModelIssue::other_machine, "was measured with another MPI ('" + first_line(f.mpi) +
                                                   "', this is '" + first_line(local.mpi) +
                                                   "'; re-run strider-measure)");
  if (local.gpu && f.gpu && *local.gpu != *f.gpu)
    return defaults(ModelIssue::other_machine,
                    "was measured with another GPU ('" + *f.gpu + "', this is '" + *local.gpu + "')");
  model.source = where;
  result.model = std::move(model);
  return result;
}

// ---- Prediction ---------------------------------------------------------------------------

namespace {

// The slow-phase time of a message of `bytes` from `table`: what its own points saw (`seen`),
// and from kInferSlowFrom up at least its fast time scaled by the table's slow_factor there.
// A slow phase is a spell of the machine, not a property of one point: a pass that met it
// recorded it for the points it measured then and not for the others. Large messages are where
// it differs most between the methods (on the development VM native exchanges of 512 KiB and
// more ran 2.4-6x slower in it, packed ones 1.2-2.6x), so an unlucky point there must not read
// as immune. Replaying the model checks of 19 measurements (bench/model_check --replay with
// each run's model file; its sweep has 2 KiB, 32 KiB, 512 KiB and 4 MiB messages): worst
// regret at or below 1.5 in 17 runs against 13 without the rule: 2.47 -> 1.18, 2.93 -> 1.12
// and 2.80 -> 1.44 where the check met a phase the measurement had not seen at that point;
// 2.91 -> 2.22, 1.56 -> 1.42, 1.36 -> 1.21; one run worse, 1.29 -> 1.41, where the hedge paid
// its price in the fast phase. Applied to 32 KiB messages too, it flipped them to host-pack
// at up to 1.63x regret in the fast phase. The threshold was chosen on these runs: 15 from
// before the rule, and 4 measured with it at 1 MiB, which scored 1.40, 1.44, 1.56 and 1.41
// (re-scored at 512 KiB: 1.40, 1.44, 1.42, 1.41).
constexpr double kInferSlowFrom = 512 * 1024;  // bytes
double slow_estimate(const StridedTable& table, double bytes, double fast, double seen) {
  if (bytes < kInferSlowFrom) return seen;
  return std::max(seen, fast * table.slow_factor(bytes));
}

}  // namespace

Prediction predict(const Model& model, const types::Layout& layout, std::int64_t count, Locality locality,
                   memory::Kind memory, bool device_methods, bool cuda_aware) {
  Prediction p;
  p.locality = locality;
  const double n = static_cast<double>(count);
  p.bytes = static_cast<double>(layout.size) * n;
  const double blocks = std::max(1.0, static_cast<double>(layout.block_count()) * n);
  p.average_block = p.bytes / blocks;
  // Spanned bytes of `count` elements: the density tells how many cache lines the strided
  // side touches per packed byte.
  const double span = static_cast<double>(std::max<std::int64_t>(layout.true_extent, layout.size)) +
                      (n - 1) * std::fabs(static_cast<double>(layout.extent));
  p.density = std::clamp(span > 0 ? p.bytes / span : 1.0, 1.0 / 1024, 1.0);

  const LocalityTables* tables = model.tables(locality);
  const Model& src = tables != nullptr ? model : default_model();
  if (tables == nullptr) tables = default_model().tables(locality);
  p.fallback_locality = (locality == Locality::intra_node ? !src.intra : !src.inter);

  const double transfer = tables->contiguous.at(p.bytes);
  // One contiguous run is a contiguous message for the underlying MPI too.
  const bool one_run = p.average_block >= p.bytes;
  const bool device_memory = memory == memory::Kind::device;
  {
    const bool strided = !one_run && !tables->native.empty();
    const auto native = [&](Phase phase) {
      return strided ? tables->native.at(p.bytes, p.average_block, p.density, phase) : transfer;
    };
    const double fast = native(Phase::fast);
    const double slow = strided ? slow_estimate(tables->native, p.bytes, fast, native(Phase::slow)) : fast;
    p.estimates.push_back({core::Method::native, fast, !device_memory || (cuda_aware && one_run), slow});
  }
  if (memory == memory::Kind::host) {
    const double composed = src.host_pack.at(p.bytes, p.average_block, p.density) + transfer +
                            src.host_unpack.at(p.bytes, p.average_block, p.density) + src.host_message_seconds;
    const auto host_pack = [&](Phase phase) {
      return !tables->packed.empty() ? tables->packed.at(p.bytes, p.average_block, p.density, phase) : composed;
    };
    const double fast = host_pack(Phase::fast);
    const double slow = tables->packed.empty() ? fast : slow_estimate(tables->packed, p.bytes, fast, host_pack(Phase::slow));
    p.estimates.push_back({core::Method::host_pack, fast, true, slow});
  } else if (src.device) {
    const DeviceTables& d = *src.device;
    const double launches = 2 * d.launch_seconds;
    const double kernels = d.pack_device.at(p.bytes, p.average_block, p.density) +
                           d.unpack_device.at(p.bytes, p.average_block, p.density);
    if (tables->device_contiguous)
      p.estimates.push_back(
          {core::Method::device, kernels + launches + tables->device_contiguous->at(p.bytes), device_methods && cuda_aware});
    p.estimates.push_back({core::Method::one_shot,
                           d.pack_mapped.at(p.bytes, p.average_block, p.density) + transfer +
                               d.unpack_mapped.at(p.bytes, p.average_block, p.density) + launches,
                           device_methods});
    p.estimates.push_back({core::Method::staged,
                           kernels + launches + d.device_to_host.at(p.bytes) + transfer + d.host_to_device.at(p.bytes),
                           device_methods});
  }
  for (Estimate& e : p.estimates) e.slow_seconds = std::max(e.slow_seconds, e.seconds);  // device ones: no phases
  p.best = choose(p.estimates, memory == memory::Kind::host);
  return p;
}

core::Method choose(const std::vector<Estimate>& estimates, bool host_memory) {
  double fastest = std::numeric_limits<double>::infinity();
  double fastest_slow = std::numeric_limits<double>::infinity();
  for (const Estimate& e : estimates) {
    if (!e.available) continue;
    fastest = std::min(fastest, e.seconds);
    fastest_slow = std::min(fastest_slow, std::max(e.slow_seconds, e.seconds));
  }
  // Host memory: packing must win clearly. The tables price exchanges; in a one-way pattern
  // (a ping-pong, a pipeline) the MPI overlaps its packing on one side with its unpacking on the
  // other and large native messages then take as little as half their exchange time, while a
  // packed message takes the same. Near a tie the native choice is the safer one.
  const auto ratio = [](double t, double least_t) {
    return least_t > 0 ? t / least_t : (t > 0 ? std::numeric_limits<double>::infinity() : 1.0);
  };
  core::Method best = core::Method::native;
  double least = std::numeric_limits<double>::infinity();
  for (const Estimate& e : estimates) {
    if (!e.available) continue;
    double regret = std::max(ratio(e.seconds, fastest), ratio(std::max(e.slow_seconds, e.seconds), fastest_slow));
    if (host_memory && e.method == core::Method::native) regret *= kNativeMargin;
    if (regret < least) {
      least = regret;
      best = e.method;
    }
  }
  return best;
}

bool split_send(const Model& model, double bytes, Locality locality) {
  const LocalityTables* t = model.tables(locality);
  if (t == nullptr || !t->exchange_split || !t->exchange_contiguous || t->exchange_split->empty() ||
      t->exchange_contiguous->empty())
    return false;
  const Curve& split = *t->exchange_split;
  if (bytes < split.points.front().bytes || bytes > split.points.back().bytes) return false;
  return split.at(bytes) < kSplitMargin * t->exchange_contiguous->at(bytes);
}

std::string explain(const Prediction& p, const types::Layout& layout, std::int64_t count) {
  char head[256];
  std::snprintf(head, sizeof head, "%lld x %s layout, %.0f B in blocks of %.0f B (density %.3g), %s%s:",
                static_cast<long long>(count), types::to_string(layout.klass()), p.bytes, p.average_block, p.density,
                std::string(to_string(p.locality)).c_str(), p.fallback_locality ? " (using the other locality's tables)" : "");
  std::string out = head;
  for (const Estimate& e : p.estimates) {
    char item[96];
    std::snprintf(item, sizeof item, " %s %.3g us%s", std::string(core::method_name(e.method)).c_str(), e.seconds * 1e6,
                  e.available ? "" : " (unavailable)");
    out += item;
    if (e.slow_seconds > e.seconds) {
      std::snprintf(item, sizeof item, " (slow phase %.3g us)", e.slow_seconds * 1e6);
      out += item;
    }
    out += ';';
  }
  out += " chose ";
  out += core::method_name(p.best);
  return out;
}

// ---- Installed model and decision cache -------------------------------------------------

namespace {

struct Entry {
  types::Layout layout;
  std::int64_t count;
  Locality locality;
  memory::Kind memory;
  bool cuda_aware;
  core::Method method;
};

// Beyond this many distinct decisions, new ones are computed each time (and not explained
// again): a program that builds types without end must not grow the cache without end.
constexpr std::size_t kMaxDecisions = 4096;

struct State {
  std::shared_mutex mutex;
  std::shared_ptr<const Model> model;
  std::unordered_map<std::size_t, std::vector<Entry>> decisions;
  std::size_t size = 0;
};

State& state() {
  static State* s = new State;  // never destroyed: decisions may be asked during static teardown
  return *s;
}

std::size_t decision_hash(const types::Layout& layout, std::int64_t count, Locality locality, memory::Kind memory) {
  std::size_t h = types::hash_value(layout);
  for (std::size_t v : {static_cast<std::size_t>(count), static_cast<std::size_t>(locality), static_cast<std::size_t>(memory)})
    h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
  return h;
}

const Entry* find_entry(const State& s, std::size_t h, const types::Layout& layout, std::int64_t count,
                        Locality locality, memory::Kind memory, bool cuda_aware) {
  const auto it = s.decisions.find(h);
  if (it == s.decisions.end()) return nullptr;
  for (const Entry& e : it->second)
    if (e.count == count && e.locality == locality && e.memory == memory && e.cuda_aware == cuda_aware &&
        e.layout == layout)
      return &e;
  return nullptr;
}

}  // namespace

void install_model(std::shared_ptr<const Model> model) {
  State& s = state();
  std::unique_lock lock(s.mutex);
  s.model = std::move(model);
  s.decisions.clear();
  s.size = 0;
  core::new_decision_epoch();  // memoised decisions of the old model are void
}

std::shared_ptr<const Model> installed_model() {
  State& s = state();
  std::shared_lock lock(s.mutex);
  if (s.model) return s.model;
  return std::shared_ptr<const Model>(std::shared_ptr<const Model>{}, &default_model());
}

CachedDecision decide(const types::Layout& layout, std::int64_t count, Locality locality, memory::Kind memory,
                      bool explain_it, bool cuda_aware) {
  State& s = state();
  const std::size_t h = decision_hash(layout, count, locality, memory);
  std::shared_ptr<const Model> model;
  {
    std::shared_lock lock(s.mutex);
    if (const Entry* e = find_entry(s, h, layout, count, locality, memory, cuda_aware)) return {e->method, false, {}};
    model = s.model;
  }
  const bool device_memory = memory == memory::Kind::device;
  const Prediction p = predict(model ? *model : default_model(), layout, count, locality, memory, device_memory,
                               cuda_aware);
  CachedDecision out{p.best, false, {}};
  {
    std::unique_lock lock(s.mutex);
    if (const Entry* e = find_entry(s, h, layout, count, locality, memory, cuda_aware)) return {e->method, false, {}};
    if (s.model != model) return out;  // replaced meanwhile: answer, but do not cache a stale decision
    if (s.size >= kMaxDecisions) return out;
    s.decisions[h].push_back({layout, count, locality, memory, cuda_aware, p.best});
    ++s.size;
    out.first = true;
  }
  if (explain_it) out.explanation = explain(p, layout, count);
  return out;
}

std::size_t cached_decisions() {
  State& s = state();
  std::shared_lock lock(s.mutex);
  return s.size;
}

}  // namespace strider::plan
