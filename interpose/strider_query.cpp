// strider_* queries: how a program (or a test) finds out whether Strider is in the process.
#include "strider/strider.h"

#include "exec/runtime.hpp"

#ifndef STRIDER_VERSION_NUMBER
#error "the build defines STRIDER_VERSION_NUMBER from the project version"
#endif

extern "C" {

[[gnu::visibility("default")]] int strider_version(void) { return STRIDER_VERSION_NUMBER; }

[[gnu::visibility("default")]] int strider_is_active(void) {
  return strider::exec::enabled() ? 1 : 0;
}

}  // extern "C"
