/* strider_bench_halo3d: 3-D halo exchange over N ranks, of host or device arrays, with
 * datatypes built the ways application codes build them. A plain MPI program (it does not link
 * Strider): the same binary runs natively and with libstrider.so preloaded.
 *
 *   mpiexec -n N strider_bench_halo3d [--n N | --grid X,Y,Z] [--q Q] [--r R]
 *       [--types subarray-c|subarray-f|vector|resized] [--method isend|sendrecv|alltoallw|ineighbor]
 *       [--periodic 1|0|XYZ (e.g. 110)] [--memory host|device|pitched] [--staging none|hand]
 *       [--reps REPS] [--warmup W] [--json FILE]
 *
 * Domain: the ranks form a 3-D Cartesian grid (MPI_Dims_create; dimension 0 is x). Each rank
 * owns X x Y x Z cells of Q double quantities, stored quantity-major with x fastest,
 * a[q][z][y][x], surrounded by a halo of R cells on every side. Along a non-periodic
 * dimension the boundary ranks have MPI_PROC_NULL neighbours and their outer halo is left
 * alone. With R = 1 an x-face is a set of 8-byte blocks, a y-face a set of X-double rows and
 * a z-face Q contiguous planes.
 *
 * Memory (--memory; device and pitched need a build with CUDA, STRIDER_HALO_CUDA):
 *   host     malloc
 *   device   cudaMalloc; datatypes and offsets address it exactly as the host array
 *   pitched  cudaMalloc3D: every x-row is padded to the returned pitch, so rows are LD =
 *            pitch / 8 doubles apart; cell indexing and the datatypes (subarray sizes, vector
 *            strides, resized extents) use LD in place of X + 2R. Boxes are unchanged.
 * With device memory, each rank uses device (local rank % device count), local rank from
 * OMPI_COMM_WORLD_LOCAL_RANK (else 0). A build without CUDA exits 77 for device and pitched;
 * with CUDA but no usable device on some rank, rank 0 prints "SKIP: no CUDA device" and every
 * rank exits 77. Sending device buffers with datatypes (--staging none) needs Strider preloaded
 * or a CUDA-aware MPI.
 *
 * Staging (--staging, device memory only):
 *   none     the datatypes are given the device array, as with host memory
 *   hand     what a careful user writes without Strider or a CUDA-aware MPI: every send box
 *            is copied from the device into a contiguous pinned host buffer (per quantity one
 *            cudaMemcpy2DAsync, or cudaMemcpy3DAsync when the box is thicker than one plane, all
 *            on one stream, waited for once), sent as contiguous MPI_DOUBLE, received into
 *            pinned host buffers and copied into its halo box on the device the same way (again
 *            waited for once). The buffers are allocated once, untimed. isend: MPI_Irecv (posted
 *            before the copies), MPI_Isend, MPI_Waitall; sendrecv: 26 MPI_Sendrecv; alltoallw:
 *            per phase, copies and MPI_Neighbor_alltoallv of the phase's two faces (ineighbor:
 *            the same).
 *
 * Datatypes for a box of the array (--types):
 *   subarray-c  MPI_Type_create_subarray over {Q, Z+2R, Y+2R, X+2R}, MPI_ORDER_C
 *   subarray-f  MPI_Type_create_subarray over {X+2R, Y+2R, Z+2R, Q}, MPI_ORDER_FORTRAN
 *   vector      MPI_Type_vector of rows, MPI_Type_create_hvector of planes and of
 *               quantities, sent from the box's first cell
 *   resized     the column idiom: a y-column MPI_Type_vector resized to one double, counted
 *               along x, resized to a plane, counted along z, resized to a quantity, sent with
 *               count Q from the box's first cell (packs y fastest: every block is 8 bytes)
 * (with --memory pitched, LD replaces X+2R)
 *
 * Exchanges (--method):
 *   isend      MPI_Irecv + MPI_Isend to all 26 neighbours (faces, edges, corners), MPI_Waitall
 *   sendrecv   26 MPI_Sendrecv, one per direction
 *   alltoallw  MPI_Neighbor_alltoallw on the Cartesian communicator, which knows the 6 face
 *              neighbours only: three calls (x, then y, then z), each face widened by the
 *              halos the earlier calls filled, so edges and corners arrive through faces.
 *   ineighbor  the same three phases, each an MPI_Ineighbor_alltoallw and its MPI_Wait; needs
 *              3 or more ranks along every periodic dimension (see main).
 *
 * Each exchange is timed on every rank between a barrier and its end (with device memory,
 * after a cudaDeviceSynchronize); the exchange's time is the slowest rank's. Not timed: after
 * every exchange every halo cell of every rank is checked (interior filled with a function of
 * global coordinates and quantity; a halo cell must hold the value of the cell it mirrors,
 * periodic wrap included, or still the sentinel where there is no neighbour), then the halo is
 * reset to the sentinel; the interior is checked after the first and the last exchange. With
 * device memory the array is filled, checked and reset on a host mirror of the same layout,
 * copied to the device before the first exchange, back after every exchange, and to the device
 * again after every reset. Prints one line:
 *   RESULT method=isend types=vector ranks=2 dims=2x1x1 periodic=111 grid=64x64x64 q=1 r=1
 *          ... median_ms=0.123 min_ms=... max_ms=... bytes=... gbs=... strider=active
 *          memory=host staging=none verified=yes
 * (bytes: sent by all ranks in one exchange, MPI_PROC_NULL excluded; gbs = bytes / median)
 * and with --json FILE the same fields as one JSON object. Exit status 1 when any check
 * failed, 2 on bad arguments, 77 when device memory was asked for and there is none. */
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "strider_probe.h"

