/* MPI_Pack / MPI_Unpack in a plain MPI program (run with libstrider.so preloaded): vector,
 * C- and Fortran-order subarray faces and an hvector of vectors, packed with incount 2 at an
 * odd position (and the vector's MPI_Type_dup, freed original, no commit of its own) and
 * compared with an element-by-element gather computed here; then unpacked
 * into a zeroed buffer and compared with the matching scatter. A too-small outsize must give
 * MPI_ERR_TRUNCATE and a zero count must leave the position alone. Prints
 * "pack_preload[0]: data ok (N packs, N unpacks)" and, per failure, what differed. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "probe.h"

#define POSITION0 3
#define INCOUNT 2

static int failures = 0;
static int packs = 0;

/* Byte offsets (relative to the buffer) of each packed double/int, in pack order. */
typedef struct {
  long* offsets;
  int n;
  int elem;
} Expect;

static void push(Expect* e, long offset) { e->offsets[e->n++] = offset; }

static void check(const char* what, MPI_Datatype type, const Expect* e, size_t span) {
  unsigned char* src = malloc(span);
  unsigned char* dst = calloc(span, 1);
  for (size_t i = 0; i < span; ++i) src[i] = (unsigned char)(i * 7 + (i >> 8));
  int size = 0;
  MPI_Pack_size(INCOUNT, type, MPI_COMM_WORLD, &size);
  const int packed_bytes = e->n * e->elem;
  unsigned char* packed = malloc((size_t)size + POSITION0);
  int position = POSITION0;
  int rc = MPI_Pack(src, INCOUNT, type, packed, size + POSITION0, &position, MPI_COMM_WORLD);
  if (rc != MPI_SUCCESS || position != POSITION0 + packed_bytes) {
    printf("pack_preload: %s: pack rc %d position %d, expected %d\n", what, rc, position,
           POSITION0 + packed_bytes);
    ++failures;
  }
  for (int k = 0; k < e->n; ++k) {
    if (memcmp(packed + POSITION0 + (long)k * e->elem, src + e->offsets[k], (size_t)e->elem) != 0) {
      printf("pack_preload: %s: packed element %d differs\n", what, k);
      ++failures;
      break;
    }
  }
  position = POSITION0;
  rc = MPI_Unpack(packed, size + POSITION0, &position, dst, INCOUNT, type, MPI_COMM_WORLD);
  if (rc != MPI_SUCCESS || position != POSITION0 + packed_bytes) {
    printf("pack_preload: %s: unpack rc %d position %d\n", what, rc, position);
    ++failures;
  }
  /* Scatter the expectation into a second zeroed buffer: holes must stay zero. */
  unsigned char* want = calloc(span, 1);
  for (int k = 0; k < e->n; ++k) memcpy(want + e->offsets[k], src + e->offsets[k], (size_t)e->elem);
  if (memcmp(want, dst, span) != 0) {
    printf("pack_preload: %s: unpacked bytes differ\n", what);
    ++failures;
  }
  /* Too small by one byte: the underlying MPI's MPI_ERR_TRUNCATE, position unchanged. */
  position = POSITION0;
  rc = MPI_Pack(src, INCOUNT, type, packed, POSITION0 + packed_bytes - 1, &position,
                MPI_COMM_WORLD);
  int cls = MPI_SUCCESS;
  MPI_Error_class(rc, &cls);
  if (cls != MPI_ERR_TRUNCATE || position != POSITION0) {
    printf("pack_preload: %s: too-small outsize gave class %d position %d\n", what, cls, position);
    ++failures;
  }
  /* Zero count: nothing packed. */
  position = POSITION0;
  rc = MPI_Pack(src, 0, type, packed, size + POSITION0, &position, MPI_COMM_WORLD);
  if (rc != MPI_SUCCESS || position != POSITION0) {
    printf("pack_preload: %s: zero count rc %d position %d\n", what, rc, position);
    ++failures;
  }
  packs += 1;
  free(want);
  free(packed);
  free(dst);
  free(src);
}

