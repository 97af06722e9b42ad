// plan/model and exec/model_load: interpolation, synthetic model files driving the choice,
// every kind of bad file giving the defaults and one warning, atomic concurrent writes.
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "core/config.hpp"
#include "exec/model_load.hpp"
#include "plan/method.hpp"
#include "plan/model.hpp"
#include "types/layout.hpp"

namespace plan = strider::plan;
namespace types = strider::types;
namespace exec = strider::exec;
using strider::core::Method;

namespace {

const plan::Fingerprint kHere{"Test CPU 9000", std::nullopt, std::nullopt, "Test MPI v1.2.3", 1};

// `n` blocks of `block` bytes, each `stride` bytes after the previous.
types::Layout vector_layout(std::int64_t n, std::int64_t block, std::int64_t stride) {
  types::Layout l;
  types::Piece p;
  p.bytes = block;
  if (n > 1) p.dims.push_back({n, stride});
  l.pieces.push_back(p);
  l.size = n * block;
  l.extent = l.true_extent = (n - 1) * stride + block;
  types::normalize(l);
  return l;
}

const std::vector<double> kSizes = {64, 1024, 16384, 262144, 4194304};
const std::vector<double> kBlocks = {8, 64, 512, 4096};

// Host pack and unpack at 10 GB/s, a 1 us + 10 GB/s transport, and an underlying MPI that
// pays `per_block` seconds per block on top of the transport: host-pack wins exactly when
// per_block > 2e-10 * block.
plan::LocalityTables locality_tables(double per_block) {
  plan::LocalityTables t;
  for (double b : kSizes) t.contiguous.points.push_back({b, 1e-6 + b * 1e-10, 0.01});
  for (double density : {1.0 / 16, 0.5})
    for (double block : kBlocks) {
      plan::StridedCurve c{block, density, {}};
      for (double b : kSizes)
        if (b >= block) c.curve.points.push_back({b, 1e-6 + b * 1e-10 + (b / block) * per_block, 0.01});
      t.native.curves.push_back(c);
    }
  return t;
}

// Strider's own cost per packed message in the synthetic models.
constexpr double kBookkeeping = 0.2e-6;

plan::Model synthetic(double per_block_intra, std::optional<double> per_block_inter = std::nullopt) {
  plan::Model m;
  m.measured = true;
  m.fingerprint = kHere;
  for (double density : {1.0 / 16, 0.5})
    for (double block : kBlocks) {
      plan::StridedCurve c{block, density, {}};
      for (double b : kSizes)
        if (b >= block) c.curve.points.push_back({b, b * 1e-10, 0.01});
      m.host_pack.curves.push_back(c);
      m.host_unpack.curves.push_back(c);
    }
  m.host_message_seconds = kBookkeeping;
  m.intra = locality_tables(per_block_intra);
  if (per_block_inter) m.inter = locality_tables(*per_block_inter);
  return m;
}

std::string text_of(const plan::Model& m) { return plan::to_json(m).dump(1); }

// Parses `text` as a file and installs the result, as exec does at start.
plan::LoadResult install_text(const std::string& text) {
  plan::LoadResult r = plan::parse_model(text, kHere, "test.json");
  plan::install_model(std::make_shared<const plan::Model>(r.model));
  return r;
}

Method choose(const types::Layout& layout, std::int64_t count,
              plan::Locality locality = plan::Locality::intra_node) {
  plan::Request request;
  request.layout = &layout;
  request.count = count;
  request.locality = locality;
  return plan::choose_p2p(request).method;
}

// Restores the built-in defaults when a test leaves.
struct ModelReset {
  ~ModelReset() { plan::install_model(nullptr); }
};

std::filesystem::path fresh_dir(const std::string& name) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("strider_test_model_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

}  // namespace

TEST_CASE("curves interpolate in log-log space, floor below and scale with bytes above", "[model]") {
  plan::Curve c;
  c.points = {{1000, 1e-6, 0}, {100000, 1e-4, 0}};
  CHECK(c.at(10000) == Approx(1e-5).epsilon(1e-9));  // the geometric midpoint
  CHECK(c.at(10) == Approx(1e-6));                    // latency floor
  CHECK(c.at(1000000) == Approx(1e-3));               // bandwidth beyond the last point
  CHECK(c.at(1000) == Approx(1e-6));
  CHECK(c.at(100000) == Approx(1e-4));
}

TEST_CASE("strided tables interpolate in log block and log density, clamped outside", "[model]") {
  plan::StridedTable t;
  for (double block : {8.0, 512.0})
    for (double density : {1.0 / 16, 0.5}) {
      plan::StridedCurve c{block, density, {}};
      // seconds = 1e-6 * (512 / block) * (0.5 / density)
      c.curve.points = {{1024, 1e-6 * (512 / block) * (0.5 / density), 0}};
      t.curves.push_back(c);
    }
  CHECK(t.at(1024, 64, 0.5) == Approx(8e-6));  // log-midpoint of 8 and 512
  // A power law in density (here 1 / density) is reproduced exactly between the curves.
  CHECK(t.at(1024, 512, 0.125) == Approx(4e-6));
  CHECK(t.at(1024, 1, 0.5) == Approx(64e-6));     // clamped to the smallest block
  CHECK(t.at(1024, 1 << 20, 1.0) == Approx(1e-6));  // clamped to the largest block and density
}

TEST_CASE("a synthetic model where the MPI pays per block picks host-pack for small blocks only", "[model]") {
  const ModelReset reset;
  REQUIRE(install_text(text_of(synthetic(1e-8))).issue == plan::ModelIssue::none);
  // per_block 1e-8 > 2e-10 * block  <=>  block < 50 B.
  CHECK(choose(vector_layout(512, 8, 16), 1) == Method::host_pack);
  CHECK(choose(vector_layout(2048, 8, 128), 1) == Method::host_pack);
  CHECK(choose(vector_layout(32, 512, 1024), 1) == Method::native);
  CHECK(choose(vector_layout(64, 4096, 8192), 1) == Method::native);
  // Off the measured grid: 24-byte blocks (host-pack), 1536-byte blocks (native).
  CHECK(choose(vector_layout(1000, 24, 48), 1) == Method::host_pack);
  CHECK(choose(vector_layout(100, 1536, 3072), 1) == Method::native);
}

TEST_CASE("a synthetic model with a free MPI keeps everything native", "[model]") {
  const ModelReset reset;
  REQUIRE(install_text(text_of(synthetic(0))).issue == plan::ModelIssue::none);
  CHECK(choose(vector_layout(512, 8, 16), 1) == Method::native);
  CHECK(choose(vector_layout(64, 4096, 8192), 1) == Method::native);
}

TEST_CASE("a synthetic model with an expensive MPI packs every strided host message", "[model]") {
  const ModelReset reset;
  REQUIRE(install_text(text_of(synthetic(1e-5))).issue == plan::ModelIssue::none);
  CHECK(choose(vector_layout(512, 8, 16), 1) == Method::host_pack);
  CHECK(choose(vector_layout(64, 4096, 8192), 1) == Method::host_pack);
  // Contiguous layouts stay native whatever the model says.
  CHECK(choose(vector_layout(1, 4096, 4096), 1) == Method::native);
}

TEST_CASE("the peer's locality selects its tables, and a missing locality uses the other", "[model]") {
  const ModelReset reset;
  const types::Layout layout = vector_layout(256, 64, 128);
  {
    REQUIRE(install_text(text_of(synthetic(1e-5, 0.0))).issue == plan::ModelIssue::none);
    CHECK(choose(layout, 1, plan::Locality::intra_node) == Method::host_pack);
    CHECK(choose(layout, 1, plan::Locality::inter_node) == Method::native);
  }
  {
    REQUIRE(install_text(text_of(synthetic(1e-5))).issue == plan::ModelIssue::none);
    CHECK(choose(layout, 1, plan::Locality::inter_node) == Method::host_pack);
  }
}

TEST_CASE("predictions list native and host-pack for host memory and no device methods", "[model]") {
  const plan::Model m = synthetic(1e-8);
  const types::Layout layout = vector_layout(2048, 8, 16);
  const plan::Prediction p =
      plan::predict(m, layout, 1, plan::Locality::intra_node, strider::memory::Kind::host, false);
  REQUIRE(p.estimates.size() == 2);
  CHECK(p.estimates[0].method == Method::native);
  CHECK(p.estimates[1].method == Method::host_pack);
  // 16 KiB (a measured size) in 2048 blocks: native = 1 us + 16384e-10 + 2048e-8, host-pack =
  // pack + transfer + unpack + bookkeeping = 1 us + 3 * 16384e-10 + 0.2 us.
  CHECK(p.estimates[0].seconds == Approx(1e-6 + 16384e-10 + 2048 * 1e-8));
  CHECK(p.estimates[1].seconds == Approx(1e-6 + 3 * 16384e-10 + kBookkeeping));
  CHECK(p.best == Method::host_pack);
  CHECK(p.average_block == Approx(8));
  const std::string text = plan::explain(p, layout, 1);
  CHECK(text.find("native") != std::string::npos);
  CHECK(text.find("chose host-pack") != std::string::npos);
}

namespace {

// Device tables: kernels at 100 GB/s into device memory and 10 GB/s into mapped host memory,
// copies of 2 us + 25 GB/s each way, 5 us per launch and synchronisation; device to device
// messages as fast as host ones when `device_contiguous`. One-shot costs 11 us + 3e-10 s/B,
// staged 15 us + 2e-10 s/B (they cross at 40 kB), device 11 us + 1.2e-10 s/B.
plan::Model synthetic_device(bool device_contiguous) {
  plan::Model m = synthetic(1e-8);
  plan::DeviceTables d;
  auto table = [](double seconds_per_byte) {
    plan::StridedTable t;
    for (double density : {1.0 / 16, 0.5})
      for (double block : kBlocks) {
        plan::StridedCurve c{block, density, {}};
        for (double b : kSizes)
          if (b >= block) c.curve.points.push_back({b, b * seconds_per_byte, 0.01});
        t.curves.push_back(c);
      }
    return t;
  };
  d.pack_device = d.unpack_device = table(1e-11);
  d.pack_mapped = d.unpack_mapped = table(1e-10);
  for (double b : kSizes) d.host_to_device.points.push_back({b, 2e-6 + b * 4e-11, 0.01});
  d.device_to_host = d.host_to_device;
  d.launch_seconds = 5e-6;
  m.device = d;
  if (device_contiguous) m.intra->device_contiguous = m.intra->contiguous;
  return m;
}

Method choose_device(const types::Layout& layout, bool cuda_aware) {
  plan::Request request;
  request.layout = &layout;
  request.count = 1;
  request.memory = strider::memory::Kind::device;
  request.cuda_aware = cuda_aware;
  return plan::choose_p2p(request).method;
}

}  // namespace

TEST_CASE("a synthetic model with device tables picks the device method of least predicted time", "[model]") {
  const ModelReset reset;
  const types::Layout small = vector_layout(2048, 8, 16);   // 16 KiB
  const types::Layout large = vector_layout(32768, 8, 16);  // 256 KiB
  // The built-in rule first: one-shot below 4 MiB with a plain MPI, below 1 MiB with a
  // CUDA-aware one.
  CHECK(choose_device(small, false) == Method::one_shot);
  CHECK(choose_device(large, false) == Method::one_shot);
  CHECK(choose_device(large, true) == Method::one_shot);
  REQUIRE(install_text(text_of(synthetic_device(false))).issue == plan::ModelIssue::none);
  CHECK(choose_device(small, false) == Method::one_shot);
  CHECK(choose_device(large, false) == Method::staged);
  // No device-to-device table: `device` cannot be predicted, whatever the MPI.
  CHECK(choose_device(large, true) == Method::staged);
  REQUIRE(install_text(text_of(synthetic_device(true))).issue == plan::ModelIssue::none);
  CHECK(choose_device(small, false) == Method::one_shot);
  CHECK(choose_device(small, true) == Method::device);
  CHECK(choose_device(large, true) == Method::device);
  // A strided device buffer never goes to the MPI as it is, even when the MPI is CUDA-aware.
  const plan::Prediction p = plan::predict(synthetic_device(true), small, 1, plan::Locality::intra_node,
                                           strider::memory::Kind::device, true, true);
  REQUIRE(p.estimates.size() == 4);
  CHECK_FALSE(p.estimates[0].available);
  CHECK(p.estimates[1].method == Method::device);
  CHECK(p.estimates[1].seconds == Approx(11e-6 + 1.2e-10 * 16384));
  CHECK(p.estimates[2].method == Method::one_shot);
  CHECK(p.estimates[2].seconds == Approx(11e-6 + 3e-10 * 16384));
  CHECK(p.estimates[3].method == Method::staged);
  CHECK(p.estimates[3].seconds == Approx(15e-6 + 2e-10 * 16384));
  // A contiguous device buffer goes to a CUDA-aware MPI unpacked, model or not.
  CHECK(choose_device(vector_layout(1, 4096, 4096), true) == Method::native);
}

TEST_CASE("a measured host-pack exchange table replaces the composed host-pack estimate", "[model]") {
  const ModelReset reset;
  plan::Model m = synthetic(1e-8);
  const types::Layout layout = vector_layout(2048, 8, 16);  // 16 KiB in 8-byte blocks
  REQUIRE(install_text(text_of(m)).issue == plan::ModelIssue::none);
  CHECK(choose(layout, 1) == Method::host_pack);
  // Packed exchanges measured at 1 ms whatever the message: slower than the MPI everywhere.
  for (const plan::StridedCurve& c : m.intra->native.curves) {
    plan::StridedCurve packed{c.block, c.density, {}};
    for (const plan::Point& point : c.curve.points) packed.curve.points.push_back({point.bytes, 1e-3, 0.01});
    m.intra->packed.curves.push_back(packed);
  }
  const plan::Prediction p = plan::predict(m, layout, 1, plan::Locality::intra_node, strider::memory::Kind::host, false);
  REQUIRE(p.estimates.size() == 2);
  CHECK(p.estimates[1].seconds == Approx(1e-3));
  // The table survives the file and decides.
  const plan::LoadResult r = install_text(text_of(m));
  REQUIRE(r.issue == plan::ModelIssue::none);
  CHECK_FALSE(r.model.intra->packed.empty());
  CHECK(choose(layout, 1) == Method::native);
}

// Native and packed exchange tables that take the same time at every point: `fast`, and
// `slow` in the slow phase (0: none seen).
void constant_exchanges(plan::Model& m, double native_fast, double native_slow, double packed_fast,
                        double packed_slow) {
  m.intra->packed.curves.clear();
  for (plan::StridedCurve& c : m.intra->native.curves) {
    plan::StridedCurve packed{c.block, c.density, {}};
    for (plan::Point& point : c.curve.points) {
      point.seconds = native_fast;
      point.slow = native_slow;
      packed.curve.points.push_back({point.bytes, packed_fast, 0.01, packed_slow});
    }
    m.intra->packed.curves.push_back(packed);
  }
}

TEST_CASE("a slow phase of the MPI in the tables chooses by the worse regret of the two phases", "[model]") {
  const ModelReset reset;
  plan::Model m = synthetic(1e-8);
  const types::Layout layout = vector_layout(2048, 2048, 4096);  // 4 MiB in 2 KiB blocks, 2x stride
  auto predict = [&] {
    return plan::predict(m, layout, 1, plan::Locality::intra_node, strider::memory::Kind::host, false);
  };
  // Measured on a VM whose MPI ran in phases: native 1.05 or 4.1 ms, host-pack 1.26 or 1.75.
  // Without the slow pass native wins the fast phase by more than the margin.
  constant_exchanges(m, 1.05e-3, 0, 1.26e-3, 0);
  CHECK(predict().best == Method::native);
  CHECK(predict().estimates[0].slow_seconds == Approx(1.05e-3));
  // With it, native risks 4.1 / 1.75 = 2.3x in the slow phase, host-pack 1.2x in the fast one.
  constant_exchanges(m, 1.05e-3, 4.1e-3, 1.26e-3, 1.75e-3);
  plan::Prediction p = predict();
  REQUIRE(p.estimates.size() == 2);
  CHECK(p.estimates[0].seconds == Approx(1.05e-3));
  CHECK(p.estimates[0].slow_seconds == Approx(4.1e-3));
  CHECK(p.estimates[1].slow_seconds == Approx(1.75e-3));
  CHECK(p.best == Method::host_pack);
  CHECK_THAT(plan::explain(p, layout, 1), Catch::Contains("(slow phase 4.1e+03 us)"));
  // The slow times survive the file and decide.
  REQUIRE(install_text(text_of(m)).issue == plan::ModelIssue::none);
  CHECK(choose(layout, 1) == Method::host_pack);
  // A slow phase that hurts packing as much keeps native: 4.1 / 4.1 against 8 / 4.1.
  constant_exchanges(m, 1.05e-3, 4.1e-3, 1.26e-3, 8e-3);
  CHECK(predict().best == Method::native);
  // Host-pack slower in its slow phase (1.5x) still risks less than native does in the fast one (2x).
  constant_exchanges(m, 2e-3, 0, 1e-3, 3e-3);
  CHECK(predict().best == Method::host_pack);
}

TEST_CASE("a slow phase seen at other points of large messages is assumed where it was not seen", "[model]") {
  const ModelReset reset;
  plan::Model m = synthetic(1e-8);
  const types::Layout big = vector_layout(2048, 2048, 4096);   // 4 MiB in 2 KiB blocks, 2x stride
  const types::Layout small = vector_layout(128, 2048, 4096);  // 256 KiB, the same blocks
  auto predict = [&](const types::Layout& layout) {
    return plan::predict(m, layout, 1, plan::Locality::intra_node, strider::memory::Kind::host, false);
  };
  // No phase anywhere: native wins the fast phase by more than the margin, as above.
  constant_exchanges(m, 1.05e-3, 0, 1.26e-3, 0);
  CHECK(predict(big).best == Method::native);
  CHECK(m.intra->native.slow_factor(4194304) == 1);
  // A pass met the slow phase only while it measured the 8 B and 64 B curves: native 4x
  // slower there, packing 1.4x. The 2 KiB curves, which the message reads, saw none.
  for (plan::StridedTable* t : {&m.intra->native, &m.intra->packed})
    for (plan::StridedCurve& c : t->curves)
      if (c.block <= 64)
        for (plan::Point& point : c.curve.points) point.slow = point.seconds * (t == &m.intra->native ? 4.0 : 1.4);
  CHECK(m.intra->native.slow_factor(4194304) == Approx(4.0));
  CHECK(m.intra->packed.slow_factor(4194304) == Approx(1.4));
  CHECK(m.intra->native.slow_factor(1e9) == 1);  // nothing within 4x
  plan::Prediction p = predict(big);
  REQUIRE(p.estimates.size() == 2);
  CHECK(p.estimates[0].slow_seconds == Approx(4.2e-3));
  CHECK(p.estimates[1].slow_seconds == Approx(1.26e-3 * 1.4));
  CHECK(p.best == Method::host_pack);
  // Below 512 KiB only what the message's own points saw counts.
  p = predict(small);
  CHECK(p.estimates[0].slow_seconds == Approx(p.estimates[0].seconds));
  CHECK(p.best == Method::native);
  // A point's own slow time stays when it is worse than the inferred one.
  for (plan::StridedCurve& c : m.intra->native.curves)
    if (c.block > 64)
      for (plan::Point& point : c.curve.points) point.slow = 6e-3;
  CHECK(predict(big).estimates[0].slow_seconds == Approx(6e-3));
}

TEST_CASE("the choice is the cheapest method with one phase, host-pack only past the margin", "[model]") {
  using plan::Estimate;
  auto host = [](double native, double host_pack) {
    return plan::choose(
        {Estimate{Method::native, native, true, native}, Estimate{Method::host_pack, host_pack, true, host_pack}}, true);
  };
  CHECK(host(1.0, 0.89) == Method::host_pack);
  CHECK(host(1.0, 0.91) == Method::native);
  CHECK(host(1.0, 1.0) == Method::native);
  // Device memory: the cheapest available method, without a margin; unavailable ones never.
  const std::vector<Estimate> device = {Estimate{Method::native, 1.0, true, 1.0},
                                        Estimate{Method::device, 0.5, false, 0.5},
                                        Estimate{Method::one_shot, 0.95, true, 0.95},
                                        Estimate{Method::staged, 0.97, true, 0.97}};
  CHECK(plan::choose(device, false) == Method::one_shot);
  CHECK(plan::choose({Estimate{Method::native, 1.0, false, 1.0}}, true) == Method::native);
  CHECK(plan::choose({}, true) == Method::native);
}

TEST_CASE("a point's slow time is written only when slower, and a bad one makes the file invalid", "[model]") {
  plan::Model m = synthetic(1e-8);
  constant_exchanges(m, 1e-3, 0, 2e-3, 1.5e-3);  // packed "slow" below its fast time: not a phase
  nlohmann::json j = plan::to_json(m);
  const nlohmann::json& native_point = j["p2p"]["intra-node"]["native"][0]["points"][0];
  const nlohmann::json& packed_point = j["p2p"]["intra-node"]["packed"][0]["points"][0];
  CHECK_FALSE(native_point.contains("slow"));
  CHECK_FALSE(packed_point.contains("slow"));
  CHECK_FALSE(m.intra->packed.has_slow());
  constant_exchanges(m, 1e-3, 3e-3, 2e-3, 0);
  CHECK(m.intra->native.has_slow());
  j = plan::to_json(m);
  CHECK(j["p2p"]["intra-node"]["native"][0]["points"][0]["slow"].get<double>() == Approx(3e-3));
  // Readers of files without the field (older strider-measure) see no slow phase.
  j["p2p"]["intra-node"]["native"][0]["points"][0].erase("slow");
  plan::LoadResult r = plan::parse_model(j.dump(), kHere, "old.json");
  REQUIRE(r.issue == plan::ModelIssue::none);
  CHECK(r.model.intra->native.curves[0].curve.points[0].slow == 0);
  j["p2p"]["intra-node"]["native"][0]["points"][0]["slow"] = -1.0;
  r = plan::parse_model(j.dump(), kHere, "bad.json");
  CHECK(r.issue == plan::ModelIssue::invalid);
  CHECK_FALSE(r.model.measured);
}

TEST_CASE("split sends are chosen where the two-block exchanges beat contiguous ones by the margin", "[model]") {
  plan::Model m = synthetic(1e-8);
  const auto intra = plan::Locality::intra_node;
  CHECK_FALSE(plan::split_send(m, 8192, intra));  // no tables: never
  // Measured from 1 KiB to 64 KiB: contiguous exchanges pay 3 us for a rendezvous from 4 KiB on;
  // split ones are 3 us faster from 4 KiB to 16 KiB and the same elsewhere.
  plan::Curve contiguous, split;
  for (double b : {1024.0, 4096.0, 8192.0, 16384.0, 65536.0}) {
    const double base = 1e-6 + b * 1e-10 + (b >= 4096 ? 3e-6 : 0);
    contiguous.points.push_back({b, base, 0.01});
    split.points.push_back({b, b >= 4096 && b <= 16384 ? base - 3e-6 : base, 0.01});
  }
  m.intra->exchange_contiguous = contiguous;
  m.intra->exchange_split = split;
  CHECK(plan::split_send(m, 4096, intra));
  CHECK(plan::split_send(m, 8192, intra));
  CHECK(plan::split_send(m, 16384, intra));
  CHECK_FALSE(plan::split_send(m, 1024, intra));     // no faster
  CHECK_FALSE(plan::split_send(m, 65536, intra));    // no faster
  CHECK_FALSE(plan::split_send(m, 512, intra));      // below the measured sizes
  CHECK_FALSE(plan::split_send(m, 1 << 20, intra));  // above them
  // A locality without tables uses the other's, as every decision does.
  CHECK(plan::split_send(m, 8192, plan::Locality::inter_node));
  // The tables survive the file; files without them read as before.
  nlohmann::json j = plan::to_json(m);
  plan::LoadResult r = plan::parse_model(j.dump(), kHere, "split.json");
  REQUIRE(r.issue == plan::ModelIssue::none);
  REQUIRE(r.model.intra->exchange_split.has_value());
  CHECK(plan::split_send(r.model, 8192, intra));
  j["p2p"]["intra-node"].erase("exchange_split");
  j["p2p"]["intra-node"].erase("exchange_contiguous");
  r = plan::parse_model(j.dump(), kHere, "old.json");
  REQUIRE(r.issue == plan::ModelIssue::none);
  CHECK_FALSE(r.model.intra->exchange_split.has_value());
  CHECK_FALSE(plan::split_send(r.model, 8192, intra));
}

TEST_CASE("device methods are predicted only when the model has device tables", "[model]") {
  plan::Model m = synthetic(1e-8);
  const types::Layout layout = vector_layout(512, 8, 16);
  auto methods = [&] {
    std::vector<Method> out;
    for (const auto& e : plan::predict(m, layout, 1, plan::Locality::intra_node, strider::memory::Kind::device, false)
                             .estimates)
      out.push_back(e.method);
    return out;
  };
  CHECK(methods() == std::vector<Method>{Method::native});
  plan::DeviceTables d;
  d.pack_device = d.unpack_device = d.pack_mapped = d.unpack_mapped = m.host_pack;
  d.host_to_device = d.device_to_host = m.intra->contiguous;
  d.launch_seconds = 5e-6;
  m.device = d;
  CHECK(methods() == std::vector<Method>{Method::native, Method::one_shot, Method::staged});
  // Unavailable device methods are never chosen.
  CHECK(plan::predict(m, layout, 1, plan::Locality::intra_node, strider::memory::Kind::device, false).best ==
        Method::native);
  // The device tables survive the JSON round trip.
  const plan::LoadResult r = plan::parse_model(text_of(m), kHere, "device.json");
  REQUIRE(r.issue == plan::ModelIssue::none);
  REQUIRE(r.model.device.has_value());
  CHECK(r.model.device->launch_seconds == Approx(5e-6));
}

TEST_CASE("a model survives its JSON form unchanged", "[model]") {
  const plan::Model m = synthetic(1e-8, 2e-8);
  const plan::LoadResult r = plan::parse_model(text_of(m), kHere, "round.json");
  REQUIRE(r.issue == plan::ModelIssue::none);
  CHECK(r.message.empty());
  CHECK(r.model.measured);
  CHECK(r.model.source == "round.json");
  CHECK(plan::to_json(r.model) == plan::to_json(m));
}

TEST_CASE("missing, empty, corrupt, truncated, old-schema and other-machine files give the defaults", "[model]") {
  const std::string good = text_of(synthetic(1e-8));
  nlohmann::json old_schema = plan::to_json(synthetic(1e-8));
  old_schema["schema_version"] = 0;
  nlohmann::json other_cpu = plan::to_json(synthetic(1e-8));
  other_cpu["fingerprint"]["cpu"] = "Some Other CPU";
  nlohmann::json other_mpi = plan::to_json(synthetic(1e-8));
  other_mpi["fingerprint"]["mpi"] = "MPICH 4.0";
  nlohmann::json bad_points = plan::to_json(synthetic(1e-8));
  bad_points["host"]["pack"][0]["points"][0]["seconds"] = -1;
  nlohmann::json no_p2p = plan::to_json(synthetic(1e-8));
  no_p2p["p2p"] = nlohmann::json::object();
  const auto [text, issue] = GENERATE_COPY(table<std::optional<std::string>, plan::ModelIssue>({
      {std::nullopt, plan::ModelIssue::missing},
      {std::string(), plan::ModelIssue::empty},
      {std::string(" \n\t"), plan::ModelIssue::empty},
      {std::string("{ not json"), plan::ModelIssue::corrupt},
      {std::string("\x89PNG\r\n\x1a\n"), plan::ModelIssue::corrupt},
      {good.substr(0, good.size() / 2), plan::ModelIssue::corrupt},
      {std::string("[1, 2, 3]"), plan::ModelIssue::invalid},
      {std::string("{\"schema\": \"strider-model\"}"), plan::ModelIssue::invalid},
      {old_schema.dump(), plan::ModelIssue::old_schema},
      {other_cpu.dump(), plan::ModelIssue::other_machine},
      {other_mpi.dump(), plan::ModelIssue::other_machine},
      {bad_points.dump(), plan::ModelIssue::invalid},
      {no_p2p.dump(), plan::ModelIssue::invalid},
  }));
  const std::string issue_name(plan::to_string(issue));
  CAPTURE(issue_name);
  plan::LoadResult r;
  REQUIRE_NOTHROW(r = plan::parse_model(text, kHere, "bad.json"));
  CHECK(r.issue == issue);
  CHECK_FALSE(r.model.measured);
  CHECK(r.model.source == "built-in defaults");
  CHECK(r.message.find("bad.json") != std::string::npos);
  CHECK(r.message.find("defaults") != std::string::npos);
}

TEST_CASE("a model file cut at any byte never crashes and never half-loads", "[model]") {
  const std::string good = text_of(synthetic(1e-8, 2e-8));
  for (std::size_t cut = 0; cut < good.size(); cut += 97) {
    const plan::LoadResult r = plan::parse_model(good.substr(0, cut), kHere, "cut.json");
    CAPTURE(cut);
    CHECK(r.issue != plan::ModelIssue::none);
    CHECK_FALSE(r.model.measured);
  }
}

TEST_CASE("the built-in defaults host-pack small blocks and leave large blocks native", "[model]") {
  const ModelReset reset;
  plan::install_model(nullptr);
  CHECK_FALSE(plan::installed_model()->measured);
  CHECK(choose(vector_layout(1024, 8, 16), 1) == Method::host_pack);
  CHECK(choose(vector_layout(4096, 64, 256), 1) == Method::host_pack);
  CHECK(choose(vector_layout(64, 8192, 16384), 1) == Method::native);
  CHECK(choose(vector_layout(16, 65536, 131072), 1) == Method::native);
}

TEST_CASE("each distinct decision is made, cached and explained once across threads", "[model]") {
  const ModelReset reset;
  plan::install_model(std::make_shared<const plan::Model>(synthetic(1e-8)));
  CHECK(plan::cached_decisions() == 0);
  const types::Layout a = vector_layout(512, 8, 16);
  const types::Layout b = vector_layout(64, 4096, 8192);
  std::atomic<int> firsts{0};
  std::atomic<int> explained{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        for (const types::Layout* l : {&a, &b}) {
          const plan::CachedDecision d = plan::decide(*l, 1 + i % 3, plan::Locality::intra_node,
                                                      strider::memory::Kind::host, true);
          if (d.first) ++firsts;
          if (!d.explanation.empty()) ++explained;
          if (l == &a) CHECK(d.method == Method::host_pack);
          if (l == &b) CHECK(d.method == Method::native);
        }
      }
    });
  for (auto& t : threads) t.join();
  CHECK(firsts.load() == 6);  // 2 layouts x 3 counts
  CHECK(explained.load() == 6);
  CHECK(plan::cached_decisions() == 6);
  // An equal layout built separately hits the same entry.
  const types::Layout a2 = vector_layout(512, 8, 16);
  CHECK_FALSE(plan::decide(a2, 1, plan::Locality::intra_node, strider::memory::Kind::host, true).first);
  // Installing a model forgets the decisions made with the previous one.
  plan::install_model(std::make_shared<const plan::Model>(synthetic(0)));
  CHECK(plan::cached_decisions() == 0);
  CHECK(plan::decide(a2, 1, plan::Locality::intra_node, strider::memory::Kind::host, false).method == Method::native);
}

