/* strider-demo-exchange: two ranks swap non-contiguous data described by MPI derived datatypes,
 * the way a halo exchange does, and time it. Runs unchanged with or without Strider preloaded.
 *
 *   mpiexec -n 2 strider-demo-exchange --case face|column --n N [--reps R] [--warmup W]
 *
 * face:   an x-face (n x n doubles, one element apart every 8*(n+2) bytes) of an (n+2)^3 grid
 *         with a one-cell halo, described with MPI_Type_create_subarray.
 * column: two adjacent columns of an n x n row-major matrix of doubles: a column vector
 *         (MPI_Type_vector) resized to one double, sent with count 2.
 *
 * One repetition = (a) MPI_Isend/MPI_Irecv of the derived type + MPI_Waitall, then (b) MPI_Pack
 * into a buffer, MPI_Isend/MPI_Irecv of MPI_PACKED + MPI_Waitall, MPI_Unpack. The time of a
 * repetition is the slower rank's (a)+(b); the median over repetitions is reported. After each
 * of (a) and (b) every received element and every halo element around it is checked; the timed
 * region holds no checks. Prints one line:
 *   RESULT case=face n=64 ranks=2 bytes=32768 reps=100 median_ms=0.0123 verified=yes
 * and exits non-zero when any check failed. */
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { kFace, kColumn };

/* The value rank `owner` stores at linear index `i` of its array: distinct across ranks and
 * elements, exactly representable as a double. */
static double value_of(int owner, size_t i) { return (double)(owner + 1) * 1.0e9 + (double)i; }

static const double kSentinel = -1.0;

struct Exchange {
  int which;
  int n;
  size_t elements;           /* doubles in the local array */
  MPI_Datatype type;         /* describes one send or receive region (with `count`) */
  int count;
  MPI_Aint send_offset;      /* byte offsets of the regions in the local array */
  MPI_Aint recv_offset;
  size_t region_elements;    /* doubles in one region */
};

/* Grid index (z, y, x) of an (n+2)^3 array. */
static size_t grid_index(int n, int z, int y, int x) {
  const size_t m = (size_t)n + 2;
  return ((size_t)z * m + (size_t)y) * m + (size_t)x;
}

static void setup(struct Exchange* ex, int which, int n, int rank) {
  ex->which = which;
  ex->n = n;
  if (which == kFace) {
    const int m = n + 2;
    const int sizes[3] = {m, m, m};
    const int subsizes[3] = {n, n, 1};
    const int starts[3] = {0, 0, 0};
    ex->elements = (size_t)m * m * m;
    MPI_Type_create_subarray(3, sizes, subsizes, starts, MPI_ORDER_C, MPI_DOUBLE, &ex->type);
    ex->count = 1;
    /* Rank 0 sends its last interior x-plane (x = n) into rank 1's low halo (x = 0); rank 1
     * sends its first interior plane (x = 1) into rank 0's high halo (x = n + 1). The subarray
     * starts at the origin, so the region is selected by the buffer offset. */
    const int send_x = rank == 0 ? n : 1;
    const int recv_x = rank == 0 ? n + 1 : 0;
    ex->send_offset = (MPI_Aint)(grid_index(n, 1, 1, send_x) * sizeof(double));
    ex->recv_offset = (MPI_Aint)(grid_index(n, 1, 1, recv_x) * sizeof(double));
    ex->region_elements = (size_t)n * n;
  } else {
    MPI_Datatype column;
    ex->elements = (size_t)n * n;
    MPI_Type_vector(n, 1, n, MPI_DOUBLE, &column);
    MPI_Type_create_resized(column, 0, (MPI_Aint)sizeof(double), &ex->type);
    MPI_Type_free(&column);
    ex->count = 2;
    /* Rank 0 sends columns n-4, n-3 into rank 1's columns 0, 1; rank 1 sends columns 2, 3
     * into rank 0's columns n-2, n-1. */
    const int send_col = rank == 0 ? n - 4 : 2;
    const int recv_col = rank == 0 ? n - 2 : 0;
    ex->send_offset = (MPI_Aint)((size_t)send_col * sizeof(double));
    ex->recv_offset = (MPI_Aint)((size_t)recv_col * sizeof(double));
    ex->region_elements = (size_t)n * 2;
  }
  MPI_Type_commit(&ex->type);
}

/* Whether linear index i lies in the receive region of `rank`, and if so which index of the
 * peer's array it was sent from. */
