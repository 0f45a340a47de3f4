/*
 * Stub <sys/cdefs.h> for macOS 14: the one attribute macro the other stubs
 * use.  Source: <sys/cdefs.h> of the macOS 14 SDK, which defines
 * __deprecated_msg this way for a compiler that takes a message.
 */
#ifndef _STUB_SYS_CDEFS_H_
#define _STUB_SYS_CDEFS_H_

#define __deprecated_msg(_msg) __attribute__((__deprecated__(_msg)))

#endif
