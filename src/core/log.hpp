#pragma once
// Run-time leveled logging to stderr, prefixed with "strider" and the rank once known.
#include <string_view>

#include "core/config.hpp"

namespace strider::core {

void set_log_level(LogLevel level);
LogLevel log_level();
bool log_enabled(LogLevel level);
// The rank shown in the prefix; -1 (the default) shows none.
void set_log_rank(int rank);
void log(LogLevel level, std::string_view message);

}  // namespace strider::core
