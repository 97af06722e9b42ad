// The performance model in a 2-rank job: the loaded file drives exec's sends and receives
// (the counters show which method ran, the data is checked), a bad file warns once on rank 0
// only and falls back to the defaults, STRIDER_EXPLAIN prints each decision once, and two
// ranks writing the same model file concurrently leave a file that parses.
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <mpi.h>
#include <nlohmann/json.hpp>

#include "core/config.hpp"
#include "core/counters.hpp"
#include "exec/datatype.hpp"
#include "exec/model_load.hpp"
#include "exec/p2p.hpp"
#include "plan/model.hpp"

namespace plan = strider::plan;
namespace exec = strider::exec;
namespace core = strider::core;

namespace {

int world_rank() {
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  return rank;
}

// A directory shared by both ranks (same node), fresh for each test.
std::string shared_dir(const std::string& name) {
  std::string dir;
  if (world_rank() == 0) {
    const auto path = std::filesystem::temp_directory_path() / ("strider_mpi_model_" + name + "_" + std::to_string(::getpid()));
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
    dir = path.string();
  }
  int length = static_cast<int>(dir.size());
  MPI_Bcast(&length, 1, MPI_INT, 0, MPI_COMM_WORLD);
  dir.resize(static_cast<std::size_t>(length));
  MPI_Bcast(dir.data(), length, MPI_CHAR, 0, MPI_COMM_WORLD);
  return dir;
}

// Tables under which the underlying MPI costs `per_block` seconds per block (see the unit test).
plan::Model synthetic(double per_block) {
  plan::Model m;
  m.measured = true;
  m.fingerprint = exec::local_fingerprint();
  const std::vector<double> sizes = {64, 4096, 262144, 16777216};
  plan::LocalityTables t;
  for (double b : sizes) t.contiguous.points.push_back({b, 1e-6 + b * 1e-10, 0});
  for (double block : {8.0, 512.0, 4096.0}) {
    plan::StridedCurve pack{block, 0.5, {}}, native{block, 0.5, {}};
    for (double b : sizes) {
      if (b < block) continue;
      pack.curve.points.push_back({b, b * 1e-10, 0});
      native.curve.points.push_back({b, 1e-6 + b * 1e-10 + (b / block) * per_block, 0});
    }
    m.host_pack.curves.push_back(pack);
    m.host_unpack.curves.push_back(pack);
    t.native.curves.push_back(native);
  }
  m.intra = t;
  m.inter = t;
  return m;
}

void use_cache_dir(const std::string& dir, bool explain = false) {
  core::Config c;
  c.cache_dir = dir;
  c.explain = explain;
  core::set_config_for_testing(c);
}

// Rank 0 sends 64 columns of a 64x64 matrix of doubles' first column block (8-byte blocks),
// rank 1 receives and checks; returns how many host-pack messages this rank's counters saw.
std::uint64_t exchange_columns(int rounds, int offset = 0) {
  const int rank = world_rank();
  MPI_Datatype plain = MPI_DATATYPE_NULL, column = MPI_DATATYPE_NULL;
  MPI_Type_vector(64, 1, 64, MPI_DOUBLE, &plain);
  // Column `offset` of the matrix: the same shape at another displacement.
  const MPI_Aint displacement = offset * static_cast<MPI_Aint>(sizeof(double));
  MPI_Type_create_hindexed_block(1, 1, &displacement, plain, &column);
  MPI_Type_free(&plain);
  REQUIRE(exec::type_commit(&column) == MPI_SUCCESS);
  std::vector<double> matrix(64 * 64);
  const std::uint64_t before = core::counters().method_calls(core::Method::host_pack);
  for (int round = 0; round < rounds; ++round) {
    if (rank == 0) {
      for (std::size_t i = 0; i < matrix.size(); ++i) matrix[i] = static_cast<double>(i) + round;
      REQUIRE(exec::send(matrix.data(), 1, column, 1, 21, MPI_COMM_WORLD) == MPI_SUCCESS);
    } else {
      std::fill(matrix.begin(), matrix.end(), -1.0);
      REQUIRE(exec::recv(matrix.data(), 1, column, 0, 21, MPI_COMM_WORLD, MPI_STATUS_IGNORE) == MPI_SUCCESS);
      for (std::size_t i = 0; i < matrix.size(); ++i)
        REQUIRE(matrix[i] == (i % 64 == static_cast<std::size_t>(offset) ? static_cast<double>(i) + round : -1.0));
    }
  }
  exec::type_free(&column);
  return core::counters().method_calls(core::Method::host_pack) - before;
}

// Restores the defaults and the configuration after a test.
struct Restore {
  ~Restore() {
    plan::install_model(nullptr);
    core::set_config_for_testing(core::Config{});
  }
};

}  // namespace

