/*
 * failalloc.c - an allocator that fails on request, for the allocation
 * failure tests.
 *
 * The program that links this file defines malloc, calloc, realloc and
 * free itself.  An executable's definitions come first in the dynamic
 * linker's search order, so libward.so's calls (and the C library's own
 * internal ones) reach them.  They forward to the C library's allocator
 * through its __libc_* entry points, and fail the Nth call made by the
 * armed thread once failalloc_arm(N) has been called: NULL with ENOMEM,
 * as the real allocator does.  Only the arming thread counts, so the test
 * framework's own threads and allocations never shift the count.
 *
 * Sanitizers replace the allocator themselves; in such builds this file
 * defines nothing and failalloc_available() says 0 (the tests then skip).
 */
#include "failalloc.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#if FAILALLOC_ENABLED

void *__libc_malloc(size_t n);
void *__libc_calloc(size_t n, size_t size);
void *__libc_realloc(void *p, size_t n);
void __libc_free(void *p);

static __thread int armed;           /* this thread counts calls */
static __thread unsigned long calls; /* calls counted since arming */
static __thread unsigned long fail_at;
static __thread unsigned long failed;

/* What the armed thread allocated, for messages: size, or -1 for a free. */
#define LOGN 64
static __thread long logv[LOGN];
static __thread int logn;

static void
note(long v)
{
    if (logn < LOGN)
        logv[logn++] = v;
}

size_t
failalloc_log(char *buf, size_t cap)
{
    size_t len = 0;

    buf[0] = '\0';
    for (int i = 0; i < logn && len + 24 < cap; i++) {
        int k = snprintf(buf + len, cap - len, logv[i] < 0 ? " free" : " %ld", logv[i]);
        if (k > 0)
            len += (size_t)k;
    }
    return len;
}

void
failalloc_arm(unsigned long n)
{
    calls = 0;
    failed = 0;
    logn = 0;
    fail_at = n;
    armed = 1;
}

unsigned long
failalloc_disarm(void)
{
    armed = 0;
    return calls;
}

unsigned long
failalloc_failed(void)
{
    return failed;
}

int
failalloc_available(void)
{
    return 1;
}

/* 1 if this call is the one to fail. */
static int
should_fail(size_t n)
{
    if (!armed)
        return 0;
    note((long)n);
    calls++;
    if (calls == fail_at) {
        failed++;
        return 1;
    }
    return 0;
}

void *
malloc(size_t n)
{
    if (should_fail(n)) {
        errno = ENOMEM;
        return NULL;
    }
    return __libc_malloc(n);
}

void *
calloc(size_t n, size_t size)
{
    if (should_fail(n * size)) {
        errno = ENOMEM;
        return NULL;
    }
    return __libc_calloc(n, size);
}

void *
realloc(void *p, size_t n)
{
    if (should_fail(n)) {
        errno = ENOMEM;
        return NULL;
    }
    return __libc_realloc(p, n);
}

void
free(void *p)
{
    if (armed && p != NULL)
        note(-1);
    __libc_free(p);
}

#else

void
failalloc_arm(unsigned long n)
{
    (void)n;
}

unsigned long
failalloc_disarm(void)
{
    return 0;
}

unsigned long
failalloc_failed(void)
{
    return 0;
}

int
failalloc_available(void)
{
    return 0;
}

size_t
failalloc_log(char *buf, size_t cap)
{
    if (cap > 0)
        buf[0] = '\0';
    return 0;
}

#endif
