#pragma once
// Strider's configuration changed for one scope of a test that links the modules: the
// configuration with `change` applied from construction, the previous one restored after.
#include "core/config.hpp"

namespace strider::test {

template <class Change>
struct ScopedConfig {
  core::Config saved = core::config();
  explicit ScopedConfig(Change change) {
    core::Config c = saved;
    change(c);
    core::set_config_for_testing(c);
  }
  ScopedConfig(const ScopedConfig&) = delete;
  ScopedConfig& operator=(const ScopedConfig&) = delete;
  ~ScopedConfig() { core::set_config_for_testing(saved); }
};

}  // namespace strider::test
