#include "core/log.hpp"

#include <atomic>
#include <cstdio>
#include <string>

namespace strider::core {
namespace {
std::atomic<LogLevel> g_level{LogLevel::warn};
std::atomic<int> g_rank{-1};
}  // namespace

void set_log_level(LogLevel level) { g_level.store(level, std::memory_order_relaxed); }
LogLevel log_level() { return g_level.load(std::memory_order_relaxed); }

bool log_enabled(LogLevel level) {
  return level != LogLevel::off && static_cast<int>(level) <= static_cast<int>(log_level());
}

void set_log_rank(int rank) { g_rank.store(rank, std::memory_order_relaxed); }

void log(LogLevel level, std::string_view message) {
  if (!log_enabled(level)) return;
  std::string line = "strider";
  const int rank = g_rank.load(std::memory_order_relaxed);
  if (rank >= 0) line += "[" + std::to_string(rank) + "]";
  line += " ";
  line += to_string(level);
  line += ": ";
  line += message;
  line += '\n';
  // One write per line so lines from concurrent threads and ranks do not interleave.
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace strider::core