static int received_from(const struct Exchange* ex, int rank, size_t i, size_t* source) {
  const int n = ex->n;
  if (ex->which == kFace) {
    const size_t m = (size_t)n + 2;
    const int x = (int)(i % m), y = (int)(i / m % m), z = (int)(i / (m * m));
    const int recv_x = rank == 0 ? n + 1 : 0;
    const int peer_send_x = rank == 0 ? 1 : n;
    if (x != recv_x || y < 1 || y > n || z < 1 || z > n) return 0;
    *source = grid_index(n, z, y, peer_send_x);
    return 1;
  }
  const int col = (int)(i % (size_t)n), row = (int)(i / (size_t)n);
  const int recv_col = rank == 0 ? n - 2 : 0;
  const int peer_send_col = rank == 0 ? 2 : n - 4;
  if (col < recv_col || col > recv_col + 1) return 0;
  *source = (size_t)row * (size_t)n + (size_t)(peer_send_col + col - recv_col);
  return 1;
}

/* The k-th element of the receive region of `rank`: its index in the local array and the index
 * in the peer's array it was sent from. */
static void region_element(const struct Exchange* ex, int rank, size_t k, size_t* local,
                           size_t* source) {
  const int n = ex->n;
  if (ex->which == kFace) {
    const int z = 1 + (int)(k / (size_t)n), y = 1 + (int)(k % (size_t)n);
    *local = grid_index(n, z, y, rank == 0 ? n + 1 : 0);
    *source = grid_index(n, z, y, rank == 0 ? 1 : n);
    return;
  }
  const size_t row = k / 2, c = k % 2;
  *local = row * (size_t)n + (size_t)(rank == 0 ? n - 2 : 0) + c;
  *source = row * (size_t)n + (size_t)(rank == 0 ? 2 : n - 4) + c;
}

/* Whole local array: own values everywhere except the receive region, which holds the
 * sentinel. */
static void reset_all(const struct Exchange* ex, int rank, double* a) {
  size_t unused;
  for (size_t i = 0; i < ex->elements; ++i)
    a[i] = received_from(ex, rank, i, &unused) ? kSentinel : value_of(rank, i);
}

/* Receive region back to the sentinel; the rest is untouched by a correct exchange. */
static void reset_region(const struct Exchange* ex, int rank, double* a) {
  size_t local, source;
  for (size_t k = 0; k < ex->region_elements; ++k) {
    region_element(ex, rank, k, &local, &source);
    a[local] = kSentinel;
  }
}

/* Counts received elements that differ from the peer's values. */
static size_t check_region(const struct Exchange* ex, int rank, const double* a) {
  size_t bad = 0, local, source;
  for (size_t k = 0; k < ex->region_elements; ++k) {
    region_element(ex, rank, k, &local, &source);
    const double want = value_of(1 - rank, source);
    if (a[local] != want) {
      if (bad < 5)
        fprintf(stderr, "rank %d: received element %zu is %.17g, expected %.17g\n", rank, local,
                a[local], want);
      ++bad;
    }
  }
  return bad;
}

/* Counts elements anywhere in the array that differ from what the exchange must leave. */
static size_t check_all(const struct Exchange* ex, int rank, const double* a) {
  const int peer = 1 - rank;
  size_t bad = 0, source;
  for (size_t i = 0; i < ex->elements; ++i) {
    const double want =
        received_from(ex, rank, i, &source) ? value_of(peer, source) : value_of(rank, i);
    if (a[i] != want) {
      if (bad < 5)
        fprintf(stderr, "rank %d: element %zu is %.17g, expected %.17g\n", rank, i, a[i], want);
      ++bad;
    }
  }
  return bad;
}

static int compare_doubles(const void* a, const void* b) {
  const double x = *(const double*)a, y = *(const double*)b;
  return (x > y) - (x < y);
}

