/* strider_bench_transpose: a distributed 3-D transpose with MPI_Alltoallw and derived datatypes,
 * the redistribution an FFT code does between its slab (or pencil) decompositions. A plain MPI
 * program (it does not link Strider): the same binary runs natively and with libstrider.so
 * preloaded.
 *
 *   mpiexec -n P strider_bench_transpose [--n N | --grid X,Y,Z] [--types subarray|transpose]
 *       [--method alltoallw|ialltoallw|alltoallv|ialltoallv] [--reps R] [--warmup W] [--json FILE]
 *   (defaults: --n 64, --types transpose, --method alltoallw, --reps 100, --warmup 3)
 *
 * The global array has X x Y x Z doubles; element (x, y, z) holds x + X * (y + Y * z), exact as a
 * double. The P ranks split an axis into blocks: rank r's block starts at r * (L / P) + min(r,
 * L % P) and holds L / P elements, plus one when r < L % P (so with P > L some ranks hold none).
 *
 * Before the exchange (input, z-slabs): rank r holds planes z0_r .. z0_r + nz_r - 1 of the whole
 * array as A[z - z0_r][y][x], x fastest. After it (output, x-slabs): rank r holds columns x0_r ..
 * x0_r + nx_r - 1 of every plane, laid out as --types says:
 *   subarray   B[z][y][x - x0_r], local x fastest: the slab layout kept, only the split axis
 *              changes. Receive type from rank j: MPI_Type_create_subarray of {nz_j, Y, nx_r} at
 *              {z0_j, 0, 0} in {Z, Y, nx_r}, C order; each receive is one contiguous run.
 *   transpose  B[x - x0_r][y][z], z fastest: x and z trade places, as before a 1-D FFT along z.
 *              The receive type walks B in the order the sender packs (z slowest, y, x fastest),
 *              so every block is one 8-byte double: an hvector of nx_r doubles Y * Z * 8 bytes
 *              apart (x), an hvector of Y of those Z * 8 bytes apart (y), an hvector of nz_j of
 *              those 8 bytes apart (z), received at byte displacement z0_j * 8.
 * Send type to rank j, both layouts: MPI_Type_create_subarray of {nz_r, Y, nx_j} at {0, 0, x0_j}
 * in {nz_r, Y, X}, C order, displacement 0: Y * nz_r rows of nx_j doubles. A pair of ranks where
 * either side holds nothing exchanges count 0 (of MPI_DOUBLE). Every rank also sends to itself.
 *
 * Each exchange is one MPI_Alltoallw on MPI_COMM_WORLD (--method ialltoallw: MPI_Ialltoallw and
 * MPI_Wait). --method alltoallv (or ialltoallv, with MPI_Wait) needs X and Z to be multiples of P,
 * so that every block has the same shape: the idiom of one send and one receive type, each
 * resized to the extent of one block (X / P doubles, and nz_j * Y * nx_r doubles or, transposed,
 * nz_j doubles), with count 1 and displacement j for rank j. Each exchange is timed on every rank between a barrier and its return; the exchange's time is the slowest rank's. Not timed: after every exchange, warmup
 * included, every element of B is compared with the value of its global coordinates (the first
 * few mismatches are printed to stderr), then B is reset to a sentinel (-1) that no element
 * holds. Prints one line on rank 0:
 *   RESULT bench=transpose types=transpose method=alltoallw ranks=2 grid=64x64x64 median_ms=... min_ms=...
 *          max_ms=... bytes=... gbs=... strider=active verified=yes
 * (bytes: the doubles that cross between different ranks in one exchange, times 8, summed over
 * all ranks, the self-copies excluded; gbs = bytes / median; strider: active, disabled (loaded
 * with STRIDER_DISABLE=1) or absent) and with --json FILE the same fields as one JSON object.
 * Exit status 1 when any element was wrong, 2 on bad arguments. */
#include <errno.h>
#include <limits.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "strider_probe.h"