static void subarray_case(const char* what, int order, const int sizes[3], const int sub[3],
                          const int start[3]) {
  MPI_Datatype type;
  MPI_Type_create_subarray(3, sizes, sub, start, order, MPI_DOUBLE, &type);
  MPI_Type_commit(&type);
  const long elems = (long)sizes[0] * sizes[1] * sizes[2];
  Expect e = {malloc(sizeof(long) * (size_t)elems * INCOUNT), 0, 8};
  for (int c = 0; c < INCOUNT; ++c) {
    for (int a = 0; a < sub[order == MPI_ORDER_C ? 0 : 2]; ++a) {
      for (int b = 0; b < sub[1]; ++b) {
        for (int f = 0; f < sub[order == MPI_ORDER_C ? 2 : 0]; ++f) {
          long index;
          if (order == MPI_ORDER_C) {
            index = ((long)(start[0] + a) * sizes[1] + (start[1] + b)) * sizes[2] + start[2] + f;
          } else {
            index = ((long)(start[2] + a) * sizes[1] + (start[1] + b)) * sizes[0] + start[0] + f;
          }
          push(&e, (c * elems + index) * 8);
        }
      }
    }
  }
  check(what, type, &e, (size_t)(elems * INCOUNT * 8));
  free(e.offsets);
  MPI_Type_free(&type);
}

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  probe_strider("pack_preload", rank);

  { /* vector(50, 2, 5, double): 16-byte blocks at a 40-byte stride */
    MPI_Datatype type;
    MPI_Type_vector(50, 2, 5, MPI_DOUBLE, &type);
    MPI_Type_commit(&type);
    const long extent = ((50 - 1) * 5 + 2) * 8;
    Expect e = {malloc(sizeof(long) * 200), 0, 8};
    for (int c = 0; c < INCOUNT; ++c)
      for (int i = 0; i < 50; ++i)
        for (int j = 0; j < 2; ++j) push(&e, c * extent + (i * 5 + j) * 8);
    check("vector", type, &e, (size_t)(extent * INCOUNT));
    /* A dup of a committed type is committed without an MPI_Type_commit call. */
    MPI_Datatype copy;
    MPI_Type_dup(type, &copy);
    MPI_Type_free(&type);
    check("dup of vector", copy, &e, (size_t)(extent * INCOUNT));
    free(e.offsets);
    MPI_Type_free(&copy);
  }
  { /* hvector(4, 1, 1000 B, vector(3, 1, 2, int)) */
    MPI_Datatype row, type;
    MPI_Type_vector(3, 1, 2, MPI_INT, &row);
    MPI_Type_create_hvector(4, 1, 1000, row, &type);
    MPI_Type_commit(&type);
    MPI_Type_free(&row);
    const long extent = 3 * 1000 + 5 * 4;
    Expect e = {malloc(sizeof(long) * 24), 0, 4};
    for (int c = 0; c < INCOUNT; ++c)
      for (int i = 0; i < 4; ++i)
        for (int j = 0; j < 3; ++j) push(&e, c * extent + i * 1000 + j * 8);
    check("hvector of vector", type, &e, (size_t)(extent * INCOUNT));
    free(e.offsets);
    MPI_Type_free(&type);
  }
  const int sizes[3] = {6, 7, 8};
  for (int axis = 0; axis < 3; ++axis) {
    int sub[3] = {6, 7, 8};
    int start[3] = {0, 0, 0};
    sub[axis] = 1;
    start[axis] = axis + 1;
    char name[64];
    snprintf(name, sizeof name, "subarray C face %d", axis);
    subarray_case(name, MPI_ORDER_C, sizes, sub, start);
    snprintf(name, sizeof name, "subarray Fortran face %d", axis);
    subarray_case(name, MPI_ORDER_FORTRAN, sizes, sub, start);
  }

  if (failures == 0) printf("pack_preload[%d]: data ok (%d packs, %d unpacks)\n", rank, packs, packs);
  fflush(stdout);
  MPI_Finalize();
  return failures == 0 ? 0 : 1;
}