static void usage(void) {
  fprintf(stderr,
          "usage: mpiexec -n 2 strider-demo-exchange --case face|column --n N [--reps R] "
          "[--warmup W]\n");
}

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);

  int which = kFace, n = 64, reps = 100, warmup = 10;
  const char* case_name = "face";
  int ok_args = 1;
  for (int i = 1; i < argc; ++i) {
    const char* value = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(argv[i], "--case") && value) {
      case_name = argv[++i];
      if (!strcmp(case_name, "face")) which = kFace;
      else if (!strcmp(case_name, "column")) which = kColumn;
      else ok_args = 0;
    } else if (!strcmp(argv[i], "--n") && value) {
      n = atoi(argv[++i]);
    } else if (!strcmp(argv[i], "--reps") && value) {
      reps = atoi(argv[++i]);
    } else if (!strcmp(argv[i], "--warmup") && value) {
      warmup = atoi(argv[++i]);
    } else {
      ok_args = 0;
    }
  }
  if (!ok_args || n < 4 || n > 4096 || reps < 1 || warmup < 0 || size != 2) {
    if (rank == 0) {
      if (size != 2)
        fprintf(stderr, "strider-demo-exchange: needs exactly 2 ranks, got %d\n", size);
      usage();
    }
    MPI_Finalize();
    return 2;
  }

  struct Exchange ex;
  setup(&ex, which, n, rank);
  const int peer = 1 - rank;
  double* a = malloc(ex.elements * sizeof(double));
  int pack_size;
  MPI_Pack_size(ex.count, ex.type, MPI_COMM_WORLD, &pack_size);
  char* send_packed = malloc((size_t)pack_size);
  char* recv_packed = malloc((size_t)pack_size);
  double* times = malloc((size_t)reps * sizeof(double));
  double* slowest = malloc((size_t)reps * sizeof(double));
  if (!a || !send_packed || !recv_packed || !times || !slowest) {
    fprintf(stderr, "rank %d: out of memory\n", rank);
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  char* base = (char*)a;
  size_t bad = 0;
  reset_all(&ex, rank, a);

  for (int r = -warmup; r < reps; ++r) {
    /* The whole array is checked on the first and the last repetition, the received region
     * on every one. */
    const int full = r == -warmup || r == reps - 1;
    MPI_Request req[2];
    double elapsed = 0.0;

    /* (a) derived datatype straight through point-to-point. */
    reset_region(&ex, rank, a);
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = MPI_Wtime();
    MPI_Irecv(base + ex.recv_offset, ex.count, ex.type, peer, 1, MPI_COMM_WORLD, &req[0]);
    MPI_Isend(base + ex.send_offset, ex.count, ex.type, peer, 1, MPI_COMM_WORLD, &req[1]);
    MPI_Waitall(2, req, MPI_STATUSES_IGNORE);
    elapsed += MPI_Wtime() - t0;
    bad += full ? check_all(&ex, rank, a) : check_region(&ex, rank, a);

    /* (b) explicit MPI_Pack / MPI_Unpack around a contiguous exchange. */
    reset_region(&ex, rank, a);
    MPI_Barrier(MPI_COMM_WORLD);
    t0 = MPI_Wtime();
    int position = 0;
    MPI_Irecv(recv_packed, pack_size, MPI_PACKED, peer, 2, MPI_COMM_WORLD, &req[0]);
    MPI_Pack(base + ex.send_offset, ex.count, ex.type, send_packed, pack_size, &position,
             MPI_COMM_WORLD);
    MPI_Isend(send_packed, position, MPI_PACKED, peer, 2, MPI_COMM_WORLD, &req[1]);
    MPI_Waitall(2, req, MPI_STATUSES_IGNORE);
    position = 0;
    MPI_Unpack(recv_packed, pack_size, &position, base + ex.recv_offset, ex.count, ex.type,
               MPI_COMM_WORLD);
    elapsed += MPI_Wtime() - t0;
    bad += full ? check_all(&ex, rank, a) : check_region(&ex, rank, a);

    if (r >= 0) times[r] = elapsed;
  }

  MPI_Reduce(times, slowest, reps, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
  unsigned long long bad_local = bad, bad_total = 0;
  MPI_Allreduce(&bad_local, &bad_total, 1, MPI_UNSIGNED_LONG_LONG, MPI_SUM, MPI_COMM_WORLD);
  if (rank == 0) {
    qsort(slowest, (size_t)reps, sizeof(double), compare_doubles);
    const double median = reps % 2 ? slowest[reps / 2]
                                   : 0.5 * (slowest[reps / 2 - 1] + slowest[reps / 2]);
    printf("RESULT case=%s n=%d ranks=%d bytes=%zu reps=%d median_ms=%.4f verified=%s\n",
           case_name, n, size, ex.region_elements * sizeof(double), reps, median * 1e3,
           bad_total == 0 ? "yes" : "no");
    if (bad_total) fprintf(stderr, "strider-demo-exchange: %llu wrong elements\n", bad_total);
  }

  free(slowest);
  free(times);
  free(recv_packed);
  free(send_packed);
  free(a);
  MPI_Type_free(&ex.type);
  MPI_Finalize();
  return bad_total == 0 ? 0 : 1;
}