TEST_CASE("the model directory is STRIDER_CACHE_DIR, else XDG_CACHE_HOME/strider, else ~/.cache/strider", "[model]") {
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  const std::string saved_xdg = xdg != nullptr ? xdg : "";
  const char* home = std::getenv("HOME");
  const std::string saved_home = home != nullptr ? home : "";
  strider::core::Config config;
  config.cache_dir = "/explicit/dir";
  CHECK(exec::model_path(config) == "/explicit/dir/model.json");
  config.cache_dir.clear();
  ::setenv("XDG_CACHE_HOME", "/xdg", 1);
  CHECK(exec::model_directory(config) == "/xdg/strider");
  ::unsetenv("XDG_CACHE_HOME");
  ::setenv("HOME", "/home/someone", 1);
  CHECK(exec::model_directory(config) == "/home/someone/.cache/strider");
  if (xdg != nullptr) ::setenv("XDG_CACHE_HOME", saved_xdg.c_str(), 1);
  if (home != nullptr) ::setenv("HOME", saved_home.c_str(), 1);
}

TEST_CASE("loading a bad model file warns once on rank 0, not on other ranks, and decisions stay quiet", "[model]") {
  const ModelReset reset;
  const auto dir = fresh_dir("warn");
  const std::string path = (dir / "model.json").string();
  {
    std::FILE* f = std::fopen(path.c_str(), "w");
    REQUIRE(f != nullptr);
    std::fputs("{\"schema\": \"strider-model\", \"schema_version\": 1, \"fingerpr", f);
    std::fclose(f);
  }
  const int before = exec::model_warnings();
  const plan::LoadResult r0 = exec::load_model_from(path, kHere, 0);
  CHECK(r0.issue == plan::ModelIssue::corrupt);
  CHECK(exec::model_warnings() == before + 1);
  CHECK_FALSE(plan::installed_model()->measured);
  const plan::LoadResult r1 = exec::load_model_from(path, kHere, 1);
  CHECK(r1.issue == plan::ModelIssue::corrupt);
  CHECK(exec::model_warnings() == before + 1);
  const types::Layout layout = vector_layout(512, 8, 16);
  for (int i = 0; i < 100; ++i) static_cast<void>(choose(layout, 1 + i));
  CHECK(exec::model_warnings() == before + 1);
  // A missing file is a warning too; a good one is not.
  const plan::LoadResult missing = exec::load_model_from((dir / "none.json").string(), kHere, 0);
  CHECK(missing.issue == plan::ModelIssue::missing);
  CHECK(exec::model_warnings() == before + 2);
  REQUIRE(exec::write_file_atomically(path, text_of(synthetic(1e-8))).empty());
  const plan::LoadResult good = exec::load_model_from(path, kHere, 0);
  CHECK(good.issue == plan::ModelIssue::none);
  CHECK(plan::installed_model()->measured);
  CHECK(exec::model_warnings() == before + 2);
  std::filesystem::remove_all(dir);
}

