/* For the plain MPI benchmarks, which do not link Strider: whether it is in the process. */
#ifndef STRIDER_BENCH_PROBE_H
#define STRIDER_BENCH_PROBE_H

#include <dlfcn.h>
#include <string.h>

/* "active", "disabled" (loaded, STRIDER_DISABLE=1) or "absent", asked at run time. */
static inline const char* strider_state(void) {
  void* sym = dlsym(RTLD_DEFAULT, "strider_is_active");
  if (sym == NULL) return "absent";
  int (*is_active)(void);
  memcpy(&is_active, &sym, sizeof is_active);
  return is_active() ? "active" : "disabled";
}

#endif