TEST_CASE("the model file in the cache directory decides the method of every rank's messages", "[model]") {
  const Restore restore;
  const std::string dir = shared_dir("decide");
  use_cache_dir(dir);
  const std::string path = dir + "/model.json";
  for (const auto& [per_block, packed] : {std::pair{1e-5, true}, std::pair{0.0, false}}) {
    if (world_rank() == 0) REQUIRE(exec::write_file_atomically(path, plan::to_json(synthetic(per_block)).dump()).empty());
    MPI_Barrier(MPI_COMM_WORLD);
    const plan::LoadResult loaded = exec::load_model(world_rank());
    REQUIRE(loaded.issue == plan::ModelIssue::none);
    CHECK(plan::installed_model()->measured);
    CHECK(plan::installed_model()->source == path);
    const std::uint64_t host_packed = exchange_columns(3);
    CHECK(host_packed == (packed ? 3u : 0u));
    MPI_Barrier(MPI_COMM_WORLD);
  }
  if (world_rank() == 0) std::filesystem::remove_all(dir);
}

TEST_CASE("a corrupt model file warns once, on rank 0 only, and the job runs on the defaults", "[model]") {
  const Restore restore;
  const std::string dir = shared_dir("corrupt");
  use_cache_dir(dir);
  if (world_rank() == 0) {
    std::FILE* f = std::fopen((dir + "/model.json").c_str(), "w");
    REQUIRE(f != nullptr);
    std::fputs("{\"schema\": \"strider-model\", \"schema_version\": 1, \"host\": {\"pack\": [", f);
    std::fclose(f);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  const int before = exec::model_warnings();
  const plan::LoadResult loaded = exec::load_model(world_rank());
  CHECK(loaded.issue == plan::ModelIssue::corrupt);
  CHECK_FALSE(plan::installed_model()->measured);
  // The defaults host-pack 8-byte blocks; the data still arrives intact.
  CHECK(exchange_columns(4) == 4u);
  CHECK(exec::model_warnings() - before == (world_rank() == 0 ? 1 : 0));
  int total = exec::model_warnings() - before;
  MPI_Allreduce(MPI_IN_PLACE, &total, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  CHECK(total == 1);
  MPI_Barrier(MPI_COMM_WORLD);
  if (world_rank() == 0) std::filesystem::remove_all(dir);
}

TEST_CASE("STRIDER_EXPLAIN prints each distinct decision once with the competing estimates", "[model]") {
  const Restore restore;
  const std::string dir = shared_dir("explain");
  use_cache_dir(dir, true);
  if (world_rank() == 0) REQUIRE(exec::write_file_atomically(dir + "/model.json", plan::to_json(synthetic(1e-5)).dump()).empty());
  MPI_Barrier(MPI_COMM_WORLD);
  REQUIRE(exec::load_model(world_rank()).issue == plan::ModelIssue::none);
  // Capture this rank's stderr in a file while it sends the same message five times, then the
  // same shape at another offset (another layout, the same decision) five times.
  const std::string capture = dir + "/stderr." + std::to_string(world_rank());
  std::fflush(stderr);
  const int saved = ::dup(STDERR_FILENO);
  const int fd = ::open(capture.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  REQUIRE(fd >= 0);
  ::dup2(fd, STDERR_FILENO);
  ::close(fd);
  exchange_columns(5);
  exchange_columns(5, 3);
  std::fflush(stderr);
  ::dup2(saved, STDERR_FILENO);
  ::close(saved);
  const std::string text = exec::read_file(capture).value_or("");
  std::size_t lines = 0;
  for (std::size_t at = text.find("explain:"); at != std::string::npos; at = text.find("explain:", at + 1)) ++lines;
  CAPTURE(text);
  CHECK(lines == 1);
  CHECK(text.find("strider[" + std::to_string(world_rank()) + "] explain:") != std::string::npos);
  CHECK(text.find("native") != std::string::npos);
  CHECK(text.find("chose host-pack") != std::string::npos);
  MPI_Barrier(MPI_COMM_WORLD);
  if (world_rank() == 0) std::filesystem::remove_all(dir);
}

TEST_CASE("two ranks merging into the same model file concurrently leave a file that parses", "[model]") {
  const std::string dir = shared_dir("writers");
  const std::string path = dir + "/model.json";
  const plan::Fingerprint here = exec::local_fingerprint();
  MPI_Barrier(MPI_COMM_WORLD);
  int failures = 0;
  for (int i = 0; i < 30; ++i) {
    const std::string error = exec::update_file_locked(path, [&](const std::optional<std::string>& old) {
      if (old && plan::parse_model(old, here, path).issue != plan::ModelIssue::none) ++failures;
      return plan::to_json(synthetic(1e-9 * (i + 1) * (world_rank() + 1))).dump(1);
    });
    if (!error.empty()) ++failures;
    const auto now = exec::read_file(path);
    if (!now || plan::parse_model(now, here, path).issue != plan::ModelIssue::none) ++failures;
  }
  CHECK(failures == 0);
  MPI_Barrier(MPI_COMM_WORLD);
  CHECK(plan::parse_model(exec::read_file(path), here, path).issue == plan::ModelIssue::none);
  MPI_Barrier(MPI_COMM_WORLD);
  if (world_rank() == 0) std::filesystem::remove_all(dir);
}
