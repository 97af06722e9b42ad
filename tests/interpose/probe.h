/* Shared by the interposition test programs, which are plain MPI programs that know nothing
 * of Strider: report whether libstrider.so is in the process, looked up at run time. */
#ifndef STRIDER_TEST_PROBE_H
#define STRIDER_TEST_PROBE_H

#include <dlfcn.h>
#include <stdio.h>

/* Prints "<program>[<rank>]: strider loaded active=<0|1> version=<n>" or "... not loaded". */
static void probe_strider(const char* program, int rank) {
  int (*is_active)(void) = NULL;
  int (*version)(void) = NULL;
  /* POSIX: a dlsym result converts to a function pointer through this idiom. */
  *(void**)(&is_active) = dlsym(RTLD_DEFAULT, "strider_is_active");
  *(void**)(&version) = dlsym(RTLD_DEFAULT, "strider_version");
  if (is_active == NULL || version == NULL) {
    printf("%s[%d]: strider not loaded\n", program, rank);
  } else {
    printf("%s[%d]: strider loaded active=%d version=%d\n", program, rank, is_active(), version());
  }
  fflush(stdout);
}

#endif
