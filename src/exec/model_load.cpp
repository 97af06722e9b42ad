#include "exec/model_load.hpp"

#include <fcntl.h>
#include <mpi.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <unordered_set>
#include <utility>

#include "backend/cuda/device.hpp"
#include "core/log.hpp"
#include "mpi/calls.hpp"

namespace strider::exec {
namespace {

std::atomic<int> g_warnings{0};
std::atomic<int> g_rank{-1};
// 0: unknown, 1: every rank on one node, 2: several nodes.
std::atomic<int> g_job_nodes{0};

std::string env(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr ? std::string(value) : std::string();
}

std::string trim(std::string text) {
  const auto begin = text.find_first_not_of(" \t\r\n");
  if (begin == std::string::npos) return {};
  const auto end = text.find_last_not_of(" \t\r\n");
  return text.substr(begin, end - begin + 1);
}

// mkdir -p; true when the directory exists afterwards.
bool make_directories(const std::string& dir) {
  if (dir.empty()) return false;
  std::string partial;
  std::size_t at = 0;
  while (at != std::string::npos) {
    at = dir.find('/', at + 1);
    partial = dir.substr(0, at);
    if (partial.empty()) continue;
    if (::mkdir(partial.c_str(), 0755) != 0 && errno != EEXIST) return false;
  }
  struct stat st {};
  return ::stat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::string directory_of(const std::string& path) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

bool write_all(int fd, const std::string& text) {
  const char* data = text.data();
  std::size_t left = text.size();
  while (left > 0) {
    const ssize_t n = ::write(fd, data, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    left -= static_cast<std::size_t>(n);
  }
  return true;
}

int job_nodes_from_environment() {
  const std::pair<const char*, const char*> pairs[] = {
      {"OMPI_COMM_WORLD_LOCAL_SIZE", "OMPI_COMM_WORLD_SIZE"}, {"MPI_LOCALNRANKS", "PMI_SIZE"}};
  for (const auto& [local, world] : pairs) {
    const std::string l = env(local);
    const std::string w = env(world);
    if (l.empty() || w.empty()) continue;
    return l == w ? 1 : 2;
  }
  return 0;
}

}  // namespace

std::string model_directory(const core::Config& config) {
  if (!config.cache_dir.empty()) return config.cache_dir;
  const std::string xdg = env("XDG_CACHE_HOME");
  if (!xdg.empty()) return xdg + "/strider";
  const std::string home = env("HOME");
  if (!home.empty()) return home + "/.cache/strider";
  return {};
}

std::string model_path(const core::Config& config) {
  const std::string dir = model_directory(config);
  if (dir.empty()) return {};
  return dir + "/" + std::string(plan::kModelFileName);
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  // x86 names the model; other architectures name the part or the hardware.
  std::string fallback;
  while (std::getline(in, line)) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    const std::string key = trim(line.substr(0, colon));
    const std::string value = trim(line.substr(colon + 1));
    if (key == "model name") return value;
    if (fallback.empty() && (key == "Hardware" || key == "CPU part" || key == "cpu model" || key == "cpu"))
      fallback = key + " " + value;
  }
  return fallback.empty() ? std::string("unknown") : fallback;
}

std::string mpi_library_version() {
  // Callable before MPI_Init and after MPI_Finalize (MPI-3.0 8.1.1); not intercepted.
  const std::string version = mpi::library_version();
  const auto end = version.find_first_of("\r\n");
  return trim(version.substr(0, end));
}

plan::Fingerprint local_fingerprint() {
  plan::Fingerprint f;
  f.cpu = cpu_model();
  f.mpi = mpi_library_version();
  return f;
}

std::optional<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string write_file_atomically(const std::string& path, const std::string& text) {
  const std::string dir = directory_of(path);
  if (!make_directories(dir)) return "cannot create directory " + dir + ": " + std::strerror(errno);
  // Unique per process and call: pid plus random bits, created exclusively.
  std::random_device rd;
  std::string tmp;
  int fd = -1;
  for (int attempt = 0; attempt < 16 && fd < 0; ++attempt) {
    tmp = path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(rd());
    fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0 && errno != EEXIST) break;
  }
  if (fd < 0) return "cannot create " + tmp + ": " + std::strerror(errno);
  const bool ok = write_all(fd, text) && ::fsync(fd) == 0;
  const int saved = errno;
  ::close(fd);
  if (!ok) {
    ::unlink(tmp.c_str());
    return "cannot write " + tmp + ": " + std::strerror(saved);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return "cannot rename " + tmp + " to " + path + ": " + std::strerror(err);
  }
  // The rename itself is durable once the directory is synced.
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return {};
}

std::string update_file_locked(const std::string& path,
                               const std::function<std::string(const std::optional<std::string>&)>& update) {
  const std::string dir = directory_of(path);
  if (!make_directories(dir)) return "cannot create directory " + dir + ": " + std::strerror(errno);
  const std::string lock_path = path + ".lock";
  const int lock = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  // Without a lock (read-only or lock-less file systems) the write is still atomic; only a
  // concurrent merge may be lost.
  if (lock >= 0) {
    while (::flock(lock, LOCK_EX) != 0 && errno == EINTR) {
    }
  }
  const std::string error = write_file_atomically(path, update(read_file(path)));
  if (lock >= 0) ::close(lock);  // releases the flock
  return error;
}

plan::LoadResult load_model_from(const std::string& path, const plan::Fingerprint& local, int rank) {
  g_rank.store(rank, std::memory_order_relaxed);
  g_job_nodes.store(job_nodes_from_environment(), std::memory_order_relaxed);
  const std::optional<std::string> text = path.empty() ? std::nullopt : read_file(path);
  const std::string_view source = path.empty() ? std::string_view("(no cache directory)") : std::string_view(path);
  plan::LoadResult result = plan::parse_model(text, local, source);
  if (result.issue == plan::ModelIssue::none && result.model.fingerprint.gpu && !local.gpu) {
    // Measured with a GPU: compare it with this machine's first device. Only then is the CUDA
    // driver asked (no context is created); a machine without a device keeps the host tables.
    plan::Fingerprint here = local;
    if (std::string name = backend::cuda::device_name(0); !name.empty()) {
      here.gpu = std::move(name);
      result = plan::parse_model(text, here, source);
    }
  }
  if (result.issue != plan::ModelIssue::none) {
    // The file is the same for every rank: one warning per job, not one per rank.
    if (rank <= 0) {
      core::log(core::LogLevel::warn, result.message);
      g_warnings.fetch_add(1, std::memory_order_relaxed);
    } else {
      core::log(core::LogLevel::debug, result.message);
    }
  } else {
    core::log(core::LogLevel::debug, "performance model loaded from " + path);
  }
  plan::install_model(std::make_shared<const plan::Model>(result.model));
  return result;
}

plan::LoadResult load_model(int rank) {
  return load_model_from(model_path(core::config()), local_fingerprint(), rank);
}

int model_warnings() { return g_warnings.load(std::memory_order_relaxed); }

plan::Locality job_locality() {
  return g_job_nodes.load(std::memory_order_relaxed) == 2 ? plan::Locality::inter_node : plan::Locality::intra_node;
}

void print_explanation(const std::string& text) {
  // Decisions are cached per layout, and a halo exchange builds many layouts that differ only
  // in their offsets; the user wants each distinct decision (the same text) once.
  {
    static std::mutex mutex;
    static auto* printed = new std::unordered_set<std::string>;  // never destroyed, like the cache
    const std::lock_guard lock(mutex);
    if (printed->size() >= 4096 || !printed->insert(text).second) return;
  }
  const int rank = g_rank.load(std::memory_order_relaxed);
  std::string line = "strider";
  if (rank >= 0) {
    line += '[';
    line += std::to_string(rank);
    line += ']';
  }
  line += " explain: ";
  line += text;
  line += '\n';
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace strider::exec
