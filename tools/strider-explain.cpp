// strider-explain: what Strider makes of one datatype, or of its configuration.
//
//   strider-explain [--json] [--count N] 'subarray([64,64,64],[3,64,64],[0,0,0],C,double)'
//   strider-explain --config
//   strider-explain --model [--count N] [SPEC]
//
// Builds the type with the underlying MPI (a singleton MPI_Init: no mpirun needed), commits
// it, and prints MPI's view (size, bounds), the TypeIR decoded from the envelope, and the
// canonical Layout with its class, or why there is none. --model prints the performance model
// (the tables strider-measure wrote, or the built-in defaults and why) and, for a SPEC, the
// predicted time of each method for COUNT elements at both peer localities. Exit status: 0 on success, 1 when
// MPI rejects the type, 2 for usage or spec errors.
#include <mpi.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/config.hpp"
#include "core/spec.hpp"
#include "exec/model_load.hpp"
#include "mpi/calls.hpp"
#include "mpi/type_builder.hpp"
#include "plan/model.hpp"
#include "types/canonicalize.hpp"
#include "types/decode.hpp"
#include "types/layout.hpp"
#include "types/typeir.hpp"

namespace {

namespace core = strider::core;
namespace types = strider::types;

constexpr int kExitMpiError = 1;
constexpr int kExitUsage = 2;

void usage(std::ostream& out) {
  out << "usage: strider-explain [--json] [--count N] SPEC\n"
         "       strider-explain --config\n"
         "       strider-explain --model [--count N] [SPEC]\n"
         "\n"
         "SPEC is a datatype in the spec language, for example\n"
         "  'subarray([64,64,64], [3,64,64], [0,0,0], C, double)'\n"
         "  'resized(0, 8, vector(64, 1, 64, double))'\n"
         "  'struct([1, 2], [0, 8], [int, double])'\n"
         "Constructors: ";
  bool first = true;
  for (auto name : core::constructor_names()) {
    out << (first ? "" : ", ") << name;
    first = false;
  }
  out << "\n"
         "\n"
         "  --json     print one JSON object (MPI's bounds, TypeIR, Layout) instead of text\n"
         "  --count N  show the layout of N consecutive elements (default 1)\n"
         "  --config   print the STRIDER_* variables: default, help and current value\n"
         "  --model    print the performance model's tables and, for SPEC, each method's\n"
         "             predicted time for N elements (the file in STRIDER_CACHE_DIR, ...)\n";
}

struct Options {
  bool json = false;
  bool config = false;
  bool model = false;
  std::int64_t count = 1;
  std::string spec;
};

// Returns the parsed options, or the exit status to leave with.
std::variant<Options, int> parse_arguments(int argc, char** argv) {
  Options options;
  std::vector<std::string> words;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      usage(std::cout);
      return 0;
    }
    if (arg == "--json") {
      options.json = true;
    } else if (arg == "--config") {
      options.config = true;
    } else if (arg == "--model") {
      options.model = true;
    } else if (arg == "--count" || arg.starts_with("--count=")) {
      std::string value;
      if (arg == "--count") {
        if (i + 1 >= argc) {
          std::cerr << "strider-explain: --count needs a value\n";
          return kExitUsage;
        }
        value = argv[++i];
      } else {
        value = std::string(arg.substr(8));
      }
      char* end = nullptr;
      const long long parsed = std::strtoll(value.c_str(), &end, 10);
      if (value.empty() || *end != '\0' || parsed < 0) {
        std::cerr << "strider-explain: --count needs a non-negative integer, got '" << value
                  << "'\n";
        return kExitUsage;
      }
      options.count = parsed;
    } else if (arg.starts_with("--")) {
      std::cerr << "strider-explain: unknown option " << arg << "\n";
      usage(std::cerr);
      return kExitUsage;
    } else {
      words.emplace_back(arg);
    }
  }
  // An unquoted spec arrives split at its spaces; join it back.
  for (const auto& word : words) {
    if (!options.spec.empty()) options.spec += ' ';
    options.spec += word;
  }
  if (!options.config && !options.model && options.spec.empty()) {
    usage(std::cerr);
    return kExitUsage;
  }
  return options;
}

