#pragma once
// The STRIDER_* environment variables: one typed table with defaults, units and help text.
// Parsing is pure (the environment is passed in), so tests inject values.
#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace strider::core {

enum class LogLevel { off, error, warn, info, debug };

// Method names accepted by STRIDER_METHOD ("auto" lets the planner choose).
enum class MethodChoice { automatic, native, host_pack, device, one_shot, staged };

// STRIDER_SPLIT_SEND: whether host-packed messages leave as two blocks (see exec's split
// sends): as the performance model says, always, or never.
enum class SplitChoice { automatic, on, off };

struct Config {
  bool disable = false;         // STRIDER_DISABLE: forward every call untouched
  LogLevel log = LogLevel::warn;
  bool stats = false;           // STRIDER_STATS: counters printed at MPI_Finalize
  std::string cache_dir;        // STRIDER_CACHE_DIR: empty = XDG/home default
  MethodChoice method = MethodChoice::automatic;
  bool explain = false;         // STRIDER_EXPLAIN: print each distinct decision once
  SplitChoice split_send = SplitChoice::automatic;
};

enum class VarType { boolean, log_level, path, method, split };

struct VarInfo {
  std::string_view name;
  VarType type;
  std::string_view default_value;
  std::string_view help;
};

// Every recognised variable, in the order the README and `strider-explain --config` list them.
inline constexpr std::array<VarInfo, 7> kVariables{{
    {"STRIDER_DISABLE", VarType::boolean, "0",
     "1: forward every MPI call to the underlying MPI untouched"},
    {"STRIDER_LOG", VarType::log_level, "warn", "log level: off, error, warn, info, debug"},
    {"STRIDER_STATS", VarType::boolean, "0",
     "1: print per-rank call, byte and fallback counters at MPI_Finalize"},
    {"STRIDER_CACHE_DIR", VarType::path, "",
     "directory of the performance model (default $XDG_CACHE_HOME/strider, ~/.cache/strider)"},
    {"STRIDER_METHOD", VarType::method, "auto",
     "force a method: auto, native, host-pack, device, one-shot, staged"},
    {"STRIDER_EXPLAIN", VarType::boolean, "0",
     "1: print each distinct method decision once, with the competing estimates"},
    {"STRIDER_SPLIT_SEND", VarType::split, "auto",
     "host-packed sends as two blocks (the MPI's non-contiguous path): auto (as measured), 1, 0"},
}};

struct ParseResult {
  Config config;
  std::vector<std::string> warnings;  // malformed values and unknown STRIDER_* names
};

// Parses name=value pairs (typically the whole environment). Only names starting with
// "STRIDER_" are looked at; unknown ones produce a warning, malformed values a warning and
// the default.
ParseResult parse_config(const std::vector<std::pair<std::string, std::string>>& env);

// Parses the process environment.
ParseResult parse_environment();

// Helpers shared with the table printer and tests.
bool parse_bool(std::string_view text, bool& out);
bool parse_log_level(std::string_view text, LogLevel& out);
bool parse_method(std::string_view text, MethodChoice& out);
bool parse_split(std::string_view text, SplitChoice& out);  // "auto", or a boolean
std::string_view to_string(LogLevel level);
std::string_view to_string(MethodChoice method);
std::string_view to_string(SplitChoice split);

// The process-wide configuration: parsed on first use, warnings logged once.
const Config& config();
// Replaces the process-wide configuration (tests only). Starts a new decision epoch.
void set_config_for_testing(const Config& config);

// The decision epoch: moves on whenever an answer memoised per datatype handle may change (a
// type committed or freed, a performance model installed, the configuration replaced), so
// the hot path's memos need one load to know they are still valid.
namespace detail {
inline constinit std::atomic<std::uint64_t> g_decision_epoch{0};
}  // namespace detail
inline std::uint64_t decision_epoch() { return detail::g_decision_epoch.load(std::memory_order_acquire); }
inline void new_decision_epoch() { detail::g_decision_epoch.fetch_add(1, std::memory_order_acq_rel); }

}  // namespace strider::core
