#include "core/config.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <mutex>

#include "core/log.hpp"

extern char** environ;

namespace strider::core {
namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  return text;
}

const VarInfo* find_var(std::string_view name) {
  for (const auto& var : kVariables)
    if (var.name == name) return &var;
  return nullptr;
}

// Stores one parsed value; returns false (leaving the default) when the text is malformed.
bool apply(Config& config, const VarInfo& var, std::string_view text) {
  if (var.name == "STRIDER_DISABLE") return parse_bool(text, config.disable);
  if (var.name == "STRIDER_LOG") return parse_log_level(text, config.log);
  if (var.name == "STRIDER_STATS") return parse_bool(text, config.stats);
  if (var.name == "STRIDER_CACHE_DIR") {
    config.cache_dir = std::string(text);
    return true;
  }
  if (var.name == "STRIDER_METHOD") return parse_method(text, config.method);
  if (var.name == "STRIDER_EXPLAIN") return parse_bool(text, config.explain);
  if (var.name == "STRIDER_SPLIT_SEND") return parse_split(text, config.split_send);
  return false;
}

std::mutex g_config_mutex;
Config g_config;
// Set once the configuration is parsed; read on every intercepted call, so lock-free.
std::atomic<bool> g_config_ready{false};

}  // namespace

bool parse_bool(std::string_view text, bool& out) {
  const std::string value = lower(trim(text));
  if (value == "1" || value == "true" || value == "yes" || value == "on") {
    out = true;
    return true;
  }
  if (value == "0" || value == "false" || value == "no" || value == "off" || value.empty()) {
    out = false;
    return true;
  }
  return false;
}

bool parse_log_level(std::string_view text, LogLevel& out) {
  const std::string value = lower(trim(text));
  static constexpr std::array<std::pair<std::string_view, LogLevel>, 6> kNames{{
      {"off", LogLevel::off},
      {"error", LogLevel::error},
      {"warn", LogLevel::warn},
      {"warning", LogLevel::warn},
      {"info", LogLevel::info},
      {"debug", LogLevel::debug},
  }};
  for (const auto& [name, level] : kNames)
    if (value == name) {
      out = level;
      return true;
    }
  return false;
}

bool parse_method(std::string_view text, MethodChoice& out) {
  const std::string value = lower(trim(text));
  static constexpr std::array<MethodChoice, 6> kAll{MethodChoice::automatic, MethodChoice::native,
                                                   MethodChoice::host_pack, MethodChoice::device,
                                                   MethodChoice::one_shot, MethodChoice::staged};
  for (MethodChoice method : kAll)
    if (value == to_string(method)) {
      out = method;
      return true;
    }
  return false;
}

bool parse_split(std::string_view text, SplitChoice& out) {
  if (lower(trim(text)) == "auto") {
    out = SplitChoice::automatic;
    return true;
  }
  bool on = false;
  if (!parse_bool(text, on) || trim(text).empty()) return false;
  out = on ? SplitChoice::on : SplitChoice::off;
  return true;
}

std::string_view to_string(SplitChoice split) {
  switch (split) {
    case SplitChoice::automatic: return "auto";
    case SplitChoice::on: return "1";
    case SplitChoice::off: return "0";
  }
  return "?";
}

std::string_view to_string(LogLevel level) {
  switch (level) {
    case LogLevel::off: return "off";
    case LogLevel::error: return "error";
    case LogLevel::warn: return "warn";
    case LogLevel::info: return "info";
    case LogLevel::debug: return "debug";
  }
  return "?";
}

std::string_view to_string(MethodChoice method) {
  switch (method) {
    case MethodChoice::automatic: return "auto";
    case MethodChoice::native: return "native";
    case MethodChoice::host_pack: return "host-pack";
    case MethodChoice::device: return "device";
    case MethodChoice::one_shot: return "one-shot";
    case MethodChoice::staged: return "staged";
  }
  return "?";
}

ParseResult parse_config(const std::vector<std::pair<std::string, std::string>>& env) {
  ParseResult result;
  for (const auto& [name, value] : env) {
    if (name.rfind("STRIDER_", 0) != 0) continue;
    const VarInfo* var = find_var(name);
    if (var == nullptr) {
      result.warnings.push_back("unknown variable " + name + " ignored");
      continue;
    }
    if (!apply(result.config, *var, value)) {
      result.warnings.push_back("malformed value " + name + "=" + value + " ignored; using the default '" +
                                std::string(var->default_value) + "'");
    }
  }
  return result;
}

ParseResult parse_environment() {
  std::vector<std::pair<std::string, std::string>> env;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    std::string_view text(*entry);
    const auto eq = text.find('=');
    if (eq == std::string_view::npos) continue;
    env.emplace_back(std::string(text.substr(0, eq)), std::string(text.substr(eq + 1)));
  }
  return parse_config(env);
}

const Config& config() {
  if (g_config_ready.load(std::memory_order_acquire)) return g_config;
  std::lock_guard lock(g_config_mutex);
  if (!g_config_ready.load(std::memory_order_relaxed)) {
    ParseResult parsed = parse_environment();
    g_config = parsed.config;
    set_log_level(g_config.log);
    g_config_ready.store(true, std::memory_order_release);
    for (const auto& warning : parsed.warnings) log(LogLevel::warn, warning);
  }
  return g_config;
}

void set_config_for_testing(const Config& config) {
  // Tests call this before the threads that read the configuration start.
  std::lock_guard lock(g_config_mutex);
  g_config = config;
  set_log_level(config.log);
  g_config_ready.store(true, std::memory_order_release);
  new_decision_epoch();
}

}  // namespace strider::core
