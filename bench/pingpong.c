/* strider_bench_pingpong: one-way time of host objects described by MPI derived datatypes,
 * between two ranks, with MPI_Send / MPI_Recv. A plain MPI program (it does not link Strider):
 * bench/pingpong.sh runs the same binary natively and with libstrider.so preloaded and puts
 * the two side by side.
 *
 *   mpiexec -n 2 strider_bench_pingpong [--quick] [--budget SECONDS] [--max-bytes BYTES]
 *                                       [--filter SUBSTRING]
 *
 * Objects (blocks of 1 B to 4 KiB, object sizes 1 KiB to 16 MiB):
 *   2d  MPI_Type_vector: `bytes / block` blocks, one block apart (stride = 2 blocks).
 *   3d  MPI_Type_create_subarray (C order) of a 3-D array whose rows are twice the block
 *       long, with a one-row / one-plane margin: the interior box of a halo'd grid.
 *   contig  MPI_DOUBLE, count 1 (8 B) and count 128 (1 KiB): nothing to pack, so this is the
 *       cost of the interposer's pass-through.
 * Blocks of 1 B use MPI_BYTE elements, the others MPI_DOUBLE.
 *
 * Each case: verify (rank 0 sends the object, rank 1 checks every selected byte and every gap
 * byte of its receive buffer, sends it back, rank 0 checks the same; once through MPI_Send /
 * MPI_Recv and once through PMPI_Send / PMPI_Recv), warm up, calibrate from the fastest of five
 * round trips the number of round trips per sample (a sample lasts about 50 us) and the number
 * of samples (5 to 201, within --budget seconds per case), then time the samples. Samples
 * alternate between MPI_Send/MPI_Recv (Strider's, when preloaded) and PMPI_Send/PMPI_Recv
 * (the MPI library's own, which Strider does not define): with Strider preloaded that is
 * Strider against native in the same run on the same machine state; without it the two
 * columns agree up to noise, which measures the noise floor. One-way time = sample time /
 * (2 * round trips); medians and minima over samples. Prints one CSV line per case:
 *   case,object,block,bytes,roundtrips,samples,oneway_us_median,oneway_us_min,pmpi_us_median,
 *   pmpi_us_min,verified
 * Exit status 1 when any case failed verification. */
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"

enum Kind { kContig, kVector2d, kSubarray3d };

struct Case {
  enum Kind kind;
  long long block; /* bytes per contiguous block */
  long long bytes; /* bytes in the object (packed size) */
  /* Geometry of the object in the buffer, in bytes: blocks at
   * offset + i1 * stride1 + i2 * stride2, i1 < n1, i2 < n2. */
  long long offset, n1, stride1, n2, stride2, span;
  MPI_Datatype type;
  int count;
  char name[64];
};

static const unsigned char kGap = 0xA5;
/* Target length of one timing sample (seconds), and the fewest samples per case. Short
 * samples keep most of them clear of preemption on a loaded machine. */
static const double kSample = 50e-6;
enum { kMinSamples = 5 };

static unsigned char pattern(long long i, int salt) {
  return (unsigned char)((i * 131 + (i >> 11) * 7 + salt) & 0xFF);
}

/* Builds the datatype and geometry; returns 0 when the combination makes no object. */
static int make_case(struct Case* c, enum Kind kind, long long block, long long bytes) {
  memset(c, 0, sizeof *c);
  c->kind = kind;
  c->block = block;
  c->bytes = bytes;
  c->count = 1;
  const MPI_Datatype elem = block % 8 == 0 ? MPI_DOUBLE : MPI_BYTE;
  const long long esize = block % 8 == 0 ? 8 : 1;
  const long long nblocks = bytes / block;
  if (kind == kContig) {
    c->type = MPI_DOUBLE;
    c->count = (int)(bytes / 8);
    c->n1 = c->n2 = 1;
    c->span = bytes;
    snprintf(c->name, sizeof c->name, "contig double x%d", c->count);
    return 1;
  }
  if (nblocks < 4 || nblocks * block != bytes) return 0;
  if (kind == kVector2d) {
    c->n1 = nblocks;
    c->stride1 = 2 * block;
    c->n2 = 1;
    c->span = c->n1 * c->stride1;
    MPI_Type_vector((int)nblocks, (int)(block / esize), (int)(2 * block / esize), elem, &c->type);
    snprintf(c->name, sizeof c->name, "2d b%lld %lldK", block, bytes >> 10);
  } else {
    /* nblocks = ny * nz with ny >= nz, both powers of two (nblocks is one). */
    long long nz = 1;
    while (4 * nz * nz <= nblocks) nz *= 2;
    const long long ny = nblocks / nz;
    const long long row = 2 * block; /* X = 2 * subsize */
    const int sizes[3] = {(int)nz + 2, (int)ny + 2, (int)(row / esize)};
    const int subsizes[3] = {(int)nz, (int)ny, (int)(block / esize)};
    const int starts[3] = {1, 1, (int)(block / esize / 2)};
    MPI_Type_create_subarray(3, sizes, subsizes, starts, MPI_ORDER_C, elem, &c->type);
    c->n1 = ny;
    c->stride1 = row;
    c->n2 = nz;
    c->stride2 = row * (ny + 2);
    c->offset = c->stride2 + c->stride1 + starts[2] * esize;
    c->span = c->stride2 * (nz + 2);
    snprintf(c->name, sizeof c->name, "3d b%lld %lldK", block, bytes >> 10);
  }
  MPI_Type_commit(&c->type);
  return 1;
}