enum Types { kSubarray, kTranspose };
static const char* const kTypeNames[] = {"subarray", "transpose"};
enum Method { kAlltoallw, kIalltoallw, kAlltoallv, kIalltoallv };
static const char* const kMethodNames[] = {"alltoallw", "ialltoallw", "alltoallv", "ialltoallv"};

static const double kSentinel = -1.0;

/* One rank's block of an axis of length `len` split over `parts` ranks. */
struct Block {
  int start, size;
};

static struct Block block_of(int len, int parts, int r) {
  const int base = len / parts, extra = len % parts;
  struct Block b;
  b.size = base + (r < extra ? 1 : 0);
  b.start = r * base + (r < extra ? r : extra);
  return b;
}

struct Setup {
  int n[3]; /* global X, Y, Z */
  enum Types types;
  int rank, nranks;
  struct Block zs; /* this rank's planes (input) */
  struct Block xs; /* this rank's columns (output) */
};

static double value_at(const struct Setup* s, long long x, long long y, long long z) {
  return (double)x + (double)s->n[0] * ((double)y + (double)s->n[1] * (double)z);
}

/* Doubles in B, and where its local element (xl, y, z) lies. */
static size_t output_count(const struct Setup* s) {
  return (size_t)s->xs.size * (size_t)s->n[1] * (size_t)s->n[2];
}

static size_t output_index(const struct Setup* s, int xl, int y, int z) {
  const size_t X = (size_t)s->xs.size, Y = (size_t)s->n[1], Z = (size_t)s->n[2];
  if (s->types == kSubarray) return ((size_t)z * Y + (size_t)y) * X + (size_t)xl;
  return ((size_t)xl * Y + (size_t)y) * Z + (size_t)z;
}

/* Compares every element of B with its value, printing mismatches while fewer than 5 were
 * found on this rank so far (*reported). Returns how many differ. */
static long long check_output(const struct Setup* s, const double* b, long long* reported) {
  long long bad = 0;
  for (int z = 0; z < s->n[2]; ++z)
    for (int y = 0; y < s->n[1]; ++y)
      for (int xl = 0; xl < s->xs.size; ++xl) {
        const double want = value_at(s, s->xs.start + xl, y, z);
        const double have = b[output_index(s, xl, y, z)];
        if (have == want) continue;
        if (*reported < 5) {
          fprintf(stderr, "rank %d: B at (x=%d, y=%d, z=%d) is %.17g, expected %.17g\n", s->rank,
                  s->xs.start + xl, y, z, have, want);
          ++*reported;
        }
        ++bad;
      }
  return bad;
}

/* The type that carries this rank's part of rank j's columns: sendcount 1, displacement 0. */
static MPI_Datatype send_type(const struct Setup* s, struct Block to) {
  const int sizes[3] = {s->zs.size, s->n[1], s->n[0]};
  const int subsizes[3] = {s->zs.size, s->n[1], to.size};
  const int starts[3] = {0, 0, to.start};
  MPI_Datatype t;
  MPI_Type_create_subarray(3, sizes, subsizes, starts, MPI_ORDER_C, MPI_DOUBLE, &t);
  MPI_Type_commit(&t);
  return t;
}

/* The type that lays rank j's planes of this rank's columns into B: recvcount 1, displacement
 * *displ bytes (an int: MPI_Alltoallw's displacements are, unlike MPI_Neighbor_alltoallw's). */