#if STRIDER_HALO_CUDA
#include <cuda_runtime.h> /* usable from C: the runtime API and make_cudaPitchedPtr & co. */
#endif

enum Types { kSubarrayC, kSubarrayF, kVector, kResized };
enum Method { kIsend, kSendrecv, kAlltoallw, kIneighbor };
enum Memory { kHost, kDevice, kPitched };
enum Staging { kNone, kHand };
static const char* const kTypeNames[] = {"subarray-c", "subarray-f", "vector", "resized"};
static const char* const kMethodNames[] = {"isend", "sendrecv", "alltoallw", "ineighbor"};
static const char* const kMemoryNames[] = {"host", "device", "pitched"};
static const char* const kStagingNames[] = {"none", "hand"};

static const double kSentinel = -1.0;

struct Grid {
  int n[3];   /* interior cells per dimension (x, y, z) */
  int l[3];   /* with halo: n + 2R */
  int ld;     /* doubles from one x-row to the next: l[0], or pitch / 8 for pitched memory */
  int r, q;
  int dims[3], coords[3], periods[3];
  long long global[3];
  size_t cells; /* doubles in the local array */
};

/* A box of the local array: first cell and extent per dimension (x, y, z), all quantities. */
struct Box {
  int start[3], size[3];
};

/* A message: datatype, count and byte offset of its first cell in the array. */
struct Message {
  MPI_Datatype type;
  int count;
  MPI_Aint offset;
  long long bytes;
};

static size_t cell_index(const struct Grid* g, int q, int z, int y, int x) {
  return (((size_t)q * (size_t)g->l[2] + (size_t)z) * (size_t)g->l[1] + (size_t)y) * (size_t)g->ld +
         (size_t)x;
}

/* The value a cell holds: unique per global cell and quantity, exact as a double. */
static double value_of(const struct Grid* g, long long gx, long long gy, long long gz, int q) {
  return 1.0 + (double)(gx + g->global[0] * (gy + g->global[1] * (gz + g->global[2] * q)));
}

/* What local cell (x, y, z) of quantity q must hold after an exchange. */
static double expected(const struct Grid* g, int q, int z, int y, int x) {
  const int local[3] = {x, y, z};
  long long gc[3];
  for (int a = 0; a < 3; ++a) {
    gc[a] = (long long)g->coords[a] * g->n[a] + (local[a] - g->r);
    if (gc[a] < 0 || gc[a] >= g->global[a]) {
      if (!g->periods[a]) return kSentinel;
      gc[a] = (gc[a] % g->global[a] + g->global[a]) % g->global[a];
    }
  }
  return value_of(g, gc[0], gc[1], gc[2], q);
}

static int in_interior(const struct Grid* g, int z, int y) {
  return z >= g->r && z < g->r + g->n[2] && y >= g->r && y < g->r + g->n[1];
}

/* The x ranges [lo, hi) of row (z, y) that are halo cells (or the whole row with `all`);
 * returns how many ranges. */
static int row_spans(const struct Grid* g, int z, int y, int all, int span[2][2]) {
  if (all || !in_interior(g, z, y)) {
    span[0][0] = 0, span[0][1] = g->l[0];
    return 1;
  }
  span[0][0] = 0, span[0][1] = g->r;
  span[1][0] = g->r + g->n[0], span[1][1] = g->l[0];
  return 2;
}

static void fill(const struct Grid* g, double* a) {
  for (int q = 0; q < g->q; ++q)
    for (int z = 0; z < g->l[2]; ++z)
      for (int y = 0; y < g->l[1]; ++y)
        for (int x = 0; x < g->l[0]; ++x) {
          const int inside = in_interior(g, z, y) && x >= g->r && x < g->r + g->n[0];
          a[cell_index(g, q, z, y, x)] = inside ? expected(g, q, z, y, x) : kSentinel;
        }
}

static void reset_halo(const struct Grid* g, double* a) {
  int span[2][2];
  for (int q = 0; q < g->q; ++q)
    for (int z = 0; z < g->l[2]; ++z)
      for (int y = 0; y < g->l[1]; ++y) {
        const int k = row_spans(g, z, y, 0, span);
        for (int j = 0; j < k; ++j)
          for (int x = span[j][0]; x < span[j][1]; ++x) a[cell_index(g, q, z, y, x)] = kSentinel;
      }
}

/* Counts cells that differ from what the exchange must leave: the halo, or everything. */
static long long check(const struct Grid* g, const double* a, int all, int rank) {
  long long bad = 0;
  int span[2][2];
  for (int q = 0; q < g->q; ++q)
    for (int z = 0; z < g->l[2]; ++z)
      for (int y = 0; y < g->l[1]; ++y) {
        const int k = row_spans(g, z, y, all, span);
        for (int j = 0; j < k; ++j)
          for (int x = span[j][0]; x < span[j][1]; ++x) {
            const double want = expected(g, q, z, y, x);
            const double have = a[cell_index(g, q, z, y, x)];
            if (have != want) {
              if (bad < 5)
                fprintf(stderr, "rank %d: cell (x=%d, y=%d, z=%d, q=%d) is %.17g, expected %.17g\n", rank, x,
                        y, z, q, have, want);
              ++bad;
            }
          }
      }
  return bad;
}