TEST_CASE("atomic writes create missing directories and leave no temporary files", "[model]") {
  const auto dir = fresh_dir("atomic");
  const std::string path = (dir / "a" / "b" / "model.json").string();
  REQUIRE(exec::write_file_atomically(path, "first\n").empty());
  REQUIRE(exec::write_file_atomically(path, "second\n").empty());
  CHECK(exec::read_file(path) == std::optional<std::string>("second\n"));
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir / "a" / "b")) {
    static_cast<void>(entry);
    ++files;
  }
  CHECK(files == 1);
  std::filesystem::remove_all(dir);
}

TEST_CASE("concurrent writers in threads never leave a corrupt model file", "[model]") {
  const auto dir = fresh_dir("threads");
  const std::string path = (dir / "model.json").string();
  std::atomic<bool> stop{false};
  std::atomic<int> bad_reads{0};
  std::atomic<int> reads{0};
  std::thread reader([&] {
    while (!stop) {
      const auto text = exec::read_file(path);
      if (!text) continue;
      ++reads;
      if (plan::parse_model(text, kHere, path).issue != plan::ModelIssue::none) ++bad_reads;
    }
  });
  std::vector<std::thread> writers;
  for (int w = 0; w < 4; ++w)
    writers.emplace_back([&, w] {
      for (int i = 0; i < 25; ++i) {
        const std::string text = text_of(synthetic(1e-9 * (w + 1), 1e-9 * i));
        if (i % 2 == 0) {
          CHECK(exec::write_file_atomically(path, text).empty());
        } else {
          CHECK(exec::update_file_locked(path, [&](const std::optional<std::string>&) { return text; }).empty());
        }
      }
    });
  for (auto& t : writers) t.join();
  stop = true;
  reader.join();
  CHECK(bad_reads.load() == 0);
  CHECK(plan::parse_model(exec::read_file(path), kHere, path).issue == plan::ModelIssue::none);
  std::filesystem::remove_all(dir);
}

