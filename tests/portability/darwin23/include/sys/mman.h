/* Stub <sys/mman.h> for macOS 14.  Source: mmap(2), munmap(2). */
#ifndef _STUB_SYS_MMAN_H_
#define _STUB_SYS_MMAN_H_

#include <sys/types.h>

/* mmap(2) */
#define PROT_NONE   0x00
#define PROT_READ   0x01
#define PROT_WRITE  0x02
#define MAP_SHARED  0x0001
#define MAP_PRIVATE 0x0002
#define MAP_ANON    0x1000
#define MAP_FAILED  ((void *)-1)
void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t offset);

/* munmap(2) */
int munmap(void *addr, size_t len);

#endif
