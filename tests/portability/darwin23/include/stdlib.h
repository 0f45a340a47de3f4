/* Stub <stdlib.h> for macOS 14.  Source: malloc(3), getenv(3), qsort(3), exit(3). */
#ifndef _STUB_STDLIB_H_
#define _STUB_STDLIB_H_

#include <stddef.h>

/* malloc(3) */
void *malloc(size_t size);
void *calloc(size_t number, size_t size);
void *realloc(void *ptr, size_t size);
void free(void *ptr);

/* getenv(3) */
char *getenv(const char *name);

/* qsort(3) */
void qsort(void *base, size_t nmemb, size_t size,
           int (*compar)(const void *, const void *));

/* exit(3), abort(3) */
void exit(int status) __attribute__((noreturn));
void abort(void) __attribute__((noreturn));

#endif
