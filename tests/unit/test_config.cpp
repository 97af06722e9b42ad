// core::parse_config: the STRIDER_* table, parsed from injected name=value pairs.
#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include "core/config.hpp"

using strider::core::Config;
using strider::core::LogLevel;
using strider::core::MethodChoice;
using strider::core::parse_config;
using strider::core::ParseResult;

namespace {

using Env = std::vector<std::pair<std::string, std::string>>;

bool mentions(const std::vector<std::string>& warnings, const std::string& text) {
  return std::any_of(warnings.begin(), warnings.end(),
                     [&](const std::string& w) { return w.find(text) != std::string::npos; });
}

}  // namespace

TEST_CASE("an environment without STRIDER_ variables gives the documented defaults", "[config]") {
  const ParseResult result = parse_config({{"PATH", "/usr/bin"}, {"HOME", "/root"}});
  CHECK(result.warnings.empty());
  CHECK_FALSE(result.config.disable);
  CHECK(result.config.log == LogLevel::warn);
  CHECK_FALSE(result.config.stats);
  CHECK(result.config.cache_dir.empty());
  CHECK(result.config.method == MethodChoice::automatic);
  CHECK_FALSE(result.config.explain);
}

TEST_CASE("the defaults in the variable table are the defaults of Config", "[config]") {
  // Parsing every documented default must give Config{} and no warning.
  Env env;
  for (const auto& var : strider::core::kVariables)
    env.emplace_back(std::string(var.name), std::string(var.default_value));
  const ParseResult result = parse_config(env);
  CHECK(result.warnings.empty());
  const Config defaults;
  CHECK(result.config.disable == defaults.disable);
  CHECK(result.config.log == defaults.log);
  CHECK(result.config.stats == defaults.stats);
  CHECK(result.config.cache_dir == defaults.cache_dir);
  CHECK(result.config.split_send == defaults.split_send);
  CHECK(result.config.method == defaults.method);
  CHECK(result.config.explain == defaults.explain);
}

TEST_CASE("boolean variables accept the usual spellings of true and false", "[config]") {
  const auto [text, expected] = GENERATE(table<std::string, bool>({
      {"1", true}, {"true", true}, {"TRUE", true}, {"yes", true}, {"on", true}, {" 1 ", true},
      {"0", false}, {"false", false}, {"No", false}, {"off", false}, {"", false},
  }));
  CAPTURE(text);
  const ParseResult result =
      parse_config({{"STRIDER_DISABLE", text}, {"STRIDER_STATS", text}, {"STRIDER_EXPLAIN", text}});
  CHECK(result.warnings.empty());
  CHECK(result.config.disable == expected);
  CHECK(result.config.stats == expected);
  CHECK(result.config.explain == expected);
}

TEST_CASE("STRIDER_DISABLE=0 means Strider is not disabled", "[config]") {
  const ParseResult result = parse_config({{"STRIDER_DISABLE", "0"}});
  CHECK(result.warnings.empty());
  CHECK_FALSE(result.config.disable);
  CHECK(parse_config({{"STRIDER_DISABLE", "1"}}).config.disable);
}

TEST_CASE("a malformed boolean warns, names the variable and keeps the default", "[config]") {
  const std::string text = GENERATE("2", "maybe", "1x", "-1", "enable");
  CAPTURE(text);
  const ParseResult result = parse_config({{"STRIDER_STATS", text}});
  REQUIRE(result.warnings.size() == 1);
  CHECK(mentions(result.warnings, "STRIDER_STATS=" + text));
  CHECK(mentions(result.warnings, "'0'"));  // the default it falls back to
  CHECK_FALSE(result.config.stats);
}

TEST_CASE("a malformed STRIDER_DISABLE leaves Strider enabled", "[config]") {
  const ParseResult result = parse_config({{"STRIDER_DISABLE", "please"}});
  REQUIRE(result.warnings.size() == 1);
  CHECK(mentions(result.warnings, "STRIDER_DISABLE"));
  CHECK_FALSE(result.config.disable);
}

TEST_CASE("STRIDER_LOG accepts every level name in any case", "[config]") {
  const auto [text, expected] = GENERATE(table<std::string, LogLevel>({
      {"off", LogLevel::off}, {"error", LogLevel::error}, {"warn", LogLevel::warn},
      {"warning", LogLevel::warn}, {"info", LogLevel::info}, {"debug", LogLevel::debug},
      {"DEBUG", LogLevel::debug}, {" Info", LogLevel::info},
  }));
  CAPTURE(text);
  const ParseResult result = parse_config({{"STRIDER_LOG", text}});
  CHECK(result.warnings.empty());
  CHECK(result.config.log == expected);
}

TEST_CASE("an unknown log level warns and keeps warn", "[config]") {
  const ParseResult result = parse_config({{"STRIDER_LOG", "verbose"}});
  REQUIRE(result.warnings.size() == 1);
  CHECK(mentions(result.warnings, "STRIDER_LOG=verbose"));
  CHECK(result.config.log == LogLevel::warn);
}