/* Builds a committed datatype for `box` the way --types says. */
static struct Message make_message(const struct Grid* g, enum Types types, const struct Box* box) {
  struct Message m = {MPI_DATATYPE_NULL, 1, 0, 0};
  const int* l = g->l;
  const int ld = g->ld; /* the row length the array really has (l[0] unless pitched) */
  const int* s = box->size;
  const int* st = box->start;
  m.bytes = (long long)s[0] * s[1] * s[2] * g->q * (long long)sizeof(double);
  const MPI_Aint dsize = (MPI_Aint)sizeof(double);
  const MPI_Aint plane = (MPI_Aint)ld * l[1] * dsize;
  const MPI_Aint volume = plane * l[2];
  if (types == kSubarrayC) {
    const int sizes[4] = {g->q, l[2], l[1], ld};
    const int subsizes[4] = {g->q, s[2], s[1], s[0]};
    const int starts[4] = {0, st[2], st[1], st[0]};
    MPI_Type_create_subarray(4, sizes, subsizes, starts, MPI_ORDER_C, MPI_DOUBLE, &m.type);
  } else if (types == kSubarrayF) {
    const int sizes[4] = {ld, l[1], l[2], g->q};
    const int subsizes[4] = {s[0], s[1], s[2], g->q};
    const int starts[4] = {st[0], st[1], st[2], 0};
    MPI_Type_create_subarray(4, sizes, subsizes, starts, MPI_ORDER_FORTRAN, MPI_DOUBLE, &m.type);
  } else if (types == kVector) {
    MPI_Datatype rows, box3;
    MPI_Type_vector(s[1], s[0], ld, MPI_DOUBLE, &rows);
    MPI_Type_create_hvector(s[2], 1, plane, rows, &box3);
    MPI_Type_create_hvector(g->q, 1, volume, box3, &m.type);
    MPI_Type_free(&rows);
    MPI_Type_free(&box3);
    m.offset = (MPI_Aint)cell_index(g, 0, st[2], st[1], st[0]) * dsize;
  } else {
    MPI_Datatype column, column1, columns, columns1, planes;
    MPI_Type_vector(s[1], 1, ld, MPI_DOUBLE, &column);
    MPI_Type_create_resized(column, 0, dsize, &column1);
    MPI_Type_contiguous(s[0], column1, &columns);
    MPI_Type_create_resized(columns, 0, plane, &columns1);
    MPI_Type_contiguous(s[2], columns1, &planes);
    MPI_Type_create_resized(planes, 0, volume, &m.type);
    MPI_Type_free(&column);
    MPI_Type_free(&column1);
    MPI_Type_free(&columns);
    MPI_Type_free(&columns1);
    MPI_Type_free(&planes);
    m.count = g->q;
    m.offset = (MPI_Aint)cell_index(g, 0, st[2], st[1], st[0]) * dsize;
  }
  MPI_Type_commit(&m.type);
  return m;
}

/* The box sent toward direction d (send) or received from direction d (halo). In phase
 * `phase` (alltoallw: 0 = x, 1 = y, 2 = z; -1 for the 26-way exchange) the dimensions before
 * the phase's span the whole array (halos included), those after it the interior. */
static struct Box box_for(const struct Grid* g, const int d[3], int send, int phase) {
  struct Box b;
  for (int a = 0; a < 3; ++a) {
    const int r = g->r, n = g->n[a];
    if (d[a] == 0) {
      const int full = phase >= 0 && a < phase;
      b.start[a] = full ? 0 : r;
      b.size[a] = full ? g->l[a] : n;
    } else {
      b.size[a] = r;
      if (send) b.start[a] = d[a] < 0 ? r : n;
      else b.start[a] = d[a] < 0 ? 0 : r + n;
    }
  }
  return b;
}

/* The neighbour in direction d, MPI_PROC_NULL across a non-periodic boundary. */
static int neighbour(MPI_Comm cart, const struct Grid* g, const int d[3]) {
  int c[3];
  for (int a = 0; a < 3; ++a) {
    c[a] = g->coords[a] + d[a];
    if (c[a] < 0 || c[a] >= g->dims[a]) {
      if (!g->periods[a]) return MPI_PROC_NULL;
      c[a] = (c[a] + g->dims[a]) % g->dims[a];
    }
  }
  int rank;
  MPI_Cart_rank(cart, c, &rank);
  return rank;
}

#if STRIDER_HALO_CUDA
/* Every CUDA call is checked: on failure, the call and CUDA's error string, then MPI_Abort. */
#define CUDA_CHECK(call) cuda_check((call), #call, __LINE__)
static void cuda_check(cudaError_t err, const char* what, int line) {
  if (err == cudaSuccess) return;
  int rank = -1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  fprintf(stderr, "strider_bench_halo3d: rank %d: %s failed (halo3d.c:%d): %s\n", rank, what, line,
          cudaGetErrorString(err));
  MPI_Abort(MPI_COMM_WORLD, 1);
}

