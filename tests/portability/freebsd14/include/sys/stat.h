/* Stub <sys/stat.h> for FreeBSD 14.  Source: umask(2), chmod(2). */
#ifndef _STUB_SYS_STAT_H_
#define _STUB_SYS_STAT_H_

#include <sys/types.h>

/* umask(2) */
mode_t umask(mode_t numask);

/* chmod(2) */
#define S_IRWXU 0000700

#endif
