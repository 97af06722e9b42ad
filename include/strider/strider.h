#ifndef STRIDER_STRIDER_H
#define STRIDER_STRIDER_H
/* Queries exported by libstrider.so next to the MPI_* entry points. A program that must also
 * run without Strider looks them up at run time: dlsym(RTLD_DEFAULT, "strider_is_active"). */

#ifdef __cplusplus
extern "C" {
#endif

/* The library's version as MAJOR * 10000 + MINOR * 100 + PATCH (0.1.0 is 100). */
int strider_version(void);

/* 1 when Strider handles the MPI calls of this process, 0 when it is loaded but passes every
 * call through untouched (STRIDER_DISABLE=1). */
int strider_is_active(void);

#ifdef __cplusplus
}
#endif

#endif /* STRIDER_STRIDER_H */