/* A message of the hand-staged exchange: its box of the device array, where its packed doubles
 * lie in the pinned host buffer (box order: x fastest, then y, z, quantity) and its peer
 * (MPI_PROC_NULL: nothing is copied). */
struct Staged {
  struct Box box;
  size_t at;
  int count;
  int peer;
};

static struct Staged staged(const struct Grid* g, struct Box box, size_t* at, int peer) {
  struct Staged m;
  m.box = box;
  m.at = *at;
  m.count = box.size[0] * box.size[1] * box.size[2] * g->q;
  m.peer = peer;
  *at += (size_t)m.count;
  return m;
}

/* Queues on `stream` the copies between message m's box of the device array `dev` and its
 * contiguous place in `buf`: from the device (to_device = 0) or to it. One copy per quantity:
 * cudaMemcpy2DAsync when the box is one plane thick, else cudaMemcpy3DAsync. The device array is
 * a pitched 3-D array of pitch ld * 8 bytes and l[1] rows per slice, quantity q's plane z being
 * slice q * l[2] + z: positions and widths are in bytes along x, rows along y, slices along z. */
static void stage_copy(const struct Grid* g, double* dev, const struct Staged* m, double* buf, int to_device,
                       cudaStream_t stream) {
  if (m->peer == MPI_PROC_NULL) return;
  const struct Box* b = &m->box;
  const size_t pitch = (size_t)g->ld * sizeof(double);
  const size_t width = (size_t)b->size[0] * sizeof(double);
  const size_t rows = (size_t)b->size[1], depth = (size_t)b->size[2];
  for (int q = 0; q < g->q; ++q) {
    double* h = buf + m->at + (size_t)q * (size_t)b->size[0] * rows * depth;
    if (depth == 1) {
      double* d = dev + cell_index(g, q, b->start[2], b->start[1], b->start[0]);
      if (to_device)
        CUDA_CHECK(cudaMemcpy2DAsync(d, pitch, h, width, width, rows, cudaMemcpyHostToDevice, stream));
      else
        CUDA_CHECK(cudaMemcpy2DAsync(h, width, d, pitch, width, rows, cudaMemcpyDeviceToHost, stream));
      continue;
    }
    const struct cudaPitchedPtr dptr =
        make_cudaPitchedPtr(dev, pitch, (size_t)g->l[0] * sizeof(double), (size_t)g->l[1]);
    const struct cudaPos dpos = make_cudaPos((size_t)b->start[0] * sizeof(double), (size_t)b->start[1],
                                             (size_t)q * (size_t)g->l[2] + (size_t)b->start[2]);
    const struct cudaPitchedPtr hptr = make_cudaPitchedPtr(h, width, width, rows);
    struct cudaMemcpy3DParms p;
    memset(&p, 0, sizeof p);
    if (to_device) {
      p.srcPtr = hptr, p.srcPos = make_cudaPos(0, 0, 0);
      p.dstPtr = dptr, p.dstPos = dpos;
      p.kind = cudaMemcpyHostToDevice;
    } else {
      p.srcPtr = dptr, p.srcPos = dpos;
      p.dstPtr = hptr, p.dstPos = make_cudaPos(0, 0, 0);
      p.kind = cudaMemcpyDeviceToHost;
    }
    p.extent = make_cudaExtent(width, rows, depth);
    CUDA_CHECK(cudaMemcpy3DAsync(&p, stream));
  }
}

/* Copies n messages between the device and `buf` and waits for the copies. */
static void stage(const struct Grid* g, double* dev, const struct Staged* m, int n, double* buf, int to_device,
                  cudaStream_t stream) {
  for (int i = 0; i < n; ++i) stage_copy(g, dev, &m[i], buf, to_device, stream);
  CUDA_CHECK(cudaStreamSynchronize(stream));
}
#endif

/* The index of `value` among the n option names; `current` (and *ok cleared) when none matches. */
static int choose(const char* value, const char* const* names, int n, int current, int* ok) {
  for (int k = 0; k < n; ++k)
    if (!strcmp(value, names[k])) return k;
  *ok = 0;
  return current;
}

static int parse_triple(const char* s, int out[3]) {
  return sscanf(s, "%d,%d,%d", &out[0], &out[1], &out[2]) == 3;
}