int print_config(bool json) {
  const core::ParseResult parsed = core::parse_environment();
  if (json) {
    nlohmann::json out = nlohmann::json::array();
    for (const core::VarInfo& var : core::kVariables) {
      const char* value = std::getenv(std::string(var.name).c_str());
      out.push_back({{"name", var.name},
                     {"default", var.default_value},
                     {"help", var.help},
                     {"value", value != nullptr ? nlohmann::json(value) : nlohmann::json()}});
    }
    std::cout << nlohmann::json{{"variables", out}, {"warnings", parsed.warnings}}.dump(2)
              << "\n";
    return 0;
  }
  std::size_t width = 0;
  for (const core::VarInfo& var : core::kVariables) width = std::max(width, var.name.size());
  std::printf("%-*s  %-8s  %-10s  %s\n", static_cast<int>(width), "variable", "default",
              "current", "meaning");
  for (const core::VarInfo& var : core::kVariables) {
    const char* value = std::getenv(std::string(var.name).c_str());
    const std::string shown_default =
        var.default_value.empty() ? "(empty)" : std::string(var.default_value);
    const std::string current = value != nullptr ? std::string(value) : "(unset)";
    std::printf("%-*s  %-8s  %-10s  %s\n", static_cast<int>(width), std::string(var.name).c_str(),
                shown_default.c_str(), current.c_str(), std::string(var.help).c_str());
  }
  const core::Config& c = parsed.config;
  std::printf("\neffective: disable=%d log=%s stats=%d method=%s explain=%d split_send=%s cache_dir=%s\n",
              c.disable ? 1 : 0, std::string(core::to_string(c.log)).c_str(), c.stats ? 1 : 0,
              std::string(core::to_string(c.method)).c_str(), c.explain ? 1 : 0,
              std::string(core::to_string(c.split_send)).c_str(),
              c.cache_dir.empty() ? "(default)" : c.cache_dir.c_str());
  for (const auto& warning : parsed.warnings) std::printf("warning: %s\n", warning.c_str());
  return 0;
}

// Releases the built type and finalises MPI on every path out of explain().
struct MpiSession {
  MPI_Datatype type = MPI_DATATYPE_NULL;
  MpiSession() {
    int argc = 0;
    char** argv = nullptr;
    MPI_Init(&argc, &argv);
  }
  ~MpiSession() {
    strider::mpi::free_built_type(&type);
    MPI_Finalize();
  }
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;
};

