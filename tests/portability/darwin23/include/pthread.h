/*
 * Stub <pthread.h> for macOS 14.  macOS pthread objects are structures
 * whose static initializers set a signature word.  macOS has no
 * pthread_condattr_setclock(): its condition variables time out against
 * the realtime clock only (pthread_cond_timedwait_relative_np() waits for
 * an interval instead).
 * Source: pthread_mutex_init(3), pthread_mutex_lock(3), pthread_cond_init(3),
 * pthread_cond_wait(3), pthread_cond_timedwait(3), pthread_condattr(3),
 * pthread_rwlock_init(3), pthread_rwlock_rdlock(3), pthread_once(3),
 * pthread_atfork(3), pthread_self(3).
 */
#ifndef _STUB_PTHREAD_H_
#define _STUB_PTHREAD_H_

#include <sys/types.h>
#include <time.h>

typedef struct _opaque_pthread_t *pthread_t;
typedef struct { long __sig; char __opaque[56]; } pthread_attr_t;
typedef struct { long __sig; char __opaque[56]; } pthread_mutex_t;
typedef struct { long __sig; char __opaque[8]; } pthread_mutexattr_t;
typedef struct { long __sig; char __opaque[40]; } pthread_cond_t;
typedef struct { long __sig; char __opaque[8]; } pthread_condattr_t;
typedef struct { long __sig; char __opaque[192]; } pthread_rwlock_t;
typedef struct { long __sig; char __opaque[16]; } pthread_rwlockattr_t;
typedef struct { long __sig; char __opaque[8]; } pthread_once_t;

#define PTHREAD_MUTEX_INITIALIZER  { 0x32AAABA7, { 0 } }
#define PTHREAD_COND_INITIALIZER   { 0x3CB0B1BB, { 0 } }
#define PTHREAD_RWLOCK_INITIALIZER { 0x2DA8B3B4, { 0 } }
#define PTHREAD_ONCE_INIT          { 0x30B1BCBA, { 0 } }

/* pthread_self(3) */
pthread_t pthread_self(void);

/* pthread_mutex_init(3), pthread_mutex_lock(3), pthread_mutex_unlock(3) */
int pthread_mutex_init(pthread_mutex_t *mutex, const pthread_mutexattr_t *attr);
int pthread_mutex_destroy(pthread_mutex_t *mutex);
int pthread_mutex_lock(pthread_mutex_t *mutex);
int pthread_mutex_trylock(pthread_mutex_t *mutex);
int pthread_mutex_unlock(pthread_mutex_t *mutex);

/* pthread_cond_init(3), pthread_cond_wait(3), pthread_cond_timedwait(3),
 * pthread_cond_broadcast(3), pthread_cond_signal(3) */
int pthread_cond_init(pthread_cond_t *cond, const pthread_condattr_t *attr);
int pthread_cond_destroy(pthread_cond_t *cond);
int pthread_cond_wait(pthread_cond_t *cond, pthread_mutex_t *mutex);
int pthread_cond_timedwait(pthread_cond_t *cond, pthread_mutex_t *mutex,
                           const struct timespec *abstime);
/* <pthread.h> of the macOS SDK (no page of its own): waits for an interval */
int pthread_cond_timedwait_relative_np(pthread_cond_t *cond,
                                       pthread_mutex_t *mutex,
                                       const struct timespec *reltime);
int pthread_cond_broadcast(pthread_cond_t *cond);
int pthread_cond_signal(pthread_cond_t *cond);

/* pthread_condattr(3) */
int pthread_condattr_init(pthread_condattr_t *attr);
int pthread_condattr_destroy(pthread_condattr_t *attr);

/* pthread_rwlock_init(3), pthread_rwlock_rdlock(3),
 * pthread_rwlock_wrlock(3), pthread_rwlock_trywrlock(3),
 * pthread_rwlock_unlock(3) */
int pthread_rwlock_init(pthread_rwlock_t *lock, const pthread_rwlockattr_t *attr);
int pthread_rwlock_destroy(pthread_rwlock_t *lock);
int pthread_rwlock_rdlock(pthread_rwlock_t *lock);
int pthread_rwlock_wrlock(pthread_rwlock_t *lock);
int pthread_rwlock_trywrlock(pthread_rwlock_t *lock);
int pthread_rwlock_unlock(pthread_rwlock_t *lock);

/* pthread_once(3) */
int pthread_once(pthread_once_t *once_control, void (*init_routine)(void));

/* pthread_atfork(3) */
int pthread_atfork(void (*prepare)(void), void (*parent)(void),
                   void (*child)(void));

#endif