static void usage(void) {
  fprintf(stderr,
          "usage: mpiexec -n N strider_bench_halo3d [--n N | --grid X,Y,Z] [--q Q] [--r R]\n"
          "         [--types subarray-c|subarray-f|vector|resized] [--method isend|sendrecv|alltoallw|ineighbor]\n"
          "         [--periodic 1|0|XYZ] [--memory host|device|pitched] [--staging none|hand]\n"
          "         [--reps REPS] [--warmup W] [--json FILE]\n"
          "       (--staging hand needs --memory device or pitched)\n");
}

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank, nranks;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &nranks);

  struct Grid g;
  memset(&g, 0, sizeof g);
  g.n[0] = g.n[1] = g.n[2] = 32;
  g.q = 1;
  g.r = 1;
  g.periods[0] = g.periods[1] = g.periods[2] = 1;
  enum Types types = kSubarrayC;
  enum Method method = kIsend;
  enum Memory memory = kHost;
  enum Staging staging = kNone;
  int reps = 50, warmup = 5, ok_args = 1;
  const char* json = NULL;
  for (int i = 1; i < argc; ++i) {
    const char* v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!v) {
      ok_args = 0;
      break;
    }
    if (!strcmp(argv[i], "--n")) {
      g.n[0] = g.n[1] = g.n[2] = atoi(v);
    } else if (!strcmp(argv[i], "--grid")) {
      ok_args = ok_args && parse_triple(v, g.n);
    } else if (!strcmp(argv[i], "--q")) {
      g.q = atoi(v);
    } else if (!strcmp(argv[i], "--r")) {
      g.r = atoi(v);
    } else if (!strcmp(argv[i], "--types")) {
      types = (enum Types)choose(v, kTypeNames, 4, types, &ok_args);
    } else if (!strcmp(argv[i], "--method")) {
      method = (enum Method)choose(v, kMethodNames, 4, method, &ok_args);
    } else if (!strcmp(argv[i], "--memory")) {
      memory = (enum Memory)choose(v, kMemoryNames, 3, memory, &ok_args);
    } else if (!strcmp(argv[i], "--staging")) {
      staging = (enum Staging)choose(v, kStagingNames, 2, staging, &ok_args);
    } else if (!strcmp(argv[i], "--periodic")) {
      const size_t len = strlen(v);
      if (len != 1 && len != 3) ok_args = 0;
      for (int a = 0; a < 3 && ok_args; ++a) {
        const char c = v[len == 1 ? 0 : a];
        if (c != '0' && c != '1') ok_args = 0;
        g.periods[a] = c == '1';
      }
    } else if (!strcmp(argv[i], "--reps")) {
      reps = atoi(v);
    } else if (!strcmp(argv[i], "--warmup")) {
      warmup = atoi(v);
    } else if (!strcmp(argv[i], "--json")) {
      json = v;
    } else {
      ok_args = 0;
    }
    ++i;
  }
  for (int a = 0; a < 3; ++a) ok_args = ok_args && g.n[a] >= 1 && g.n[a] <= 4096 && g.r <= g.n[a];
  if (staging == kHand && memory == kHost) ok_args = 0;
  if (!ok_args || g.q < 1 || g.r < 1 || reps < 1 || warmup < 0) {
    if (rank == 0) usage();
    MPI_Finalize();
    return 2;
  }

  MPI_Dims_create(nranks, 3, g.dims);
  /* Open MPI 4.1's nonblocking neighbourhood collectives pair the two messages between
   * duplicate neighbours (a periodic dimension of one or two ranks) the other way round from
   * its blocking ones, so the halo check would fail there for reasons of the MPI's own. */
  for (int a = 0; a < 3; ++a)
    if (method == kIneighbor && g.periods[a] && g.dims[a] <= 2) {
      if (rank == 0)
        fprintf(stderr, "strider_bench_halo3d: --method ineighbor needs 3 or more ranks along each periodic "
                        "dimension (%d along dimension %d); use --periodic to make it non-periodic\n",
                g.dims[a], a);
      MPI_Finalize();
      return 2;
    }
  MPI_Comm cart;
  MPI_Cart_create(MPI_COMM_WORLD, 3, g.dims, g.periods, 0, &cart);
  MPI_Comm_rank(cart, &rank);
  MPI_Cart_coords(cart, rank, 3, g.coords);
  for (int a = 0; a < 3; ++a) {
    g.l[a] = g.n[a] + 2 * g.r;
    g.global[a] = (long long)g.n[a] * g.dims[a];
  }
  g.ld = g.l[0];

  /* Device memory: every rank needs a device, or all of them skip. */
  double* dev = NULL;
#if STRIDER_HALO_CUDA
  cudaStream_t stream = NULL;
  if (memory != kHost) {
    int ndev = 0;
    const cudaError_t err = cudaGetDeviceCount(&ndev);
    if (err != cudaSuccess) (void)cudaGetLastError();
    int usable = err == cudaSuccess && ndev > 0;
    MPI_Allreduce(MPI_IN_PLACE, &usable, 1, MPI_INT, MPI_MIN, cart);
    if (!usable) {
      if (rank == 0) {
        printf("SKIP: no CUDA device\n");
        fflush(stdout);
      }
      MPI_Comm_free(&cart);
      MPI_Finalize();
      return 77;
    }
    const char* local = getenv("OMPI_COMM_WORLD_LOCAL_RANK");
    const int local_rank = local ? atoi(local) : 0;
    CUDA_CHECK(cudaSetDevice((local_rank < 0 ? 0 : local_rank) % ndev));
    const size_t row = (size_t)g.l[0] * sizeof(double);
    if (memory == kPitched) {
      struct cudaPitchedPtr pitched;
      CUDA_CHECK(cudaMalloc3D(&pitched, make_cudaExtent(row, (size_t)g.l[1], (size_t)g.l[2] * (size_t)g.q)));
      if (pitched.pitch % sizeof(double) != 0) {
        fprintf(stderr, "strider_bench_halo3d: rank %d: cudaMalloc3D returned a pitch of %zu bytes for rows of %zu "
                "bytes, not a whole number of doubles: --memory pitched cannot address it\n", rank, pitched.pitch, row);
        MPI_Abort(MPI_COMM_WORLD, 1);
      }
      g.ld = (int)(pitched.pitch / sizeof(double));
      dev = pitched.ptr;
    } else {
      CUDA_CHECK(cudaMalloc((void**)&dev, row * (size_t)g.l[1] * (size_t)g.l[2] * (size_t)g.q));
    }
    CUDA_CHECK(cudaStreamCreate(&stream));
  }