static MPI_Datatype recv_type(const struct Setup* s, struct Block from, int* displ) {
  MPI_Datatype t;
  if (s->types == kSubarray) {
    const int sizes[3] = {s->n[2], s->n[1], s->xs.size};
    const int subsizes[3] = {from.size, s->n[1], s->xs.size};
    const int starts[3] = {from.start, 0, 0};
    MPI_Type_create_subarray(3, sizes, subsizes, starts, MPI_ORDER_C, MPI_DOUBLE, &t);
    *displ = 0;
  } else {
    const MPI_Aint d = (MPI_Aint)sizeof(double);
    const MPI_Aint zstride = d, ystride = (MPI_Aint)s->n[2] * d, xstride = (MPI_Aint)s->n[1] * ystride;
    MPI_Datatype along_x, along_y;
    MPI_Type_create_hvector(s->xs.size, 1, xstride, MPI_DOUBLE, &along_x);
    MPI_Type_create_hvector(s->n[1], 1, ystride, along_x, &along_y);
    MPI_Type_create_hvector(from.size, 1, zstride, along_y, &t);
    MPI_Type_free(&along_x);
    MPI_Type_free(&along_y);
    *displ = from.start * (int)sizeof(double);
  }
  MPI_Type_commit(&t);
  return t;
}

/* `t` (committed, then freed) as a committed type of lower bound 0 and extent `doubles` doubles. */
static MPI_Datatype resized(MPI_Datatype t, int doubles) {
  MPI_Datatype r;
  MPI_Type_create_resized(t, 0, (MPI_Aint)doubles * (MPI_Aint)sizeof(double), &r);
  MPI_Type_commit(&r);
  MPI_Type_free(&t);
  return r;
}

/* "X,Y,Z", each a whole decimal int in [1, 4096]. */
static void parse_grid(const char* text, int out[3], int* ok) {
  char buf[64];
  if (strlen(text) >= sizeof buf) {
    *ok = 0;
    return;
  }
  strcpy(buf, text);
  char* rest = buf;
  for (int a = 0; a < 3; ++a) {
    char* comma = strchr(rest, ',');
    if ((a < 2) != (comma != NULL)) {
      *ok = 0;
      return;
    }
    if (comma) *comma = '\0';
    out[a] = parse_int(rest, 1, 4096, ok);
    rest = comma ? comma + 1 : rest;
  }
}