TEST_CASE("concurrent writer processes never leave a corrupt model file", "[model]") {
  const auto dir = fresh_dir("fork");
  const std::string path = (dir / "model.json").string();
  std::vector<pid_t> children;
  for (int w = 0; w < 4; ++w) {
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      int failures = 0;
      for (int i = 0; i < 20; ++i) {
        const std::string text = text_of(synthetic(1e-9 * (w + 1), 1e-9 * (i + 1)));
        // Read-modify-write like strider-measure's merge: the update sees a whole file.
        const std::string error = exec::update_file_locked(path, [&](const std::optional<std::string>& old) {
          if (old && plan::parse_model(old, kHere, path).issue != plan::ModelIssue::none) ++failures;
          return text;
        });
        if (!error.empty()) ++failures;
      }
      ::_exit(failures == 0 ? 0 : 1);
    }
    children.push_back(pid);
  }
  for (pid_t pid : children) {
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
  }
  CHECK(plan::parse_model(exec::read_file(path), kHere, path).issue == plan::ModelIssue::none);
  std::filesystem::remove_all(dir);
}

TEST_CASE("the per-message bookkeeping keeps small strided messages native when packing gains less", "[model]") {
  // The MPI pays 5 ns a block. 64 B in 8 blocks: packing would save 40 ns of block costs but
  // adds 200 ns of bookkeeping (without it, host-pack would win by 27 ns). 1 KiB in 128
  // blocks: 640 ns of block costs, packing wins.
  const ModelReset reset;
  REQUIRE(install_text(text_of(synthetic(5e-9))).issue == plan::ModelIssue::none);
  CHECK(choose(vector_layout(8, 8, 16), 1) == Method::native);
  CHECK(choose(vector_layout(128, 8, 16), 1) == Method::host_pack);
}

TEST_CASE("the bookkeeping time round-trips through the file, and older files get the default", "[model]") {
  plan::Model m = synthetic(1e-8);
  m.host_message_seconds = 0.37e-6;
  nlohmann::json j = plan::to_json(m);
  CHECK(plan::model_from_json(j).host_message_seconds == Approx(0.37e-6));
  j["host"].erase("message_seconds");
  CHECK(plan::model_from_json(j).host_message_seconds == Approx(plan::kDefaultHostMessageSeconds));
  j["host"]["message_seconds"] = -1.0;
  CHECK_THROWS(plan::model_from_json(j));
}