#else
  if (memory != kHost) {
    if (rank == 0) {
      printf("SKIP: --memory %s needs strider_bench_halo3d built with CUDA (STRIDER_HALO_CUDA); this build has "
             "none\n", kMemoryNames[memory]);
      fflush(stdout);
    }
    MPI_Comm_free(&cart);
    MPI_Finalize();
    return 77;
  }
#endif
  if (memory != kHost && staging == kNone && rank == 0 && strcmp(strider_state(), "active") != 0)
    fprintf(stderr, "strider_bench_halo3d: note: device buffers go to the MPI as they are (Strider is %s): "
            "this needs a CUDA-aware MPI\n", strider_state());

  /* The host array, or with device memory its host mirror (same layout, ld included). */
  g.cells = (size_t)g.ld * g.l[1] * g.l[2] * (size_t)g.q;
  double* a = calloc(g.cells, sizeof(double));
  double* times = malloc((size_t)reps * sizeof(double));
  if (!a || !times) {
    fprintf(stderr, "rank %d: out of memory\n", rank);
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  fill(&g, a);

  /* The 26 directions, and per direction the send and the halo message and the peers. */
  int dir[26][3], nd = 0;
  for (int dz = -1; dz <= 1; ++dz)
    for (int dy = -1; dy <= 1; ++dy)
      for (int dx = -1; dx <= 1; ++dx)
        if (dx || dy || dz) {
          dir[nd][0] = dx, dir[nd][1] = dy, dir[nd][2] = dz;
          ++nd;
        }
  struct Message send[26], recv[26];
  int to[26], from[26];
  long long bytes_sent = 0, messages = 0;
  /* alltoallw: per phase, the 6 Cartesian neighbours' types, counts and byte displacements
   * (neighbour 2a is at -1 along dimension a, 2a + 1 at +1). */
  MPI_Datatype wsend[3][6], wrecv[3][6];
  int wcount_s[3][6], wcount_r[3][6];
  MPI_Aint wdispl_s[3][6], wdispl_r[3][6];
  const int neighbourhood = method == kAlltoallw || method == kIneighbor;
  if (neighbourhood) {
    for (int p = 0; p < 3; ++p)
      for (int k = 0; k < 6; ++k) {
        int d[3] = {0, 0, 0};
        d[k / 2] = k % 2 ? 1 : -1;
        wsend[p][k] = wrecv[p][k] = MPI_BYTE;
        wcount_s[p][k] = wcount_r[p][k] = 0;
        wdispl_s[p][k] = wdispl_r[p][k] = 0;
        if (k / 2 != p) continue;
        const struct Box sb = box_for(&g, d, 1, p), rb = box_for(&g, d, 0, p);
        const struct Message sm = make_message(&g, types, &sb), rm = make_message(&g, types, &rb);
        wsend[p][k] = sm.type, wcount_s[p][k] = sm.count, wdispl_s[p][k] = sm.offset;
        wrecv[p][k] = rm.type, wcount_r[p][k] = rm.count, wdispl_r[p][k] = rm.offset;
        if (neighbour(cart, &g, d) != MPI_PROC_NULL) {
          bytes_sent += sm.bytes;
          ++messages;
        }
      }
  } else {
    for (int i = 0; i < nd; ++i) {
      const struct Box sb = box_for(&g, dir[i], 1, -1), rb = box_for(&g, dir[i], 0, -1);
      send[i] = make_message(&g, types, &sb);
      recv[i] = make_message(&g, types, &rb);
      const int back[3] = {-dir[i][0], -dir[i][1], -dir[i][2]};
      to[i] = neighbour(cart, &g, dir[i]);
      from[i] = neighbour(cart, &g, back); /* the peer whose send toward dir[i] lands in halo -dir[i] */
      if (to[i] != MPI_PROC_NULL) {
        bytes_sent += send[i].bytes;
        ++messages;
      }
    }
  }
#if STRIDER_HALO_CUDA
  /* --staging hand: the same boxes, each packed to its place in one of two pinned host buffers
   * allocated here, once. 26-way: message i is the send toward dir[i] and the receive tagged i
   * (halo nd - 1 - i). alltoallw: message k = 2 * phase + side, and per phase the counts and
   * displacements (doubles, from the phase's first message) of MPI_Neighbor_alltoallv. */
  struct Staged hsend[26], hrecv[26];
  int vcount_s[3][6], vcount_r[3][6], vdispl_s[3][6], vdispl_r[3][6];
  size_t phase_s[3] = {0, 0, 0}, phase_r[3] = {0, 0, 0};
  double* pin_send = NULL;
  double* pin_recv = NULL;
  if (staging == kHand) {
    size_t ns = 0, nr = 0;
    if (neighbourhood) {
      for (int p = 0; p < 3; ++p) {
        phase_s[p] = ns, phase_r[p] = nr;
        for (int k = 0; k < 6; ++k) {
          vcount_s[p][k] = vcount_r[p][k] = vdispl_s[p][k] = vdispl_r[p][k] = 0;
          if (k / 2 != p) continue;
          int d[3] = {0, 0, 0};
          d[p] = k % 2 ? 1 : -1;
          const int peer = neighbour(cart, &g, d);
          hsend[k] = staged(&g, box_for(&g, d, 1, p), &ns, peer);
          hrecv[k] = staged(&g, box_for(&g, d, 0, p), &nr, peer);
          vcount_s[p][k] = hsend[k].count, vdispl_s[p][k] = (int)(hsend[k].at - phase_s[p]);
          vcount_r[p][k] = hrecv[k].count, vdispl_r[p][k] = (int)(hrecv[k].at - phase_r[p]);
        }
      }
    } else {
      for (int i = 0; i < nd; ++i) {
        hsend[i] = staged(&g, box_for(&g, dir[i], 1, -1), &ns, to[i]);
        hrecv[i] = staged(&g, box_for(&g, dir[nd - 1 - i], 0, -1), &nr, from[i]);
      }
    }
    CUDA_CHECK(cudaMallocHost((void**)&pin_send, (ns ? ns : 1) * sizeof(double)));
    CUDA_CHECK(cudaMallocHost((void**)&pin_recv, (nr ? nr : 1) * sizeof(double)));
  }
#endif
  long long total_bytes = 0, total_messages = 0;
  MPI_Allreduce(&bytes_sent, &total_bytes, 1, MPI_LONG_LONG, MPI_SUM, cart);
  MPI_Allreduce(&messages, &total_messages, 1, MPI_LONG_LONG, MPI_SUM, cart);

  char* base = dev ? (char*)dev : (char*)a;
  long long bad = 0;
  MPI_Request req[52];
#if STRIDER_HALO_CUDA
  if (dev) {
    CUDA_CHECK(cudaMemcpy(dev, a, g.cells * sizeof(double), cudaMemcpyHostToDevice));
    CUDA_CHECK(cudaDeviceSynchronize());
  }
#endif
  for (int it = -warmup; it < reps; ++it) {
    MPI_Barrier(cart);
    const double t0 = MPI_Wtime();
    if (staging == kHand) {
#if STRIDER_HALO_CUDA
      /* Pack (device to pinned host, waited for), contiguous MPI, unpack (host to device). The
       * receives of isend are posted before the packing, as a careful user would. */
      if (neighbourhood) {
        for (int p = 0; p < 3; ++p) {
          stage(&g, dev, &hsend[2 * p], 2, pin_send, 0, stream);
          MPI_Neighbor_alltoallv(pin_send + phase_s[p], vcount_s[p], vdispl_s[p], MPI_DOUBLE, pin_recv + phase_r[p],
                                 vcount_r[p], vdispl_r[p], MPI_DOUBLE, cart);
          stage(&g, dev, &hrecv[2 * p], 2, pin_recv, 1, stream);
        }
      } else {
        if (method == kIsend)
          for (int i = 0; i < nd; ++i)
            MPI_Irecv(pin_recv + hrecv[i].at, hrecv[i].count, MPI_DOUBLE, from[i], i, cart, &req[i]);
        stage(&g, dev, hsend, nd, pin_send, 0, stream);
        if (method == kIsend) {
          for (int i = 0; i < nd; ++i)
            MPI_Isend(pin_send + hsend[i].at, hsend[i].count, MPI_DOUBLE, to[i], i, cart, &req[nd + i]);
          MPI_Waitall(2 * nd, req, MPI_STATUSES_IGNORE);
        } else {
          for (int i = 0; i < nd; ++i)
            MPI_Sendrecv(pin_send + hsend[i].at, hsend[i].count, MPI_DOUBLE, to[i], i, pin_recv + hrecv[i].at,
                         hrecv[i].count, MPI_DOUBLE, from[i], i, cart, MPI_STATUS_IGNORE);
        }
        stage(&g, dev, hrecv, nd, pin_recv, 1, stream);
      }
#endif
    } else if (method == kIsend) {
      /* Halo of direction -d is filled by the neighbour's send toward d, tagged d. */
      for (int i = 0; i < nd; ++i) {
        const int h = nd - 1 - i; /* dir[h] == -dir[i] */
        MPI_Irecv(base + recv[h].offset, recv[h].count, recv[h].type, from[i], i, cart, &req[i]);
      }
      for (int i = 0; i < nd; ++i)
        MPI_Isend(base + send[i].offset, send[i].count, send[i].type, to[i], i, cart, &req[nd + i]);
      MPI_Waitall(2 * nd, req, MPI_STATUSES_IGNORE);
    } else if (method == kSendrecv) {
      for (int i = 0; i < nd; ++i) {
        const int h = nd - 1 - i;
        MPI_Sendrecv(base + send[i].offset, send[i].count, send[i].type, to[i], i, base + recv[h].offset,
                     recv[h].count, recv[h].type, from[i], i, cart, MPI_STATUS_IGNORE);
      }
    } else if (method == kAlltoallw) {
      for (int p = 0; p < 3; ++p)
        MPI_Neighbor_alltoallw(base, wcount_s[p], wdispl_s[p], wsend[p], base, wcount_r[p], wdispl_r[p],
                               wrecv[p], cart);
    } else {
      for (int p = 0; p < 3; ++p) {
        MPI_Ineighbor_alltoallw(base, wcount_s[p], wdispl_s[p], wsend[p], base, wcount_r[p], wdispl_r[p],
                                wrecv[p], cart, &req[0]);
        MPI_Wait(&req[0], MPI_STATUS_IGNORE);
      }
    }
#if STRIDER_HALO_CUDA
    if (dev) CUDA_CHECK(cudaDeviceSynchronize());
#endif
    double elapsed = MPI_Wtime() - t0;
    MPI_Allreduce(MPI_IN_PLACE, &elapsed, 1, MPI_DOUBLE, MPI_MAX, cart);
    if (it >= 0) times[it] = elapsed;
#if STRIDER_HALO_CUDA
    if (dev) CUDA_CHECK(cudaMemcpy(a, dev, g.cells * sizeof(double), cudaMemcpyDeviceToHost));
#endif
    bad += check(&g, a, it == -warmup || it == reps - 1, rank);
    reset_halo(&g, a);
#if STRIDER_HALO_CUDA
    if (dev) {
      CUDA_CHECK(cudaMemcpy(dev, a, g.cells * sizeof(double), cudaMemcpyHostToDevice));
      CUDA_CHECK(cudaDeviceSynchronize());
    }
#endif
  }
  long long total_bad = 0;
  MPI_Allreduce(&bad, &total_bad, 1, MPI_LONG_LONG, MPI_SUM, cart);

  qsort(times, (size_t)reps, sizeof(double), compare_doubles);
  const double med = times[reps / 2] * 1e3, lo = times[0] * 1e3, hi = times[reps - 1] * 1e3;
  const double gbs = (double)total_bytes / (times[reps / 2] * 1e9);
  if (rank == 0) {
    char periodic[4] = {(char)('0' + g.periods[0]), (char)('0' + g.periods[1]), (char)('0' + g.periods[2]), 0};
    printf("RESULT method=%s types=%s ranks=%d dims=%dx%dx%d periodic=%s grid=%dx%dx%d q=%d r=%d messages=%lld "
           "bytes=%lld reps=%d median_ms=%.4f min_ms=%.4f max_ms=%.4f gbs=%.3f strider=%s memory=%s staging=%s "
           "verified=%s\n",
           kMethodNames[method], kTypeNames[types], nranks, g.dims[0], g.dims[1], g.dims[2], periodic, g.n[0],
           g.n[1], g.n[2], g.q, g.r, total_messages, total_bytes, reps, med, lo, hi, gbs, strider_state(),
           kMemoryNames[memory], kStagingNames[staging], total_bad == 0 ? "yes" : "no");
    fflush(stdout);
    if (json) {
      FILE* f = fopen(json, "w");
      if (!f) {
        fprintf(stderr, "strider_bench_halo3d: cannot write %s\n", json);
      } else {
        fprintf(f,
                "{\"benchmark\": \"halo3d\", \"method\": \"%s\", \"types\": \"%s\", \"ranks\": %d, "
                "\"dims\": [%d, %d, %d], \"periodic\": \"%s\", \"grid\": [%d, %d, %d], \"q\": %d, \"r\": %d, "
                "\"messages\": %lld, \"bytes\": %lld, \"reps\": %d, \"warmup\": %d, \"median_ms\": %.6f, "
                "\"min_ms\": %.6f, \"max_ms\": %.6f, \"gbs\": %.6f, \"strider\": \"%s\", \"memory\": \"%s\", "
                "\"staging\": \"%s\", \"verified\": %s}\n",
                kMethodNames[method], kTypeNames[types], nranks, g.dims[0], g.dims[1], g.dims[2], periodic, g.n[0],
                g.n[1], g.n[2], g.q, g.r, total_messages, total_bytes, reps, warmup, med, lo, hi, gbs,
                strider_state(), kMemoryNames[memory], kStagingNames[staging], total_bad == 0 ? "true" : "false");
        fclose(f);
      }
    }
  }

  if (neighbourhood) {
    for (int p = 0; p < 3; ++p)
      for (int k = 2 * p; k < 2 * p + 2; ++k) {
        MPI_Type_free(&wsend[p][k]);
        MPI_Type_free(&wrecv[p][k]);
      }
  } else {
    for (int i = 0; i < nd; ++i) {
      MPI_Type_free(&send[i].type);
      MPI_Type_free(&recv[i].type);
    }
  }
#if STRIDER_HALO_CUDA
  if (pin_send) CUDA_CHECK(cudaFreeHost(pin_send));
  if (pin_recv) CUDA_CHECK(cudaFreeHost(pin_recv));
  if (stream) CUDA_CHECK(cudaStreamDestroy(stream));
  if (dev) CUDA_CHECK(cudaFree(dev));
#endif
  free(a);
  free(times);
  MPI_Comm_free(&cart);
  MPI_Finalize();
  return total_bad == 0 ? 0 : 1;
}