static void free_case(struct Case* c) {
  if (c->kind != kContig) MPI_Type_free(&c->type);
}

/* Index of the object byte at buffer offset `at`, or -1 for a gap. */
static long long object_index(const struct Case* c, long long at) {
  if (c->kind == kContig) return at;
  long long rel = at - c->offset;
  if (rel < 0) return -1;
  long long i2 = 0;
  if (c->n2 > 1) {
    i2 = rel / c->stride2;
    rel -= i2 * c->stride2;
    if (i2 >= c->n2) return -1;
  }
  const long long i1 = rel / c->stride1;
  const long long in = rel - i1 * c->stride1;
  if (i1 >= c->n1 || in >= c->block) return -1;
  return (i2 * c->n1 + i1) * c->block + in;
}

/* Object bytes hold pattern(index, salt), gaps hold kGap; or everything kGap (salt < 0). */
static void fill(const struct Case* c, unsigned char* buf, int salt) {
  for (long long at = 0; at < c->span; ++at) {
    const long long k = salt < 0 ? -1 : object_index(c, at);
    buf[at] = k < 0 ? kGap : pattern(k, salt);
  }
}

static long long check(const struct Case* c, const unsigned char* buf, int salt, int rank) {
  long long bad = 0;
  for (long long at = 0; at < c->span; ++at) {
    const long long k = object_index(c, at);
    const unsigned char want = k < 0 ? kGap : pattern(k, salt);
    if (buf[at] != want) {
      if (bad < 3)
        fprintf(stderr, "rank %d: %s: byte %lld is 0x%02x, expected 0x%02x\n", rank, c->name, at,
                buf[at], want);
      ++bad;
    }
  }
  return bad;
}

/* `n` round trips of the object through MPI_Send/MPI_Recv (what an interposer intercepts), or
 * with `pmpi` through PMPI_Send/PMPI_Recv (always the MPI library itself); rank 0 returns the
 * elapsed seconds. */