int explain(const Options& options) {
  auto parsed = core::parse_spec(options.spec);
  if (auto* error = std::get_if<core::SpecError>(&parsed)) {
    std::cerr << core::format_error(options.spec, *error) << "\n";
    return kExitUsage;
  }
  const core::SpecNode& spec = std::get<core::SpecNode>(parsed);

  MpiSession session;
  std::string error;
  const int rc = strider::mpi::build_type(spec, &session.type, &error);
  if (rc != MPI_SUCCESS) {
    std::cerr << "strider-explain: MPI cannot build " << core::to_string(spec) << ": " << error
              << "\n";
    return kExitMpiError;
  }
  if (!strider::mpi::is_predefined(session.type)) {
    const int commit = PMPI_Type_commit(&session.type);
    if (commit != MPI_SUCCESS) {
      std::cerr << "strider-explain: PMPI_Type_commit failed with error " << commit << "\n";
      return kExitMpiError;
    }
  }
  const strider::mpi::Bounds bounds = strider::mpi::type_bounds(session.type);
  const std::shared_ptr<const types::TypeIR> ir = types::decode(session.type);
  if (ir == nullptr) {
    std::cerr << "strider-explain: the type could not be decoded\n";
    return kExitMpiError;
  }
  const types::CanonResult canon = types::canonicalize(*ir);
  std::optional<types::Layout> layout = canon.layout;
  if (layout && options.count != 1) layout = types::repeat(*layout, options.count);

  if (options.json) {
    nlohmann::json out;
    out["spec"] = core::to_string(spec);
    out["count"] = options.count;
    out["size"] = bounds.size;
    out["lb"] = bounds.lb;
    out["extent"] = bounds.extent;
    out["true_lb"] = bounds.true_lb;
    out["true_extent"] = bounds.true_extent;
    out["typeir"] = *ir;
    if (layout) {
      out["layout"] = *layout;
      out["class"] = types::to_string(layout->klass());
      out["overlaps"] = layout->overlaps();
    } else {
      out["layout"] = nullptr;
      out["reason"] = canon.reason;
    }
    std::cout << out.dump(2) << "\n";
    return 0;
  }

  std::printf("spec:         %s\n", core::to_string(spec).c_str());
  std::printf("size:         %lld bytes\n", static_cast<long long>(bounds.size));
  std::printf("extent:       %lld bytes (lb %lld, ub %lld)\n",
              static_cast<long long>(bounds.extent), static_cast<long long>(bounds.lb),
              static_cast<long long>(bounds.lb + bounds.extent));
  if (bounds.size > 0) {
    std::printf("true bounds:  lb %lld, ub %lld (true extent %lld)\n",
                static_cast<long long>(bounds.true_lb),
                static_cast<long long>(bounds.true_lb + bounds.true_extent),
                static_cast<long long>(bounds.true_extent));
  } else {
    // Open MPI reports meaningless true bounds for types without data.
    std::printf("true bounds:  none (no data)\n");
  }
  std::printf("\nTypeIR:\n%s\n", types::to_string(*ir).c_str());
  if (layout) {
    std::printf("\nLayout (%lld element%s): class %s%s\n%s\n",
                static_cast<long long>(options.count), options.count == 1 ? "" : "s",
                types::to_string(layout->klass()), layout->overlaps() ? ", overlapping" : "",
                types::to_string(*layout).c_str());
  } else {
    std::printf("\nLayout: none, left to the underlying MPI: %s\n", canon.reason.c_str());
  }
  return 0;
}

namespace plan = strider::plan;

void print_curve_row(const char* label, const plan::Curve& curve) {
  std::printf("  %-46s", label);
  for (double bytes : {64.0, 4096.0, 262144.0, 16777216.0}) std::printf(" %10.2f", curve.at(bytes) * 1e6);
  std::printf("\n");
}

void print_strided(const char* what, const plan::StridedTable& table) {
  for (const plan::StridedCurve& c : table.curves) {
    char label[96];
    std::snprintf(label, sizeof label, "%s block %.0f B, stride x%.0f", what, c.block, 1.0 / c.density);
    print_curve_row(label, c.curve);
  }
}

