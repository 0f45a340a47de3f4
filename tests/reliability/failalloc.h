/* failalloc.h - the failing allocator of failalloc.c. */
#ifndef WARD_TESTS_FAILALLOC_H
#define WARD_TESTS_FAILALLOC_H

/* Off under sanitizers (they own the allocator) and outside glibc. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define FAILALLOC_ENABLED 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || \
    __has_feature(memory_sanitizer)
#define FAILALLOC_ENABLED 0
#endif
#endif
#ifndef FAILALLOC_ENABLED
#if defined(__GLIBC__) || defined(__linux__)
#define FAILALLOC_ENABLED 1
#else
#define FAILALLOC_ENABLED 0
#endif
#endif

/* From now on, the nth allocation (1 = the next) of this thread fails. */
void failalloc_arm(unsigned long n);
/* Stop counting; returns how many allocations were made while armed. */
unsigned long failalloc_disarm(void);
/* How many allocations were failed since the last arm (0 or 1). */
unsigned long failalloc_failed(void);
/*
 * The allocations and frees the armed thread made since the last arm, as
 * text (" 192 80 free free"), for messages.
 */
#include <stddef.h>
size_t failalloc_log(char *buf, size_t cap);
/* 1 if this build can inject failures. */
int failalloc_available(void);

#endif