TEST_CASE("STRIDER_METHOD accepts every method name", "[config]") {
  const auto [text, expected] = GENERATE(table<std::string, MethodChoice>({
      {"auto", MethodChoice::automatic}, {"native", MethodChoice::native},
      {"host-pack", MethodChoice::host_pack}, {"device", MethodChoice::device},
      {"one-shot", MethodChoice::one_shot}, {"staged", MethodChoice::staged},
      {"Staged", MethodChoice::staged},
  }));
  CAPTURE(text);
  const ParseResult result = parse_config({{"STRIDER_METHOD", text}});
  CHECK(result.warnings.empty());
  CHECK(result.config.method == expected);
  // The printed name parses back to the same method.
  MethodChoice round_trip = MethodChoice::automatic;
  CHECK(strider::core::parse_method(strider::core::to_string(expected), round_trip));
  CHECK(round_trip == expected);
}

TEST_CASE("an unknown method warns and keeps auto", "[config]") {
  const std::string text = GENERATE("host_pack", "gpu", "fastest");
  CAPTURE(text);
  const ParseResult result = parse_config({{"STRIDER_METHOD", text}});
  REQUIRE(result.warnings.size() == 1);
  CHECK(mentions(result.warnings, "STRIDER_METHOD=" + text));
  CHECK(result.config.method == MethodChoice::automatic);
}

TEST_CASE("STRIDER_SPLIT_SEND takes auto or a boolean, and warns on anything else", "[config]") {
  using strider::core::SplitChoice;
  const auto [text, expected] = GENERATE(table<std::string, SplitChoice>({
      {"auto", SplitChoice::automatic}, {"AUTO", SplitChoice::automatic}, {"1", SplitChoice::on},
      {"yes", SplitChoice::on}, {"0", SplitChoice::off}, {"off", SplitChoice::off},
  }));
  CAPTURE(text);
  ParseResult result = parse_config({{"STRIDER_SPLIT_SEND", text}});
  CHECK(result.warnings.empty());
  CHECK(result.config.split_send == expected);
  SplitChoice round_trip = SplitChoice::automatic;
  CHECK(strider::core::parse_split(strider::core::to_string(expected), round_trip));
  CHECK(round_trip == expected);
  result = parse_config({{"STRIDER_SPLIT_SEND", "sometimes"}});
  CHECK(mentions(result.warnings, "STRIDER_SPLIT_SEND=sometimes"));
  CHECK(result.config.split_send == SplitChoice::automatic);
  CHECK(parse_config({{"STRIDER_SPLIT_SEND", ""}}).warnings.size() == 1);
}

TEST_CASE("STRIDER_CACHE_DIR is taken verbatim", "[config]") {
  const ParseResult result = parse_config({{"STRIDER_CACHE_DIR", "/scratch/my models/strider"}});
  CHECK(result.warnings.empty());
  CHECK(result.config.cache_dir == "/scratch/my models/strider");
}

TEST_CASE("an unknown STRIDER_ variable warns with its name and changes nothing", "[config]") {
  const ParseResult result =
      parse_config({{"STRIDER_STAT", "1"}, {"STRIDER_DISABLE", "0"}, {"STRIDER_LOG", "info"}});
  REQUIRE(result.warnings.size() == 1);
  CHECK(mentions(result.warnings, "STRIDER_STAT"));
  CHECK_FALSE(result.config.stats);
  CHECK(result.config.log == LogLevel::info);
}

TEST_CASE("only names that start with STRIDER_ are looked at", "[config]") {
  const ParseResult result =
      parse_config({{"strider_stats", "1"}, {"MY_STRIDER_LOG", "debug"}, {"STRIDER", "1"}});
  CHECK(result.warnings.empty());
  CHECK_FALSE(result.config.stats);
  CHECK(result.config.log == LogLevel::warn);
}

TEST_CASE("every problem in one environment gets its own warning", "[config]") {
  const ParseResult result = parse_config({{"STRIDER_LOG", "loud"},
                                           {"STRIDER_METHOD", "magic"},
                                           {"STRIDER_NOPE", "1"},
                                           {"STRIDER_STATS", "1"}});
  CHECK(result.warnings.size() == 3);
  CHECK(mentions(result.warnings, "STRIDER_LOG=loud"));
  CHECK(mentions(result.warnings, "STRIDER_METHOD=magic"));
  CHECK(mentions(result.warnings, "STRIDER_NOPE"));
  CHECK(result.config.stats);
}

TEST_CASE("the variable table lists each variable once with help text", "[config]") {
  std::vector<std::string> names;
  for (const auto& var : strider::core::kVariables) {
    CHECK(var.name.substr(0, 8) == "STRIDER_");
    CHECK_FALSE(var.help.empty());
    names.emplace_back(var.name);
  }
  std::sort(names.begin(), names.end());
  CHECK(std::adjacent_find(names.begin(), names.end()) == names.end());
  for (const char* documented : {"STRIDER_CACHE_DIR", "STRIDER_DISABLE", "STRIDER_EXPLAIN",
                                 "STRIDER_LOG", "STRIDER_METHOD", "STRIDER_SPLIT_SEND", "STRIDER_STATS"})
    CHECK(std::binary_search(names.begin(), names.end(), std::string(documented)));
}