// The model in effect for this machine and, for a spec, every method's prediction.
int print_model(const Options& options) {
  const core::Config& config = core::config();
  const std::string path = strider::exec::model_path(config);
  const plan::Fingerprint local = strider::exec::local_fingerprint();
  const plan::LoadResult loaded =
      plan::parse_model(path.empty() ? std::nullopt : strider::exec::read_file(path), local, path);
  const plan::Model& m = loaded.model;

  std::optional<types::Layout> layout;
  std::string spec_text;
  if (!options.spec.empty()) {
    auto parsed = core::parse_spec(options.spec);
    if (auto* error = std::get_if<core::SpecError>(&parsed)) {
      std::cerr << core::format_error(options.spec, *error) << "\n";
      return kExitUsage;
    }
    const core::SpecNode& spec = std::get<core::SpecNode>(parsed);
    spec_text = core::to_string(spec);
    MpiSession session;
    std::string error;
    if (strider::mpi::build_type(spec, &session.type, &error) != MPI_SUCCESS) {
      std::cerr << "strider-explain: MPI cannot build " << spec_text << ": " << error << "\n";
      return kExitMpiError;
    }
    if (!strider::mpi::is_predefined(session.type) && PMPI_Type_commit(&session.type) != MPI_SUCCESS) {
      std::cerr << "strider-explain: PMPI_Type_commit failed\n";
      return kExitMpiError;
    }
    const std::shared_ptr<const types::TypeIR> ir = types::decode(session.type);
    if (ir != nullptr) layout = types::canonicalize(*ir).layout;
  }

  if (options.json) {
    nlohmann::json out;
    out["path"] = path;
    out["issue"] = plan::to_string(loaded.issue);
    out["message"] = loaded.message;
    out["model"] = plan::to_json(m);
    if (layout && layout->size > 0 && options.count > 0) {
      for (plan::Locality loc : {plan::Locality::intra_node, plan::Locality::inter_node}) {
        const plan::Prediction p = plan::predict(m, *layout, options.count, loc, strider::memory::Kind::host, false);
        nlohmann::json estimates = nlohmann::json::object();
        nlohmann::json slow = nlohmann::json::object();
        for (const auto& e : p.estimates) {
          estimates[std::string(core::method_name(e.method))] = e.seconds;
          slow[std::string(core::method_name(e.method))] = e.slow_seconds;
        }
        out["predictions"][std::string(plan::to_string(loc))] = {
            {"seconds", estimates},
            {"slow_phase_seconds", slow},
            {"choice", core::method_name(p.best)},
            {"bytes", p.bytes},
            {"average_block", p.average_block}, {"density", p.density}};
      }
    }
    std::cout << out.dump(2) << "\n";
    return 0;
  }

  std::printf("model file:   %s\n", path.empty() ? "(no cache directory)" : path.c_str());
  if (loaded.issue == plan::ModelIssue::none) {
    std::printf("status:       loaded\n");
  } else {
    std::printf("status:       %s: %s\n", std::string(plan::to_string(loaded.issue)).c_str(), loaded.message.c_str());
  }
  std::printf("this machine: cpu '%s', mpi '%s'\n", local.cpu.c_str(), local.mpi.c_str());
  if (m.measured)
    std::printf("measured on:  cpu '%s', mpi '%s', gpu %s, %d node(s)\n", m.fingerprint.cpu.c_str(),
                m.fingerprint.mpi.c_str(), m.fingerprint.gpu ? m.fingerprint.gpu->c_str() : "none",
                m.fingerprint.nodes);
  std::printf("\ntables (us at %10s %10s %10s %10s bytes)\n", "64", "4 Ki", "256 Ki", "16 Mi");
  print_strided("host pack", m.host_pack);
  print_strided("host unpack", m.host_unpack);
  for (plan::Locality loc : {plan::Locality::intra_node, plan::Locality::inter_node}) {
    const auto& t = loc == plan::Locality::intra_node ? m.intra : m.inter;
    if (!t) {
      std::printf("  %s: no tables\n", std::string(plan::to_string(loc)).c_str());
      continue;
    }
    const std::string prefix = std::string(plan::to_string(loc));
    print_curve_row((prefix + " contiguous").c_str(), t->contiguous);
    print_strided((prefix + " native").c_str(), t->native);
  }
  std::printf("  device: %s\n", m.device ? "measured" : "none");
  if (options.spec.empty()) return 0;
  if (!layout) {
    std::printf("\n%s has no Layout: always left to the underlying MPI\n", spec_text.c_str());
    return 0;
  }
  if (layout->size <= 0 || options.count <= 0) {
    std::printf("\n%s x %lld moves no data: native\n", spec_text.c_str(), static_cast<long long>(options.count));
    return 0;
  }
  std::printf("\npredictions for %lld x %s (host buffers):\n", static_cast<long long>(options.count), spec_text.c_str());
  for (plan::Locality loc : {plan::Locality::intra_node, plan::Locality::inter_node}) {
    const plan::Prediction p = plan::predict(m, *layout, options.count, loc, strider::memory::Kind::host, false);
    std::printf("  %s\n", plan::explain(p, *layout, options.count).c_str());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  auto parsed = parse_arguments(argc, argv);
  if (auto* exit_code = std::get_if<int>(&parsed)) return *exit_code;
  const Options& options = std::get<Options>(parsed);
  try {
    if (options.config) return print_config(options.json);
    if (options.model) return print_model(options);
    return explain(options);
  } catch (const std::exception& e) {
    std::cerr << "strider-explain: " << e.what() << "\n";
    return kExitMpiError;
  }
}
