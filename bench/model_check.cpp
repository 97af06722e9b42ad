// How good are the performance model's choices? A sweep of strided host messages between two
// ranks, each sent with every host method forced (native: the underlying MPI with the typed
// buffer; host-pack: Strider's exec::send / exec::recv with STRIDER_METHOD=host-pack), against
// the method the installed model chooses for it.
//
//   mpiexec -n 2 strider_bench_model_check [--quick] [--json FILE]
//   strider_bench_model_check --replay FILE
//
// Reports how often the model's choice was the fastest measured and its regret (the chosen
// method's time / the fastest method's time), next to the built-in defaults' choice and the
// two fixed policies. The model is loaded as at MPI_Init ($STRIDER_CACHE_DIR, ...). --replay
// measures nothing: it takes the times a previous run wrote with --json and re-makes each
// message's choice with this build and the model loaded now, so that a change to the choice
// logic can be scored against runs already made (point STRIDER_CACHE_DIR at the model file
// that run used); it lists the choices that changed, then the same summary. The sweep
// deliberately sits off strider-measure's grid (blocks, strides and sizes it did not measure).
// Every message's data is verified on the receiver. Times are medians over samples of
// exchange times (both ranks send one message and receive one at once with MPI_Sendrecv, as
// in a halo exchange and as strider-measure measures the underlying MPI; each sample the lower
// quartile of its exchanges); the two methods alternate within each repetition so that
// machine noise hits both.
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/config.hpp"
#include "core/log.hpp"
#include "exec/datatype.hpp"
#include "exec/model_load.hpp"
#include "exec/p2p.hpp"
#include "plan/method.hpp"
#include "plan/model.hpp"
#include "types/cache.hpp"

