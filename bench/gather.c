/* strider_bench_gather: a 2-D array distributed over P ranks in blocks of columns, gathered to
 * rank 0 (or scattered from it) with MPI_Gatherv / MPI_Scatterv and a derived receive (send)
 * type at the root, the idiom codes use for I/O and for setting up a decomposition. A plain MPI
 * program (it does not link Strider): the same binary runs natively and with libstrider.so
 * preloaded.
 *
 *   mpiexec -n P strider_bench_gather [--n N] [--types block|columns]
 *       [--method gatherv|igatherv|scatterv|iscatterv] [--reps R] [--warmup W] [--json FILE]
 *   (defaults: --n 1024 --types block --method gatherv --reps 50 --warmup 3; N a multiple of P)
 *
 * The global array G at the root is N x N doubles, row-major; rank p holds columns p * N / P ..
 * (p + 1) * N / P - 1 (W = N / P of them) and G(y, x) = x + N * y.
 *   block    rank p's local array is its W columns row-major (N rows of W doubles, one
 *            contiguous run sent or received as N * W doubles). At the root, one
 *            MPI_Type_create_subarray of N x W at (0, 0) in N x N, resized to W doubles:
 *            count 1 and displacement p per rank, blocks of W doubles.
 *   columns  rank p's local array is its W columns column-major (the transpose: W rows of N).
 *            At the root, one column of G (a vector of N doubles N apart) resized to one double:
 *            count W and displacement p * W per rank, blocks of single doubles.
 * --method igatherv / iscatterv: the nonblocking call and MPI_Wait. Each call is timed on every
 * rank between a barrier and its return; the call's time is the slowest rank's. Not timed:
 * after every call, warmup included, every element that moved is compared with its value (G at
 * the root after a gather, the local array after a scatter) and reset to a sentinel. Prints one
 * line on rank 0:
 *   RESULT bench=gather types=block method=gatherv ranks=2 n=1024 median_ms=... min_ms=...
 *          max_ms=... bytes=... gbs=... strider=active verified=yes
 * (bytes: the doubles that cross between different ranks, times 8; strider: active, disabled or
 * absent) and with --json FILE the same fields as one JSON object. Exit status 1 when any
 * element was wrong, 2 on bad arguments. */
#include <errno.h>
#include <limits.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "strider_probe.h"

enum Types { kBlock, kColumns };
static const char* const kTypeNames[] = {"block", "columns"};
enum Method { kGatherv, kIgatherv, kScatterv, kIscatterv };
static const char* const kMethodNames[] = {"gatherv", "igatherv", "scatterv", "iscatterv"};

static const double kSentinel = -1.0;

/* Where local element (y, xl) of a rank lies in its local array. */
static size_t local_index(enum Types types, int n, int w, int y, int xl) {
  return types == kBlock ? (size_t)y * (size_t)w + (size_t)xl : (size_t)xl * (size_t)n + (size_t)y;
}

/* Compares what the call delivered with the values it must hold, resetting it to the sentinel;
 * returns the number of wrong elements and prints the first few (*reported counts them). */
static long long check_and_reset(double* data, size_t count, int rank, int n, int w, enum Types types, int gathered,
                                 long long* reported) {
  long long bad = 0;
  for (size_t k = 0; k < count; ++k) {
    double want;
    if (gathered) { /* G(y, x) at the root */
      want = (double)(k % (size_t)n) + (double)n * (double)(k / (size_t)n);
    } else { /* local (y, xl) of `rank`: global x = rank * w + xl */
      const size_t y = types == kBlock ? k / (size_t)w : k % (size_t)n;
      const size_t xl = types == kBlock ? k % (size_t)w : k / (size_t)n;
      want = (double)((size_t)rank * (size_t)w + xl) + (double)n * (double)y;
    }
    if (data[k] != want) {
      if (*reported < 5) {
        fprintf(stderr, "rank %d: element %zu is %.17g, expected %.17g\n", rank, k, data[k], want);
        ++*reported;
      }
      ++bad;
    }
    data[k] = kSentinel;
  }
  return bad;
}