static double round_trips(const struct Case* c, unsigned char* a, unsigned char* b, int n, int rank,
                          int pmpi) {
  int (*send)(const void*, int, MPI_Datatype, int, int, MPI_Comm) = pmpi ? PMPI_Send : MPI_Send;
  int (*recv)(void*, int, MPI_Datatype, int, int, MPI_Comm, MPI_Status*) = pmpi ? PMPI_Recv : MPI_Recv;
  const double t0 = MPI_Wtime();
  for (int i = 0; i < n; ++i) {
    if (rank == 0) {
      send(a, c->count, c->type, 1, 7, MPI_COMM_WORLD);
      recv(b, c->count, c->type, 1, 8, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    } else {
      recv(a, c->count, c->type, 0, 7, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
      send(a, c->count, c->type, 0, 8, MPI_COMM_WORLD);
    }
  }
  return MPI_Wtime() - t0;
}

/* Returns 1 when the object arrived intact both ways. */
static int verify(const struct Case* c, unsigned char* a, unsigned char* b, int rank, int pmpi) {
  long long bad = 0;
  if (rank == 0) {
    fill(c, a, 17);
    fill(c, b, -1);
  } else {
    fill(c, a, -1);
  }
  round_trips(c, a, b, 1, rank, pmpi);
  bad += check(c, rank == 0 ? b : a, 17, rank);
  long long total = 0;
  MPI_Allreduce(&bad, &total, 1, MPI_LONG_LONG, MPI_SUM, MPI_COMM_WORLD);
  return total == 0;
}

static void usage(void) {
  fprintf(stderr,
          "usage: mpiexec -n 2 strider_bench_pingpong [--quick] [--budget SECONDS] "
          "[--max-bytes BYTES] [--filter SUBSTRING]\n");
}

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  int quick = 0, ok_args = 1;
  double budget = -1.0;
  long long max_bytes = 16LL << 20;
  const char* filter = NULL;
  for (int i = 1; i < argc; ++i) {
    const char* value = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(argv[i], "--quick")) quick = 1;
    else if (!strcmp(argv[i], "--budget") && value) budget = atof(argv[++i]);
    else if (!strcmp(argv[i], "--max-bytes") && value) max_bytes = atoll(argv[++i]);
    else if (!strcmp(argv[i], "--filter") && value) filter = argv[++i];
    else ok_args = 0;
  }
  if (!ok_args || size != 2) {
    if (rank == 0) {
      if (size != 2) fprintf(stderr, "strider_bench_pingpong: needs exactly 2 ranks, got %d\n", size);
      usage();
    }
    MPI_Finalize();
    return 2;
  }
  if (budget <= 0) budget = quick ? 0.1 : 0.3;
  const int max_samples = quick ? 101 : 201;

  const long long blocks[] = {1, 8, 64, 512, 4096};
  const long long sizes_full[] = {1LL << 10, 64LL << 10, 1LL << 20, 16LL << 20};
  const long long sizes_quick[] = {1LL << 10, 64LL << 10, 1LL << 20};
  const long long* sizes = quick ? sizes_quick : sizes_full;
  const int nsizes = quick ? 3 : 4;

  /* The case list: contiguous pass-through first, then 2d and 3d objects. */
  struct Spec {
    enum Kind kind;
    long long block, bytes;
  } specs[64];
  int nspecs = 0;
  specs[nspecs++] = (struct Spec){kContig, 8, 8};
  specs[nspecs++] = (struct Spec){kContig, 1024, 1024};
  for (int k = kVector2d; k <= kSubarray3d; ++k)
    for (int s = 0; s < nsizes; ++s)
      for (size_t b = 0; b < sizeof blocks / sizeof blocks[0]; ++b)
        if (sizes[s] <= max_bytes) specs[nspecs++] = (struct Spec){(enum Kind)k, blocks[b], sizes[s]};

  if (rank == 0) {
    printf("case,object,block,bytes,roundtrips,samples,oneway_us_median,oneway_us_min,pmpi_us_median,"
           "pmpi_us_min,verified\n");
    fflush(stdout);
  }
  int all_ok = 1;
  double* t = malloc((size_t)max_samples * sizeof(double));
  double* tp = malloc((size_t)max_samples * sizeof(double));
  for (int s = 0; s < nspecs; ++s) {
    struct Case c;
    if (!make_case(&c, specs[s].kind, specs[s].block, specs[s].bytes)) continue;
    if (filter && !strstr(c.name, filter)) {
      free_case(&c);
      continue;
    }
    unsigned char* a = malloc((size_t)c.span);
    unsigned char* b = malloc((size_t)c.span);
    if (!a || !b || !t || !tp) {
      fprintf(stderr, "rank %d: out of memory (%lld bytes)\n", rank, c.span);
      MPI_Abort(MPI_COMM_WORLD, 1);
    }
    const int ok = verify(&c, a, b, rank, 0) && verify(&c, a, b, rank, 1);
    all_ok = all_ok && ok;

    /* Warm up, then calibrate on rank 0's clock from the fastest of a few round trips (a
     * shared machine preempts ranks; the minimum is the undisturbed cost): round trips per
     * sample so that a sample lasts about kSample, and as many samples as fit the budget. */
    round_trips(&c, a, b, 3, rank, 0);
    round_trips(&c, a, b, 3, rank, 1);
    double one = 1e30;
    for (int i = 0; i < 5; ++i) {
      const double dt = round_trips(&c, a, b, 1, rank, 0);
      if (dt < one) one = dt;
    }
    if (one < 1e-9) one = 1e-9;
    int plan[2];
    plan[0] = (int)(kSample / one);
    if (plan[0] < 1) plan[0] = 1;
    if (plan[0] > 100000) plan[0] = 100000;
    plan[1] = (int)(budget / (2 * plan[0] * one));
    if (plan[1] < kMinSamples) plan[1] = kMinSamples;
    if (plan[1] > max_samples) plan[1] = max_samples;
    MPI_Bcast(plan, 2, MPI_INT, 0, MPI_COMM_WORLD);
    const int n = plan[0], samples = plan[1];
    /* MPI and PMPI samples alternate, so that both see the same machine. */
    for (int i = 0; i < samples; ++i) {
      t[i] = round_trips(&c, a, b, n, rank, 0) / (2.0 * n) * 1e6;
      tp[i] = round_trips(&c, a, b, n, rank, 1) / (2.0 * n) * 1e6;
    }
    if (rank == 0) {
      qsort(t, (size_t)samples, sizeof(double), compare_doubles);
      qsort(tp, (size_t)samples, sizeof(double), compare_doubles);
      const char* object = c.kind == kContig ? "contig" : c.kind == kVector2d ? "2d" : "3d";
      printf("%s,%s,%lld,%lld,%d,%d,%.4f,%.4f,%.4f,%.4f,%s\n", c.name, object, c.block, c.bytes, n, samples,
             t[samples / 2], t[0], tp[samples / 2], tp[0], ok ? "yes" : "no");
      fflush(stdout);
    }
    free(a);
    free(b);
    free_case(&c);
  }
  free(t);
  free(tp);
  MPI_Finalize();
  return all_ok ? 0 : 1;
}
