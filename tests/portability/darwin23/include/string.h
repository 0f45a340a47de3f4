/* Stub <string.h> for macOS 14.  Source: memcpy(3), memset(3), memcmp(3), strlen(3), strcmp(3), strchr(3), strdup(3). */
#ifndef _STUB_STRING_H_
#define _STUB_STRING_H_

#include <stddef.h>

void *memcpy(void *dst, const void *src, size_t len);      /* memcpy(3) */
void *memmove(void *dst, const void *src, size_t len);     /* memmove(3) */
void *memset(void *dest, int c, size_t len);               /* memset(3) */
int memcmp(const void *b1, const void *b2, size_t len);    /* memcmp(3) */
size_t strlen(const char *s);                              /* strlen(3) */
int strcmp(const char *s1, const char *s2);                /* strcmp(3) */
int strncmp(const char *s1, const char *s2, size_t len);   /* strcmp(3) */
char *strchr(const char *s, int c);                        /* strchr(3) */
char *strdup(const char *str);                             /* strdup(3) */
char *strerror(int errnum);                                /* strerror(3) */

#endif