static void usage(void) {
  fprintf(stderr,
          "usage: mpiexec -n P strider_bench_transpose [--n N | --grid X,Y,Z] [--types subarray|transpose]\n"
          "         [--method alltoallw|ialltoallw|alltoallv|ialltoallv] [--reps R] [--warmup W] [--json FILE]\n"
          "       (defaults: --n 64 --types transpose --method alltoallw --reps 100 --warmup 3; sizes 1..4096;\n"
          "       alltoallv and ialltoallv need X and Z to be multiples of the number of ranks)\n");
}

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  struct Setup s;
  memset(&s, 0, sizeof s);
  MPI_Comm_rank(MPI_COMM_WORLD, &s.rank);
  MPI_Comm_size(MPI_COMM_WORLD, &s.nranks);
  s.n[0] = s.n[1] = s.n[2] = 64;
  s.types = kTranspose;
  enum Method method = kAlltoallw;
  int reps = 100, warmup = 3, ok = 1;
  const char* json = NULL;
  for (int i = 1; i < argc && ok; i += 2) {
    const char* v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!v) {
      ok = 0;
    } else if (!strcmp(argv[i], "--n")) {
      s.n[0] = s.n[1] = s.n[2] = parse_int(v, 1, 4096, &ok);
    } else if (!strcmp(argv[i], "--grid")) {
      parse_grid(v, s.n, &ok);
    } else if (!strcmp(argv[i], "--types")) {
      if (!strcmp(v, kTypeNames[kSubarray])) s.types = kSubarray;
      else if (!strcmp(v, kTypeNames[kTranspose])) s.types = kTranspose;
      else ok = 0;
    } else if (!strcmp(argv[i], "--method")) {
      if (!strcmp(v, kMethodNames[kAlltoallw])) method = kAlltoallw;
      else if (!strcmp(v, kMethodNames[kIalltoallw])) method = kIalltoallw;
      else if (!strcmp(v, kMethodNames[kAlltoallv])) method = kAlltoallv;
      else if (!strcmp(v, kMethodNames[kIalltoallv])) method = kIalltoallv;
      else ok = 0;
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
  const int one_type = method == kAlltoallv || method == kIalltoallv;
  if (ok && one_type && (s.n[0] % s.nranks != 0 || s.n[2] % s.nranks != 0)) {
    if (s.rank == 0) fprintf(stderr, "strider_bench_transpose: --method %s needs X and Z to be multiples of %d\n",
                             kMethodNames[method], s.nranks);
    ok = 0;
  }
  if (!ok) {
    if (s.rank == 0) usage();
    MPI_Finalize();
    return 2;
  }
  const int X = s.n[0], Y = s.n[1], Z = s.n[2], P = s.nranks;
  s.zs = block_of(Z, P, s.rank);
  s.xs = block_of(X, P, s.rank);

  /* A holds this rank's planes; B its columns of every plane (at least one double each, so that
   * a rank holding nothing still passes valid pointers). */
  const size_t in_count = (size_t)s.zs.size * (size_t)Y * (size_t)X;
  const size_t out_count = output_count(&s);
  double* a = malloc((in_count ? in_count : 1) * sizeof(double));
  double* b = malloc((out_count ? out_count : 1) * sizeof(double));
  double* times = malloc((size_t)reps * sizeof(double));
  int* scounts = calloc((size_t)P, sizeof(int));
  int* rcounts = calloc((size_t)P, sizeof(int));
  int* sdispls = calloc((size_t)P, sizeof(int));
  int* rdispls = calloc((size_t)P, sizeof(int));
  MPI_Datatype* stypes = malloc((size_t)P * sizeof(MPI_Datatype));
  MPI_Datatype* rtypes = malloc((size_t)P * sizeof(MPI_Datatype));
  if (!a || !b || !times || !scounts || !rcounts || !sdispls || !rdispls || !stypes || !rtypes) {
    fprintf(stderr, "strider_bench_transpose: rank %d: out of memory\n", s.rank);
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  for (int z = 0; z < s.zs.size; ++z)
    for (int y = 0; y < Y; ++y)
      for (int x = 0; x < X; ++x)
        a[((size_t)z * (size_t)Y + (size_t)y) * (size_t)X + (size_t)x] = value_at(&s, x, y, s.zs.start + z);
  for (size_t k = 0; k < out_count; ++k) b[k] = kSentinel;

  long long bytes_sent = 0;
  for (int j = 0; j < P; ++j) {
    const struct Block to = block_of(X, P, j), from = block_of(Z, P, j);
    stypes[j] = rtypes[j] = MPI_DOUBLE;
    if (s.zs.size > 0 && to.size > 0) {
      stypes[j] = send_type(&s, to);
      scounts[j] = 1;
      if (j != s.rank) bytes_sent += (long long)s.zs.size * Y * to.size * (long long)sizeof(double);
    }
    if (from.size > 0 && s.xs.size > 0) {
      rtypes[j] = recv_type(&s, from, &rdispls[j]);
      rcounts[j] = 1;
    }
  }
  /* One type per side: rank 0's block shape, which every rank's shares, resized to one block. */
  MPI_Datatype stype = MPI_DATATYPE_NULL, rtype = MPI_DATATYPE_NULL;
  if (one_type) {
    const struct Block first_x = block_of(X, P, 0), first_z = block_of(Z, P, 0);
    int unused = 0;
    stype = resized(send_type(&s, first_x), first_x.size);
    rtype = resized(recv_type(&s, first_z, &unused),
                    s.types == kSubarray ? first_z.size * Y * s.xs.size : first_z.size);
    for (int j = 0; j < P; ++j) {
      scounts[j] = rcounts[j] = 1;
      sdispls[j] = rdispls[j] = j;
    }
  }
  long long total_bytes = 0;
  MPI_Allreduce(&bytes_sent, &total_bytes, 1, MPI_LONG_LONG, MPI_SUM, MPI_COMM_WORLD);

  long long bad = 0, reported = 0;
  for (int it = -warmup; it < reps; ++it) {
    MPI_Barrier(MPI_COMM_WORLD);
    const double t0 = MPI_Wtime();
    MPI_Request request = MPI_REQUEST_NULL;
    switch (method) {
      case kAlltoallw:
        MPI_Alltoallw(a, scounts, sdispls, stypes, b, rcounts, rdispls, rtypes, MPI_COMM_WORLD);
        break;
      case kIalltoallw:
        MPI_Ialltoallw(a, scounts, sdispls, stypes, b, rcounts, rdispls, rtypes, MPI_COMM_WORLD, &request);
        break;
      case kAlltoallv:
        MPI_Alltoallv(a, scounts, sdispls, stype, b, rcounts, rdispls, rtype, MPI_COMM_WORLD);
        break;
      case kIalltoallv:
        MPI_Ialltoallv(a, scounts, sdispls, stype, b, rcounts, rdispls, rtype, MPI_COMM_WORLD, &request);
        break;
    }
    MPI_Wait(&request, MPI_STATUS_IGNORE);
    double elapsed = MPI_Wtime() - t0;
    MPI_Allreduce(MPI_IN_PLACE, &elapsed, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    if (it >= 0) times[it] = elapsed;
    bad += check_output(&s, b, &reported);
    for (size_t k = 0; k < out_count; ++k) b[k] = kSentinel;
  }
  long long total_bad = 0;
  MPI_Allreduce(&bad, &total_bad, 1, MPI_LONG_LONG, MPI_SUM, MPI_COMM_WORLD);

  qsort(times, (size_t)reps, sizeof(double), compare_doubles);
  const double med = times[reps / 2] * 1e3, lo = times[0] * 1e3, hi = times[reps - 1] * 1e3;
  const double gbs = (double)total_bytes / (times[reps / 2] * 1e9);
  const char* verified = total_bad == 0 ? "yes" : "no";
  if (s.rank == 0) {
    if (total_bad != 0)
      fprintf(stderr, "strider_bench_transpose: %lld wrong elements over %d exchanges\n", total_bad, warmup + reps);
    printf("RESULT bench=transpose types=%s method=%s ranks=%d grid=%dx%dx%d median_ms=%.4f min_ms=%.4f "
           "max_ms=%.4f bytes=%lld gbs=%.3f strider=%s verified=%s\n",
           kTypeNames[s.types], kMethodNames[method], P, X, Y, Z, med, lo, hi, total_bytes, gbs, strider_state(),
           verified);
    fflush(stdout);
    if (json) {
      FILE* f = fopen(json, "w");
      if (!f) {
        fprintf(stderr, "strider_bench_transpose: cannot write %s\n", json);
      } else {
        fprintf(f,
                "{\"benchmark\": \"transpose\", \"types\": \"%s\", \"method\": \"%s\", \"ranks\": %d, "
                "\"grid\": [%d, %d, %d], "
                "\"reps\": %d, \"warmup\": %d, \"median_ms\": %.6f, \"min_ms\": %.6f, \"max_ms\": %.6f, "
                "\"bytes\": %lld, \"gbs\": %.6f, \"strider\": \"%s\", \"verified\": %s}\n",
                kTypeNames[s.types], kMethodNames[method], P, X, Y, Z, reps, warmup, med, lo, hi, total_bytes, gbs,
                strider_state(),
                total_bad == 0 ? "true" : "false");
        fclose(f);
      }
    }
  }

  for (int j = 0; j < P; ++j) {
    if (stypes[j] != MPI_DOUBLE) MPI_Type_free(&stypes[j]);
    if (rtypes[j] != MPI_DOUBLE) MPI_Type_free(&rtypes[j]);
  }
  if (one_type) {
    MPI_Type_free(&stype);
    MPI_Type_free(&rtype);
  }
  free(a);
  free(b);
  free(times);
  free(scounts);
  free(rcounts);
  free(sdispls);
  free(rdispls);
  free(stypes);
  free(rtypes);
  MPI_Finalize();
  return total_bad == 0 ? 0 : 1;
}
