/*
 * Stub <Availability.h> for macOS 14: the availability macros the other
 * stubs use, with the meaning the SDK gives them under clang.  Each becomes
 * an availability attribute, so clang sees what it sees on a Mac: a call to
 * a function newer than the deployment target (-mmacosx-version-min, or
 * the version in the target triple) outside __builtin_available() is
 * reported by -Wunguarded-availability-new, and a call to one unavailable
 * on the platform is an error.  The SDK spells a platform either macos or
 * macosx; clang takes both.
 * Source: <Availability.h> and <AvailabilityInternal.h> of the macOS 14
 * SDK, which define __API_AVAILABLE, __API_UNAVAILABLE, __OSX_AVAILABLE,
 * __IOS_AVAILABLE, __TVOS_AVAILABLE, __WATCHOS_AVAILABLE,
 * __TVOS_PROHIBITED and __WATCHOS_PROHIBITED this way.
 */
#ifndef _STUB_AVAILABILITY_H_
#define _STUB_AVAILABILITY_H_

#define __STUB_AVAILABLE_macos(v)   macos, introduced = v
#define __STUB_AVAILABLE_macosx(v)  macos, introduced = v
#define __STUB_AVAILABLE_ios(v)     ios, introduced = v
#define __STUB_AVAILABLE_tvos(v)    tvos, introduced = v
#define __STUB_AVAILABLE_watchos(v) watchos, introduced = v
#define __STUB_A(p) __attribute__((availability(__STUB_AVAILABLE_##p)))
#define __STUB_U(p) __attribute__((availability(p, unavailable)))

#define __STUB_NTH(_1, _2, _3, _4, name, ...) name
#define __STUB_A1(a) __STUB_A(a)
#define __STUB_A2(a, b) __STUB_A(a) __STUB_A(b)
#define __STUB_A3(a, b, c) __STUB_A(a) __STUB_A(b) __STUB_A(c)
#define __STUB_A4(a, b, c, d) __STUB_A(a) __STUB_A(b) __STUB_A(c) __STUB_A(d)
#define __STUB_U1(a) __STUB_U(a)
#define __STUB_U2(a, b) __STUB_U(a) __STUB_U(b)
#define __STUB_U3(a, b, c) __STUB_U(a) __STUB_U(b) __STUB_U(c)
#define __STUB_U4(a, b, c, d) __STUB_U(a) __STUB_U(b) __STUB_U(c) __STUB_U(d)

/* __API_AVAILABLE(macos(10.15), ios(13.0)), __API_UNAVAILABLE(ios, tvos) */
#define __API_AVAILABLE(...) \
    __STUB_NTH(__VA_ARGS__, __STUB_A4, __STUB_A3, __STUB_A2, __STUB_A1, 0)(__VA_ARGS__)
#define __API_UNAVAILABLE(...) \
    __STUB_NTH(__VA_ARGS__, __STUB_U4, __STUB_U3, __STUB_U2, __STUB_U1, 0)(__VA_ARGS__)

/* __OSX_AVAILABLE(10.12) and the like */
#define __OSX_AVAILABLE(v)     __attribute__((availability(macosx, introduced = v)))
#define __IOS_AVAILABLE(v)     __attribute__((availability(ios, introduced = v)))
#define __TVOS_AVAILABLE(v)    __attribute__((availability(tvos, introduced = v)))
#define __WATCHOS_AVAILABLE(v) __attribute__((availability(watchos, introduced = v)))
#define __TVOS_PROHIBITED      __attribute__((availability(tvos, unavailable)))
#define __WATCHOS_PROHIBITED   __attribute__((availability(watchos, unavailable)))

#endif
