/* Small helpers shared by the plain MPI benchmarks: sorting times and reading integer options. */
#ifndef STRIDER_BENCH_UTIL_H
#define STRIDER_BENCH_UTIL_H

#include <errno.h>
#include <stdlib.h>

/* qsort comparison of doubles, ascending. */
static inline int compare_doubles(const void* a, const void* b) {
  const double x = *(const double*)a, y = *(const double*)b;
  return (x > y) - (x < y);
}

/* A whole decimal int in [lo, hi]; *ok cleared (and lo returned) otherwise. */
static inline int parse_int(const char* text, int lo, int hi, int* ok) {
  char* end = NULL;
  errno = 0;
  const long v = strtol(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || v < lo || v > hi) {
    *ok = 0;
    return lo;
  }
  return (int)v;
}

#endif