static void usage(void) {
  fprintf(stderr,
          "usage: mpiexec -n P strider_bench_gather [--n N] [--types block|columns]\n"
          "         [--method gatherv|igatherv|scatterv|iscatterv] [--reps R] [--warmup W] [--json FILE]\n"
          "       (defaults: --n 1024 --types block --method gatherv --reps 50 --warmup 3;\n"
          "       N in 1..16384, a multiple of the number of ranks)\n");
}

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0, P = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &P);
  int n = 1024, reps = 50, warmup = 3, ok = 1;
  enum Types types = kBlock;
  enum Method method = kGatherv;
  const char* json = NULL;
  for (int i = 1; i < argc && ok; i += 2) {
    const char* v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!v) {
      ok = 0;
    } else if (!strcmp(argv[i], "--n")) {
      n = parse_int(v, 1, 16384, &ok);
    } else if (!strcmp(argv[i], "--types")) {
      if (!strcmp(v, kTypeNames[kBlock])) types = kBlock;
      else if (!strcmp(v, kTypeNames[kColumns])) types = kColumns;
      else ok = 0;
    } else if (!strcmp(argv[i], "--method")) {
      ok = 0;
      for (int m = 0; m < 4; ++m)
        if (!strcmp(v, kMethodNames[m])) method = (enum Method)m, ok = 1;
    } else if (!strcmp(argv[i], "--reps")) {
      reps = parse_int(v, 1, INT_MAX, &ok);
    } else if (!strcmp(argv[i], "--warmup")) {
      warmup = parse_int(v, 0, INT_MAX, &ok);
    } else if (!strcmp(argv[i], "--json")) {
      json = v;
    } else {
      ok = 0;
    }
  }
  if (ok && n % P != 0) ok = 0;
  if (!ok) {
    if (rank == 0) usage();
    MPI_Finalize();
    return 2;
  }
  const int w = n / P;
  const int gather = method == kGatherv || method == kIgatherv;
  const size_t local_count = (size_t)n * (size_t)w, global_count = (size_t)n * (size_t)n;
  double* local = malloc(local_count * sizeof(double));
  double* global = rank == 0 ? malloc(global_count * sizeof(double)) : NULL;
  double* times = malloc((size_t)reps * sizeof(double));
  int* counts = malloc((size_t)P * sizeof(int));
  int* displs = malloc((size_t)P * sizeof(int));
  if (!local || (rank == 0 && !global) || !times || !counts || !displs) {
    fprintf(stderr, "strider_bench_gather: rank %d: out of memory\n", rank);
    MPI_Abort(MPI_COMM_WORLD, 1);
  }

  /* The root's type, and each rank's count and displacement in it. */
  MPI_Datatype part, root_type;
  if (types == kBlock) {
    const int sizes[2] = {n, n}, subsizes[2] = {n, w}, starts[2] = {0, 0};
    MPI_Type_create_subarray(2, sizes, subsizes, starts, MPI_ORDER_C, MPI_DOUBLE, &part);
    MPI_Type_create_resized(part, 0, (MPI_Aint)w * (MPI_Aint)sizeof(double), &root_type);
  } else {
    MPI_Type_vector(n, 1, n, MPI_DOUBLE, &part);
    MPI_Type_create_resized(part, 0, (MPI_Aint)sizeof(double), &root_type);
  }
  MPI_Type_commit(&root_type);
  MPI_Type_free(&part);
  for (int p = 0; p < P; ++p) {
    counts[p] = types == kBlock ? 1 : w;
    displs[p] = types == kBlock ? p : p * w;
  }

  /* The source of the moves: each rank's columns (gather) or G at the root (scatter). */
  for (int y = 0; y < n; ++y)
    for (int xl = 0; xl < w; ++xl)
      local[local_index(types, n, w, y, xl)] = gather ? (double)(rank * w + xl) + (double)n * (double)y : kSentinel;
  if (rank == 0)
    for (size_t k = 0; k < global_count; ++k)
      global[k] = gather ? kSentinel : (double)(k % (size_t)n) + (double)n * (double)(k / (size_t)n);

  long long bad = 0, reported = 0;
  for (int it = -warmup; it < reps; ++it) {
    MPI_Request request = MPI_REQUEST_NULL;
    MPI_Barrier(MPI_COMM_WORLD);
    const double t0 = MPI_Wtime();
    switch (method) {
      case kGatherv:
        MPI_Gatherv(local, (int)local_count, MPI_DOUBLE, global, counts, displs, root_type, 0, MPI_COMM_WORLD);
        break;
      case kIgatherv:
        MPI_Igatherv(local, (int)local_count, MPI_DOUBLE, global, counts, displs, root_type, 0, MPI_COMM_WORLD,
                     &request);
        break;
      case kScatterv:
        MPI_Scatterv(global, counts, displs, root_type, local, (int)local_count, MPI_DOUBLE, 0, MPI_COMM_WORLD);
        break;
      case kIscatterv:
        MPI_Iscatterv(global, counts, displs, root_type, local, (int)local_count, MPI_DOUBLE, 0, MPI_COMM_WORLD,
                      &request);
        break;
    }
    MPI_Wait(&request, MPI_STATUS_IGNORE);
    double elapsed = MPI_Wtime() - t0;
    MPI_Allreduce(MPI_IN_PLACE, &elapsed, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    if (it >= 0) times[it] = elapsed;
    if (gather && rank == 0) bad += check_and_reset(global, global_count, rank, n, w, types, 1, &reported);
    if (!gather) bad += check_and_reset(local, local_count, rank, n, w, types, 0, &reported);
  }
  long long total_bad = 0;
  MPI_Allreduce(&bad, &total_bad, 1, MPI_LONG_LONG, MPI_SUM, MPI_COMM_WORLD);

  qsort(times, (size_t)reps, sizeof(double), compare_doubles);
  const double med = times[reps / 2] * 1e3, lo = times[0] * 1e3, hi = times[reps - 1] * 1e3;
  const long long bytes = (long long)(P - 1) * (long long)local_count * (long long)sizeof(double);
  const double gbs = (double)bytes / (times[reps / 2] * 1e9);
  if (rank == 0) {
    if (total_bad != 0) fprintf(stderr, "strider_bench_gather: %lld wrong elements\n", total_bad);
    printf("RESULT bench=gather types=%s method=%s ranks=%d n=%d median_ms=%.4f min_ms=%.4f max_ms=%.4f bytes=%lld "
           "gbs=%.3f strider=%s verified=%s\n",
           kTypeNames[types], kMethodNames[method], P, n, med, lo, hi, bytes, gbs, strider_state(),
           total_bad == 0 ? "yes" : "no");
    fflush(stdout);
    FILE* f = json ? fopen(json, "w") : NULL;
    if (json && !f) fprintf(stderr, "strider_bench_gather: cannot write %s\n", json);
    if (f) {
      fprintf(f,
              "{\"benchmark\": \"gather\", \"types\": \"%s\", \"method\": \"%s\", \"ranks\": %d, \"n\": %d, "
              "\"reps\": %d, \"warmup\": %d, \"median_ms\": %.6f, \"min_ms\": %.6f, \"max_ms\": %.6f, "
              "\"bytes\": %lld, \"gbs\": %.6f, \"strider\": \"%s\", \"verified\": %s}\n",
              kTypeNames[types], kMethodNames[method], P, n, reps, warmup, med, lo, hi, bytes, gbs, strider_state(),
              total_bad == 0 ? "true" : "false");
      fclose(f);
    }
  }
  MPI_Type_free(&root_type);
  free(local);
  free(global);
  free(times);
  free(counts);
  free(displs);
  MPI_Finalize();
  return total_bad == 0 ? 0 : 1;
}
