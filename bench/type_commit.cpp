// MPI_Type_commit cost with and without Strider's work at commit (decode + canonicalise +
// cache), for representative datatypes. Single process (singleton MPI_Init).
//
//   strider_bench_type_commit [--reps N] [--json FILE]
//
// Each repetition builds the type with the MPI constructors, then times only the commit step:
//   native:  PMPI_Type_commit
//   strider: PMPI_Type_commit + types::type_cache().on_commit  (what Strider's MPI_Type_commit does)
// and frees it again (Strider: on_free first, as its MPI_Type_free does). Native and Strider
// repetitions alternate so drift affects both alike; medians are reported.
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/spec.hpp"
#include "mpi/calls.hpp"
#include "mpi/type_builder.hpp"
#include "types/cache.hpp"
#include "types/layout.hpp"

namespace {

namespace core = strider::core;

struct Case {
  std::string name;
  std::string spec;
};

std::string indexed_1000_blocks() {
  // Varying block lengths and gaps so no constructor-level shortcut applies.
  std::string lengths;
  std::string displacements;
  std::int64_t at = 0;
  for (int i = 0; i < 1000; ++i) {
    const int length = 1 + i % 3;
    lengths += (i ? "," : "") + std::to_string(length);
    displacements += (i ? "," : "") + std::to_string(at);
    at += length + 1 + i % 2;
  }
  return "indexed([" + lengths + "], [" + displacements + "], double)";
}

std::vector<Case> cases() {
  return {
      {"contiguous", "contiguous(1024, double)"},
      {"vector", "vector(256, 1, 64, double)"},
      {"subarray x-face C", "subarray([64, 64, 64], [64, 64, 1], [0, 0, 63], C, double)"},
      {"subarray y-face C", "subarray([64, 64, 64], [64, 1, 64], [0, 0, 0], C, double)"},
      {"subarray z-face C", "subarray([64, 64, 64], [1, 64, 64], [0, 0, 0], C, double)"},
      {"subarray x-face F", "subarray([64, 64, 64], [1, 64, 64], [63, 0, 0], F, double)"},
      {"subarray z-face F", "subarray([64, 64, 64], [64, 64, 1], [0, 0, 0], F, double)"},
      {"resized column", "resized(0, 8, vector(64, 1, 64, double))"},
      {"struct", "struct([1, 3, 2, 1], [0, 8, 32, 48], [int, double, float, char])"},
      {"indexed 1000 blocks", indexed_1000_blocks()},
      {"hvector of vector", "hvector(64, 1, 32768, vector(64, 2, 64, double))"},
      {"darray 2-D block", "darray(4, 3, [256, 256], [block, block], [dflt, dflt], [2, 2], C, double)"},
  };
}

using Clock = std::chrono::steady_clock;

double micros(Clock::duration d) {
  return std::chrono::duration<double, std::micro>(d).count();
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

struct Result {
  double native_us = 0;
  double strider_us = 0;
  std::string layout_class;  // or "none: reason"
  bool layout_size_matches = false;
};

// One build/commit/free round; returns the commit time.
bool time_commit(const core::SpecNode& spec, bool with_strider, double& us, Result* result) {
  MPI_Datatype type = MPI_DATATYPE_NULL;
  std::string error;
  if (strider::mpi::build_type(spec, &type, &error) != MPI_SUCCESS) {
    std::fprintf(stderr, "cannot build %s: %s\n", core::to_string(spec).c_str(), error.c_str());
    return false;
  }
  const auto start = Clock::now();
  PMPI_Type_commit(&type);
  if (with_strider) strider::types::type_cache().on_commit(type);
  us = micros(Clock::now() - start);
  if (result != nullptr) {
    const auto layout = strider::types::type_cache().find(type);
    int size = 0;
    PMPI_Type_size(type, &size);
    if (layout != nullptr) {
      result->layout_class = strider::types::to_string(layout->klass());
      result->layout_size_matches = layout->size == size;
    } else {
      result->layout_class = "none";
      result->layout_size_matches = true;  // nothing cached, nothing to disagree with
    }
  }
  if (with_strider) strider::types::type_cache().on_free(type);
  strider::mpi::free_built_type(&type);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::string json_path = "bench_type_commit.json";
  int reps = 301;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--json" && i + 1 < argc) {
      json_path = argv[++i];
    } else if (arg == "--reps" && i + 1 < argc) {
      reps = std::max(1, std::atoi(argv[++i]));
    } else {
      std::fprintf(stderr, "usage: %s [--reps N] [--json FILE]\n", argv[0]);
      return 2;
    }
  }
  MPI_Init(&argc, &argv);
  char version[MPI_MAX_LIBRARY_VERSION_STRING];
  int version_length = 0;
  MPI_Get_library_version(version, &version_length);

  nlohmann::json results = nlohmann::json::array();
  std::printf("MPI_Type_commit, median of %d repetitions (microseconds)\n", reps);
  std::printf("%-22s %10s %10s %8s  %s\n", "type", "native", "strider", "ratio", "layout");
  int status = 0;
  for (const Case& c : cases()) {
    auto parsed = core::parse_spec(c.spec);
    if (auto* error = std::get_if<core::SpecError>(&parsed)) {
      std::fprintf(stderr, "%s\n", core::format_error(c.spec, *error).c_str());
      status = 1;
      continue;
    }
    const core::SpecNode& spec = std::get<core::SpecNode>(parsed);
    Result result;
    double ignored = 0;
    // Warm-up, and the layout check: the Strider side must cache a layout of the right size.
    if (!time_commit(spec, true, ignored, &result)) {
      status = 1;
      continue;
    }
    for (int i = 0; i < 10; ++i) {
      time_commit(spec, false, ignored, nullptr);
      time_commit(spec, true, ignored, nullptr);
    }
    std::vector<double> native(static_cast<std::size_t>(reps));
    std::vector<double> strider(static_cast<std::size_t>(reps));
    for (int i = 0; i < reps; ++i) {
      time_commit(spec, false, native[static_cast<std::size_t>(i)], nullptr);
      time_commit(spec, true, strider[static_cast<std::size_t>(i)], nullptr);
    }
    result.native_us = median(native);
    result.strider_us = median(strider);
    const double ratio = result.native_us > 0 ? result.strider_us / result.native_us : 0;
    if (!result.layout_size_matches) {
      std::fprintf(stderr, "%s: cached layout size differs from MPI_Type_size\n", c.name.c_str());
      status = 1;
    }
    std::printf("%-22s %10.2f %10.2f %7.2fx  %s\n", c.name.c_str(), result.native_us,
                result.strider_us, ratio, result.layout_class.c_str());
    results.push_back({{"type", c.name},
                       {"spec", core::to_string(spec)},
                       {"native_us", result.native_us},
                       {"strider_us", result.strider_us},
                       {"ratio", ratio},
                       {"layout_class", result.layout_class},
                       {"layout_size_matches", result.layout_size_matches}});
  }

  nlohmann::json out{{"benchmark", "type_commit"},
                     {"unit", "microseconds (median)"},
                     {"repetitions", reps},
                     {"mpi_library", std::string(version, static_cast<std::size_t>(version_length))},
                     {"results", results}};
  std::ofstream file(json_path);
  file << out.dump(2) << "\n";
  if (!file) {
    std::fprintf(stderr, "cannot write %s\n", json_path.c_str());
    status = 1;
  } else {
    std::printf("wrote %s\n", json_path.c_str());
  }
  MPI_Finalize();
  return status;
}