namespace {

namespace core = strider::core;
namespace plan = strider::plan;
namespace exec = strider::exec;
using Clock = std::chrono::steady_clock;
using core::Method;

double now_s() { return std::chrono::duration<double>(Clock::now().time_since_epoch()).count(); }

struct Case {
  std::string name;
  MPI_Datatype type = MPI_DATATYPE_NULL;
  std::int64_t span = 0;  // bytes the receive buffer must hold
};

MPI_Datatype committed(MPI_Datatype type) {
  exec::type_commit(&type);
  return type;
}

std::vector<Case> make_cases(bool quick) {
  std::vector<Case> cases;
  const std::vector<int> blocks = quick ? std::vector<int>{4, 48, 1024, 8192} : std::vector<int>{4, 16, 48, 128, 1024, 2048, 8192};
  const std::vector<int> mults = quick ? std::vector<int>{3, 8} : std::vector<int>{2, 3, 8};
  const std::vector<std::int64_t> sizes =
      quick ? std::vector<std::int64_t>{2048, 131072, 2 << 20} : std::vector<std::int64_t>{2048, 32768, 524288, 4 << 20};
  for (int block : blocks)
    for (int mult : mults)
      for (std::int64_t size : sizes) {
        if (size < block) continue;
        const int n = static_cast<int>(size / block);
        const bool doubles = block % 8 == 0;
        const int unit = doubles ? 8 : 1;
        MPI_Datatype t = MPI_DATATYPE_NULL;
        PMPI_Type_vector(n, block / unit, block / unit * mult, doubles ? MPI_DOUBLE : MPI_BYTE, &t);
        char name[96];
        std::snprintf(name, sizeof name, "vector b%d x%d %lldK", block, mult, static_cast<long long>(size >> 10));
        cases.push_back({name, committed(t), static_cast<std::int64_t>(n - 1) * block * mult + block});
      }
  // Halo faces of an N^3 cube of doubles, one per axis (C order): 8-B blocks, rows, planes.
  for (int edge : quick ? std::vector<int>{64} : std::vector<int>{48, 96}) {
    for (int axis = 0; axis < 3; ++axis) {
      int sizes3[3] = {edge, edge, edge};
      int sub[3] = {edge, edge, edge};
      int start[3] = {0, 0, 0};
      sub[axis] = 1;
      start[axis] = edge - 1;
      MPI_Datatype t = MPI_DATATYPE_NULL;
      PMPI_Type_create_subarray(3, sizes3, sub, start, MPI_ORDER_C, MPI_DOUBLE, &t);
      char name[96];
      std::snprintf(name, sizeof name, "halo n%d axis%d", edge, axis);
      cases.push_back({name, committed(t), static_cast<std::int64_t>(edge) * edge * edge * 8});
    }
  }
  return cases;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

void force(Method m) {
  core::Config c = core::config();
  c.method = m == Method::native ? core::MethodChoice::native : core::MethodChoice::host_pack;
  c.explain = false;
  core::set_config_for_testing(c);
}

// Seconds per exchange of one sample of `inner` exchanges with method `m` (each rank sends
// from `out` and receives into `in`).
double sample(int rank, Method m, int inner, const unsigned char* out, unsigned char* in, MPI_Datatype type) {
  force(m);
  const int peer = 1 - rank;
  PMPI_Barrier(MPI_COMM_WORLD);
  std::vector<double> each;
  for (int i = 0; i < inner; ++i) {
    const double t0 = now_s();
    exec::sendrecv(out, 1, type, peer, 3, in, 1, type, peer, 3, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    each.push_back(now_s() - t0);
  }
  // As strider-measure: the sample is the lower quartile of its exchanges, so that exchanges
  // in which a rank was descheduled on a shared machine do not decide it.
  std::sort(each.begin(), each.end());
  double t = each[each.size() / 4];
  PMPI_Bcast(&t, 1, MPI_DOUBLE, 0, MPI_COMM_WORLD);  // rank 0's clock decides
  return t;
}

// Rank 0 sends a pattern with method `m`; rank 1 receives it with the same method into a
// zeroed buffer and compares with the underlying MPI's own delivery (PMPI_Recv of the type).
bool verify(int rank, Method m, MPI_Datatype type, std::int64_t span) {
  std::vector<unsigned char> pattern(static_cast<std::size_t>(span)), got(pattern.size()), want(pattern.size());
  for (std::size_t i = 0; i < pattern.size(); ++i) pattern[i] = static_cast<unsigned char>(i * 37 + 11);
  force(m);
  int ok = 1;
  if (rank == 0) {
    exec::send(pattern.data(), 1, type, 1, 5, MPI_COMM_WORLD);
    PMPI_Send(pattern.data(), 1, type, 1, 6, MPI_COMM_WORLD);
  } else {
    exec::recv(got.data(), 1, type, 0, 5, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    PMPI_Recv(want.data(), 1, type, 0, 6, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    ok = got == want ? 1 : 0;
  }
  PMPI_Bcast(&ok, 1, MPI_INT, 1, MPI_COMM_WORLD);
  return ok != 0;
}

struct Row {
  std::string name;
  double bytes = 0, block = 0;
  double native = 0, host_pack = 0;
  Method chosen = Method::native, defaults = Method::native;
  double predicted_native = 0, predicted_host_pack = 0;
  bool verified = false;
  double time_of(Method m) const { return m == Method::native ? native : host_pack; }
  double best() const { return std::min(native, host_pack); }
};

struct Summary {
  double fastest_fraction = 0, median_regret = 0, worst_regret = 0, mean_regret = 0;
};

Summary summarise(const std::vector<Row>& rows, const std::function<Method(const Row&)>& policy) {
  std::vector<double> regrets;
  int fastest = 0;
  for (const Row& r : rows) {
    const Method m = policy(r);
    const double regret = r.time_of(m) / r.best();
    regrets.push_back(regret);
    if (r.time_of(m) <= r.best()) ++fastest;
  }
  Summary s;
  if (regrets.empty()) return s;
  s.fastest_fraction = static_cast<double>(fastest) / static_cast<double>(rows.size());
  std::vector<double> sorted = regrets;
  std::sort(sorted.begin(), sorted.end());
  const std::size_t n = sorted.size();
  s.median_regret = n % 2 == 1 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
  s.worst_regret = sorted.back();
  double sum = 0;
  for (double r : regrets) sum += r;
  s.mean_regret = sum / static_cast<double>(n);
  return s;
}

nlohmann::json summary_json(const Summary& s) {
  return {{"fastest_fraction", s.fastest_fraction},
          {"median_regret", s.median_regret},
          {"worst_regret", s.worst_regret},
          {"mean_regret", s.mean_regret}};
}

// A case's row before any timing: its size and the choices of the installed model and of the
// built-in defaults, with the installed model's predictions.
Row decided(const Case& c, const strider::types::Layout& layout, plan::Locality locality) {
  Row r;
  r.name = c.name;
  r.bytes = static_cast<double>(layout.size);
  r.block = r.bytes / static_cast<double>(std::max<std::int64_t>(1, layout.block_count()));
  plan::Request request;
  request.layout = &layout;
  request.count = 1;
  request.locality = locality;
  r.chosen = plan::choose_p2p(request).method;
  r.defaults = plan::predict(plan::default_model(), layout, 1, locality, strider::memory::Kind::host, false).best;
  const plan::Prediction pred =
      plan::predict(*plan::installed_model(), layout, 1, locality, strider::memory::Kind::host, false);
  for (const auto& e : pred.estimates) (e.method == Method::native ? r.predicted_native : r.predicted_host_pack) = e.seconds;
  return r;
}

// --replay: the rows of a previous run's JSON (`path`), each with the choice this build makes
// now for its case; false when the file cannot be read or names a case this build lacks.
bool replay_rows(const std::string& path, std::vector<Row>& rows) {
  try {
    std::ifstream in(path);
    const nlohmann::json j = nlohmann::json::parse(in);
    const bool quick = j.value("quick", false);
    const plan::Locality locality =
        j.value("locality", "intra-node") == "inter-node" ? plan::Locality::inter_node : plan::Locality::intra_node;
    const nlohmann::json& cases = j.at("cases");
    for (Case& c : make_cases(quick)) {
      const auto layout = strider::types::type_cache().find(c.type);
      const auto recorded = std::find_if(cases.begin(), cases.end(),
                                         [&](const nlohmann::json& r) { return r.value("case", "") == c.name; });
      if (!layout || recorded == cases.end()) throw std::runtime_error("no case '" + c.name + "'");
      Row r = decided(c, *layout, locality);
      r.native = recorded->at("seconds").at("native").get<double>();
      r.host_pack = recorded->at("seconds").at("host-pack").get<double>();
      r.verified = recorded->value("verified", false);
      const std::string before = recorded->value("model_choice", "");
      if (before != core::method_name(r.chosen))
        std::printf("%-24s %s -> %s: regret %.3f -> %.3f\n", r.name.c_str(), before.c_str(),
                    std::string(core::method_name(r.chosen)).c_str(), recorded->value("regret", 0.0),
                    r.time_of(r.chosen) / r.best());
      rows.push_back(r);
      exec::type_free(&c.type);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "strider_bench_model_check: cannot replay %s: %s\n", path.c_str(), e.what());
    return false;
  }
  return true;
}

struct Summaries {
  Summary model, defaults, native, host_pack;
};

// Prints the policies' table and the targets (rank 0); data verified when every row was.
Summaries report(const std::vector<Row>& rows, bool measured) {
  Summaries s;
  s.model = summarise(rows, [](const Row& r) { return r.chosen; });
  s.defaults = summarise(rows, [](const Row& r) { return r.defaults; });
  s.native = summarise(rows, [](const Row&) { return Method::native; });
  s.host_pack = summarise(rows, [](const Row&) { return Method::host_pack; });
  const bool all_ok = std::all_of(rows.begin(), rows.end(), [](const Row& r) { return r.verified; });
  std::printf("\n%-22s %10s %14s %13s %13s   (%zu messages)\n", "policy", "fastest", "median regret",
              "worst regret", "mean regret", rows.size());
  auto line = [](const char* name, const Summary& sum) {
    std::printf("%-22s %9.0f%% %14.3f %13.3f %13.3f\n", name, 100 * sum.fastest_fraction, sum.median_regret,
                sum.worst_regret, sum.mean_regret);
  };
  line(measured ? "measured model" : "model (defaults)", s.model);
  line("built-in defaults", s.defaults);
  line("always native", s.native);
  line("always host-pack", s.host_pack);
  std::printf("targets: median regret <= 1.10: %s, worst <= 1.5: %s; data verified: %s\n",
              s.model.median_regret <= 1.10 ? "met" : "MISSED", s.model.worst_regret <= 1.5 ? "met" : "MISSED",
              all_ok ? "yes" : "NO");
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  PMPI_Init(&argc, &argv);
  int rank = 0, size = 0;
  PMPI_Comm_rank(MPI_COMM_WORLD, &rank);
  PMPI_Comm_size(MPI_COMM_WORLD, &size);
  bool quick = false;
  std::string json_path, replay_path;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--quick") {
      quick = true;
    } else if (a == "--json" && i + 1 < argc) {
      json_path = argv[++i];
    } else if (a == "--replay" && i + 1 < argc) {
      replay_path = argv[++i];
    } else {
      if (rank == 0)
        std::fprintf(stderr, "usage: mpiexec -n 2 %s [--quick] [--json FILE]\n       %s --replay FILE\n", argv[0], argv[0]);
      PMPI_Finalize();
      return 2;
    }
  }
  if (!replay_path.empty()) {
    core::set_log_rank(rank);
    exec::load_model(rank);
    int rc = 0;
    if (rank == 0) {
      std::vector<Row> rows;
      std::printf("Model check replayed from %s with model %s; choices that changed:\n", replay_path.c_str(),
                  plan::installed_model()->source.c_str());
      if (!replay_rows(replay_path, rows)) {
        rc = 1;
      } else {
        report(rows, plan::installed_model()->measured);
      }
    }
    PMPI_Finalize();
    return rc;
  }
  if (size != 2) {
    if (rank == 0) std::fprintf(stderr, "strider_bench_model_check: needs exactly 2 ranks\n");
    PMPI_Finalize();
    return 2;
  }
  core::set_log_rank(rank);
  const plan::LoadResult loaded = exec::load_model(rank);
  const auto model = plan::installed_model();
  const plan::Locality locality = exec::job_locality();
  if (rank == 0) {
    std::printf("Model check: exchanges (MPI_Sendrecv both ways), median us; model: %s%s; peer %s\n", model->source.c_str(),
                model->measured ? "" : " (no usable file)", std::string(plan::to_string(locality)).c_str());
    std::printf("%-24s %10s %8s %10s %10s %9s %9s %8s %8s %s\n", "case", "bytes", "avg blk", "native", "host-pack",
                "model", "defaults", "regret", "pred n/h", "ok");
  }
  const int samples = quick ? 5 : 9;
  const double sample_s = quick ? 2e-4 : 5e-4;
  std::vector<Row> rows;
  bool all_ok = true;
  for (Case& c : make_cases(quick)) {
    const auto layout = strider::types::type_cache().find(c.type);
    if (!layout) continue;
    Row r = decided(c, *layout, locality);
    r.verified = verify(rank, Method::native, c.type, c.span) && verify(rank, Method::host_pack, c.type, c.span);
    all_ok = all_ok && r.verified;
    std::vector<unsigned char> out(static_cast<std::size_t>(c.span), 1), in(out.size(), 2);
    // Repetitions per sample from one warm-up exchange of each method.
    const double one = std::max(sample(rank, Method::native, 1, out.data(), in.data(), c.type),
                                sample(rank, Method::host_pack, 1, out.data(), in.data(), c.type));
    const int inner = static_cast<int>(std::clamp(sample_s / std::max(one, 1e-9), 4.0, 2000.0));
    std::vector<double> tn, th;
    for (int s = 0; s < samples; ++s) {
      tn.push_back(sample(rank, Method::native, inner, out.data(), in.data(), c.type));
      th.push_back(sample(rank, Method::host_pack, inner, out.data(), in.data(), c.type));
    }
    r.native = median(tn);
    r.host_pack = median(th);
    if (rank == 0) {
      std::printf("%-24s %10.0f %8.0f %10.2f %10.2f %9s %9s %8.3f %4.2f/%-4.2f %s\n", r.name.c_str(), r.bytes, r.block,
                  r.native * 1e6, r.host_pack * 1e6, std::string(core::method_name(r.chosen)).c_str(),
                  std::string(core::method_name(r.defaults)).c_str(), r.time_of(r.chosen) / r.best(),
                  r.predicted_native * 1e6 / std::max(r.native * 1e6, 1e-9),
                  r.predicted_host_pack * 1e6 / std::max(r.host_pack * 1e6, 1e-9), r.verified ? "yes" : "NO");
      std::fflush(stdout);
    }
    rows.push_back(r);
    exec::type_free(&c.type);
  }
  if (rank == 0) {
    const Summaries summaries = report(rows, model->measured);
    if (!json_path.empty()) {
      nlohmann::json cases = nlohmann::json::array();
      for (const Row& r : rows)
        cases.push_back({{"case", r.name},
                         {"bytes", r.bytes},
                         {"average_block", r.block},
                         {"seconds", {{"native", r.native}, {"host-pack", r.host_pack}}},
                         {"predicted_seconds", {{"native", r.predicted_native}, {"host-pack", r.predicted_host_pack}}},
                         {"model_choice", core::method_name(r.chosen)},
                         {"defaults_choice", core::method_name(r.defaults)},
                         {"regret", r.time_of(r.chosen) / r.best()},
                         {"verified", r.verified}});
      std::ofstream(json_path) << nlohmann::json{{"benchmark", "model_check"},
                                                 {"quick", quick},
                                                 {"statistic", "median seconds per exchange (MPI_Sendrecv, both ranks)"},
                                                 {"model", model->source},
                                                 {"model_measured", model->measured},
                                                 {"model_issue", plan::to_string(loaded.issue)},
                                                 {"locality", plan::to_string(locality)},
                                                 {"summary",
                                                  {{"model", summary_json(summaries.model)},
                                                   {"defaults", summary_json(summaries.defaults)},
                                                   {"always_native", summary_json(summaries.native)},
                                                   {"always_host_pack", summary_json(summaries.host_pack)}}},
                                                 {"cases", cases}}
                                                      .dump(2)
                                               << "\n";
    }
  }
  PMPI_Finalize();
  return all_ok ? 0 : 1;
}
