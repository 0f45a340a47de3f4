/*
 * platform/linux/backend.c - the pidfd backend.
 *
 * Children are made with clone(CLONE_VM | CLONE_VFORK | CLONE_PIDFD): the
 * parent's address space is shared, not copied, until the child execs, so
 * spawning costs the same from a 10 MiB or a 10 GiB parent; the pidfd comes
 * from the same system call, so there is no moment in which the child is
 * known only by a pid.  Reaping is waitid(P_PIDFD), which can never touch a
 * stranger; signalling is pidfd_send_signal(), which cannot either.  A status
 * that a thief reaped first is recovered from the pidfd with
 * PIDFD_GET_INFO / PIDFD_INFO_EXIT where the kernel has it (6.15 and later).
 *
 * Linux 7.1 and later make the child private in the kernel: clone3() with
 * CLONE_AUTOREAP and exit_signal 0 gives a child that sends no SIGCHLD and
 * that no wait in the process can reap or even see, execve() or not; the
 * kernel releases it itself when it ends, after storing its wait status
 * for PIDFD_INFO_EXIT, which is where ward reads it.  Such a child has no
 * resource usage for anyone, so a spawn that asks for it (WARD_RUSAGE)
 * still makes an ordinary child.  Older kernels refuse the flag with
 * EINVAL: the first spawn finds out, and the rest remember.
 *
 * A child spawned with WARD_DIE_WITH_PARENT is, on such a kernel, also
 * made with CLONE_PIDFD_AUTOKILL and CLONE_NNP: the kernel kills it when
 * the last reference to its pidfd is closed, which ward_free() does, and
 * so does this process's death (its pidfds are close-on-exec, and the
 * child of a fork() closes its copies in ward's atfork handler).  Where
 * the child is not autoreaped (older kernels, WARD_AUTOREAP=0,
 * WARD_RUSAGE), it asks for PR_SET_PDEATHSIG itself (see
 * ward__child_die_with_parent()).
 *
 * This is the default wherever the kernel takes the flag.  WARD_AUTOREAP=0
 * in the environment when the backend starts turns it off (a diagnostic,
 * ward(7)): every child is then an ordinary one, as on older kernels.
 */
#include "backend.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

/* From <linux/pidfd.h> of Linux 6.15; older headers lack it. */
struct ward_pidfd_info {
    uint64_t mask;
    uint64_t cgroupid;
    uint32_t pid, tgid, ppid, ruid, rgid, euid, egid, suid, sgid, fsuid, fsgid;
    int32_t exit_code;
};
#define WARD_PIDFD_INFO_EXIT (1ull << 3)
#define WARD_PIDFD_GET_INFO _IOWR(0xFF, 11, struct ward_pidfd_info)

/*
 * The child's stack.  The parent thread is suspended until the child execs
 * or exits (CLONE_VFORK), so a stack is needed only that long, and is kept
 * for the next spawn: a fresh mapping per spawn (mmap, page faults in the
 * child, munmap) cost as much as a fifth of the whole spawn on this
 * backend.  A few are kept, so that threads spawning at once rarely map
 * their own; each slot is taken and given back with one atomic exchange.
 * At most STACK_CACHE * CHILD_STACK_SIZE of address space stays mapped, of
 * which only the pages the child code touched are resident.
 */
#define CHILD_STACK_SIZE (64 * 1024)
#define STACK_CACHE 4

static void *_Atomic stack_cache[STACK_CACHE];

static void *
stack_get(void)
{
    void *s;

    for (int i = 0; i < STACK_CACHE; i++) {
        if (atomic_load_explicit(&stack_cache[i], memory_order_relaxed) != NULL &&
            (s = atomic_exchange(&stack_cache[i], NULL)) != NULL)
            return s;
    }
    s = mmap(NULL, CHILD_STACK_SIZE, PROT_READ | PROT_WRITE,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK | MAP_NORESERVE, -1, 0);
    return s == MAP_FAILED ? NULL : s;
}

static void
stack_put(void *s)
{
    for (int i = 0; i < STACK_CACHE; i++) {
        void *expected = NULL;

        if (atomic_compare_exchange_strong(&stack_cache[i], &expected, s))
            return;
    }
    munmap(s, CHILD_STACK_SIZE);
}

/*
 * AddressSanitizer builds: the child's frames on the stack below stay marked
 * in ASan's shadow memory after it execs (it never returns), and the next
 * use of that memory would inherit them and report errors that are not
 * there.  Clear them once the child is gone (WARD_ASAN: see sys.h).
 */
#ifdef WARD_ASAN
#include <sanitizer/asan_interface.h>
#define WARD_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define WARD_UNPOISON(p, n) ((void)0)
#endif

static int epfd = -1;     /* the events set: every watched pidfd; under ward__lock */
/*
 * Each pidfd has an inode of its own (Linux 6.9); -1 not known yet (see
 * init_without_descriptor()).  Atomic: linux_note() may learn it, outside
 * ward__lock, while other threads read it.
 */
static _Atomic int pidfs;
/*
 * CLONE_AUTOREAP (Linux 7.1): 1 unless turned off (WARD_AUTOREAP=0 in the
 * environment at the backend's init) or refused by the kernel once (older
 * than 7.1, or a seccomp filter).
 */
static atomic_int autoreap_wanted;

static int
sys_pidfd_open(pid_t pid, unsigned int flags)
{
    return (int)syscall(SYS_pidfd_open, pid, flags);
}

static int
sys_pidfd_send_signal(int pidfd, int sig)
{
    return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

/* waitid() with the rusage argument the system call has and libc hides. */
static int
sys_waitid(idtype_t idtype, id_t id, siginfo_t *si, int options,
           struct rusage *ru)
{
    return (int)syscall(SYS_waitid, idtype, id, si, options, ru);
}

/* From <linux/magic.h> of Linux 6.9. */
#define WARD_PIDFS_MAGIC 0x50494446

static int
is_pidfs(int fd)
{
    struct statfs sfs;

    return fstatfs(fd, &sfs) == 0 && sfs.f_type == WARD_PIDFS_MAGIC;
}

/*
 * The kernel probe when there is no descriptor to spare: pidfd_open() said
 * EMFILE or ENFILE, so it exists.  The other two calls are asked instead
 * about a descriptor that cannot be open, INT_MAX (waitid refuses a
 * negative one with EINVAL whatever the kernel): a kernel that has them
 * answers EBADF, one without them EINVAL (waitid's unknown id type) or
 * ENOSYS, a seccomp filter EPERM.  Without this the first call into ward of a process that
 * had run out of descriptors would put it on the posix backend for good.
 * Whether pidfds have inodes of their own is not known then: the first
 * pidfd noted tells (linux_note()), and until then it is taken as no.
 */
static int
init_without_descriptor(void)
{
    siginfo_t si;
    const char *e;

    memset(&si, 0, sizeof(si));
    if (ward__real_waitid(P_PIDFD, (id_t)INT_MAX, &si, WEXITED | WNOHANG) == 0 ||
        errno != EBADF) {
        errno = ENOSYS;
        return -1;
    }
    if (sys_pidfd_send_signal(INT_MAX, 0) == 0 || errno != EBADF) {
        errno = ENOSYS;
        return -1;
    }
    pidfs = -1;
    e = getenv("WARD_AUTOREAP");
    atomic_store(&autoreap_wanted, e == NULL || strcmp(e, "0") != 0);
    return 0;
}

static int
linux_init(void)
{
    siginfo_t si;
    int fd, r, err;

    /*
     * Probe what the backend needs: pidfd_open (5.3), waitid(P_PIDFD) (5.4),
     * pidfd_send_signal (5.1).  ENOSYS, or EPERM from a seccomp filter, or
     * EINVAL for an unknown id type, all mean "use the posix backend".
     */
    if ((fd = sys_pidfd_open(getpid(), 0)) == -1) {
        if (errno == EMFILE || errno == ENFILE)
            return init_without_descriptor();
        return -1;
    }
    memset(&si, 0, sizeof(si));
    r = ward__real_waitid(P_PIDFD, (id_t)fd, &si, WEXITED | WNOHANG);
    err = errno;
    if (r == 0 || err != ECHILD) {
        close(fd);
        errno = ENOSYS;
        return -1;
    }
    r = sys_pidfd_send_signal(fd, 0);
    err = errno;
    pidfs = is_pidfs(fd);
    {
        const char *e = getenv("WARD_AUTOREAP");

        atomic_store(&autoreap_wanted, e == NULL || strcmp(e, "0") != 0);
    }
    close(fd);
    if (r == -1) {
        errno = err;
        return -1;
    }
    return 0;
}

/*
 * The descriptor table.  A child made without CLONE_FILES gets a copy of
 * the whole table, one reference taken and dropped again at exec for every
 * open descriptor: with one pidfd per live child that made a spawn among
 * 2,000 live children three times as slow as one among none.  So, unless
 * the child is to inherit descriptors (WARD_INHERIT_FDS), it starts on the
 * parent's table (CLONE_FILES), touches no descriptor there, and first of
 * all takes a table of its own holding only those below ex->keep_below,
 * the ones its plan uses: close_range(keep_below, ~0, CLOSE_RANGE_UNSHARE)
 * (Linux 5.9) copies just those.  Where that is refused the child takes a
 * copy of the whole table with unshare(CLONE_FILES), as without this.
 */
#ifndef SYS_close_range
#define SYS_close_range 436 /* the same number on every architecture */
#endif
#ifndef CLOSE_RANGE_UNSHARE
#define CLOSE_RANGE_UNSHARE (1U << 1)
#endif

/* Not instrumented: ASan cannot make sense of a stack it did not see made. */
static WARD_CHILD_CODE int
child_main(void *arg)
{
    struct ward__exec *ex = arg;

    if (ex->files_shared) {
        if (syscall(SYS_close_range, (unsigned int)ex->keep_below, ~0u,
                    CLOSE_RANGE_UNSHARE) == 0) {
            ex->trimmed = 1;
        } else if (unshare(CLONE_FILES) == -1) {
            ex->err = errno != 0 ? errno : EIO;
            _exit(127);
        }
    }
    ward__child_die_with_parent(ex);
    ward__exec_child(ex);
}

/*
 * clone3() with CLONE_CLEAR_SIGHAND (Linux 5.5): the kernel makes every
 * caught signal SIG_DFL in the child, which spares the child a sigaction()
 * query for each of the 64 signals (a twentieth of a spawn here).  A child
 * on a new stack cannot return from the system call into C, so this takes a
 * few instructions per architecture.  Elsewhere, and where clone3 is
 * refused (a kernel older than 5.5, or a seccomp filter that answers ENOSYS,
 * as container runtimes' default profiles do), clone() is used and the
 * child resets the handlers itself.
 */
struct ward_clone_args {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack,
        stack_size, tls;
};
#define WARD_CLONE_CLEAR_SIGHAND 0x100000000ULL
#define WARD_CLONE_AUTOREAP (1ULL << 34)
#define WARD_CLONE_NNP (1ULL << 35)
#define WARD_CLONE_PIDFD_AUTOKILL (1ULL << 36)

#if defined(__x86_64__)
#define WARD_HAVE_CLONE3 1
/* Returns the pid or -errno in the parent; runs fn(arg) in the child. */
long ward__clone3(struct ward_clone_args *args, size_t size,
                  int (*fn)(void *), void *arg);
__asm__(".pushsection .text\n"
        ".globl ward__clone3\n"
        ".hidden ward__clone3\n"
        ".type ward__clone3, @function\n"
        "ward__clone3:\n"
#ifdef __CET__
        "    endbr64\n"
#endif
        "    mov %rdx, %r8\n"         /* fn and arg survive the system call */
        "    mov %rcx, %r9\n"
        "    mov $435, %eax\n"        /* __NR_clone3 */
        "    syscall\n"
        "    test %rax, %rax\n"
        "    jz 1f\n"
        "    ret\n"
        "1:  xor %ebp, %ebp\n"        /* the child, on its own stack */
        "    mov %r9, %rdi\n"
        "    call *%r8\n"
        "    mov %eax, %edi\n"
        "    mov $60, %eax\n"         /* __NR_exit: fn never returns */
        "    syscall\n"
        "    hlt\n"
        ".size ward__clone3, .-ward__clone3\n"
        ".popsection\n");

static atomic_int clone3_refused;
/* The kernel refused CLONE_PIDFD_AUTOKILL once: PR_SET_PDEATHSIG from then on. */
static atomic_int autokill_refused;
#endif

#ifdef WARD_TSAN
/*
 * ThreadSanitizer builds ("make check-tsan", or anyone who builds libward
 * with -fsanitize=thread): a CLONE_VM child runs TSan's interceptors on its
 * parent's thread state, which TSan does not support (it turns vfork() into
 * fork() for that reason), and the parent then gets false reports.  So the
 * child gets memory of its own, but keeps the rest of the contract:
 *
 * - clone() through libc, which TSan intercepts (its clone interceptor
 *   treats a clone without CLONE_VM as a fork: it quiesces its runtime
 *   before and repairs the child's copy after), not a raw system call,
 *   which would leave the child with TSan's locks as other threads held
 *   them;
 * - CLONE_PIDFD, so the pidfd comes with the child and no thief can reap
 *   it first;
 * - CLONE_VFORK, so the parent resumes only once the child has execed or
 *   exited, and the child's ex->err in a shared page, as the BSD backend
 *   does, so an exec error is the errno of ward_spawn() and not an exit
 *   status 127.
 */
static int
tsan_child_main(void *arg)
{
    ward__child_die_with_parent(arg);
    ward__exec_child(arg);
}

static pid_t
start_child(struct ward__exec *ex, void *stack, int *pidfdp, int with_pidfd)
{
    struct ward__exec *shared;
    pid_t pid;
    int err;

    (void)child_main;
    shared = mmap(NULL, sizeof(*shared), PROT_READ | PROT_WRITE,
                  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (shared == MAP_FAILED)
        return -1;
    ex->handlers_clear = 0;
    ex->files_shared = 0;
    ex->trimmed = 0;
    memcpy(shared, ex, sizeof(*shared));
    pid = clone(tsan_child_main, (char *)stack + CHILD_STACK_SIZE,
                CLONE_VFORK | (with_pidfd ? CLONE_PIDFD : 0) | SIGCHLD, shared,
                pidfdp);
    err = errno;
    if (pid > 0)
        ex->err = shared->err;
    munmap(shared, sizeof(*shared));
    errno = err;
    return pid;
}
#else
/*
 * with_pidfd clear: an ordinary child known only by its pid (see
 * linux_spawn()), so neither CLONE_PIDFD nor what needs it (CLONE_AUTOREAP,
 * whose child only a pidfd can name, and CLONE_PIDFD_AUTOKILL).
 */
static pid_t
start_child(struct ward__exec *ex, void *stack, int *pidfdp, int with_pidfd)
{
    uint64_t files = (ex->flags & WARD_INHERIT_FDS) ? 0 : CLONE_FILES;
    uint64_t pidfd_flag = with_pidfd ? CLONE_PIDFD : 0;

    ex->files_shared = files != 0;
    ex->trimmed = 0;
#ifdef WARD_HAVE_CLONE3
    if (!atomic_load_explicit(&clone3_refused, memory_order_relaxed)) {
        struct ward_clone_args ca;
        long r;

        memset(&ca, 0, sizeof(ca));
        ca.flags = CLONE_VM | CLONE_VFORK | pidfd_flag | WARD_CLONE_CLEAR_SIGHAND | files;
        ca.pidfd = (uint64_t)(uintptr_t)pidfdp;
        ca.stack = (uint64_t)(uintptr_t)stack;
        ca.stack_size = CHILD_STACK_SIZE;
        ex->handlers_clear = 1;
        if (with_pidfd && !(ex->flags & WARD_RUSAGE) &&
            atomic_load_explicit(&autoreap_wanted, memory_order_relaxed)) {
            /*
             * Private by the kernel: exit signal 0, reaped by the kernel.
             * EINVAL is a kernel that does not know the flag (older than
             * 7.1); anything else is the same answer the call without it
             * would give, and is handled below.
             */
            ca.flags |= WARD_CLONE_AUTOREAP;
            ca.exit_signal = 0;
            if ((ex->flags & WARD_DIE_WITH_PARENT) &&
                !atomic_load_explicit(&autokill_refused, memory_order_relaxed)) {
                /*
                 * Killed by the kernel when the last reference to the
                 * pidfd goes: ward_free() closing it, or this process
                 * dying.  An unprivileged caller may ask for that only
                 * for a child with no_new_privs (CLONE_NNP); it is asked
                 * for every such child, privileged caller or not, so
                 * that what the child may do never depends on who spawned
                 * it.  Refused (EINVAL, EPERM): the child asks for a
                 * parent-death signal instead, from now on.
                 */
                ca.flags |= WARD_CLONE_PIDFD_AUTOKILL | WARD_CLONE_NNP;
                ex->autokill = 1;
                r = ward__clone3(&ca, sizeof(ca), child_main, ex);
                if (r >= 0) {
                    ex->autoreaped = 1;
                    return (pid_t)r;
                }
                ex->autokill = 0;
                ca.flags &= ~(WARD_CLONE_PIDFD_AUTOKILL | WARD_CLONE_NNP);
                if (r != -EINVAL && r != -EPERM && r != -ENOSYS) {
                    errno = (int)-r;
                    return -1;
                }
                atomic_store_explicit(&autokill_refused, 1, memory_order_relaxed);
            }
            r = ward__clone3(&ca, sizeof(ca), child_main, ex);
            if (r >= 0) {
                ex->autoreaped = 1;
                return (pid_t)r;
            }
            if (r != -EINVAL && r != -ENOSYS && r != -EPERM) {
                errno = (int)-r;
                return -1;
            }
            atomic_store_explicit(&autoreap_wanted, 0, memory_order_relaxed);
            ca.flags &= ~WARD_CLONE_AUTOREAP;
        }
        ca.exit_signal = SIGCHLD;
        r = ward__clone3(&ca, sizeof(ca), child_main, ex);
        if (r >= 0)
            return (pid_t)r;
        if (r != -ENOSYS && r != -EINVAL && r != -EPERM) {
            errno = (int)-r;
            return -1;
        }
        /* Not this kernel, or not allowed: clone() from now on. */
        atomic_store_explicit(&clone3_refused, 1, memory_order_relaxed);
    }
#endif
    ex->handlers_clear = 0;
    if (!ex->masked) {
        /*
         * The core left the caller's mask alone (linux_spawn_unmasked()),
         * counting on CLONE_CLEAR_SIGHAND, which this child goes without:
         * every signal blocked around this birth, as the core would have,
         * so that no handler of the program's runs in the child before it
         * has reset them, and the child restores the caller's mask.
         */
        sigset_t all, old;
        pid_t pid;
        int err;

        sigfillset(&all);
        pthread_sigmask(SIG_BLOCK, &all, &old);
        if (!(ex->flags & WARD_RESET_SIGNALS))
            ex->mask = old;
        ex->masked = 1;
        pid = clone(child_main, (char *)stack + CHILD_STACK_SIZE,
                    CLONE_VM | CLONE_VFORK | (int)pidfd_flag | (int)files | SIGCHLD, ex,
                    pidfdp);
        err = errno;
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        /*
         * Clear again: the caller's mask is back, so a retry (the one
         * without a pidfd after EMFILE, linux_spawn()) blocks signals
         * again around its own clone().
         * Test: spawn::no_handler_runs_in_a_child_without_clone3_or_a_descriptor.
         */
        ex->masked = 0;
        errno = err;
        return pid;
    }
    return clone(child_main, (char *)stack + CHILD_STACK_SIZE,
                 CLONE_VM | CLONE_VFORK | (int)pidfd_flag | (int)files | SIGCHLD, ex,
                 pidfdp);
}
#endif

/*
 * The core may leave the caller's signal mask alone around a birth where
 * the child is made with CLONE_CLEAR_SIGHAND: no handler of the program's
 * can run in it, which is what blocking every signal was for (it shares
 * this process's memory until it execs).  A signal meant for the child
 * meanwhile finds the default action, as it would once the child had
 * restored the caller's mask before its exec.  Where clone3 turns out to
 * be refused, start_child() blocks signals itself for the clone() that
 * follows.  ThreadSanitizer builds make the child with clone() always.
 */
static int
linux_spawn_unmasked(void)
{
#if defined(WARD_HAVE_CLONE3) && !defined(WARD_TSAN)
    return !atomic_load_explicit(&clone3_refused, memory_order_relaxed);
#else
    return 0;
#endif
}

/*
 * How long a recovery waits at most for the reaper to finish.  The reaper
 * (a thief's wait, or the exiting child itself when SIGCHLD is ignored)
 * is inside the kernel, between taking the child and releasing it, and
 * waits there for nothing but a CPU: a few microseconds, more when it was
 * preempted.  The bound only keeps a kernel that behaves otherwise from
 * hanging the wait.
 */
#define RECOVER_WAIT_MS 5000

/*
 * Sleep until the pidfd's process is released (POLLHUP: events 0, a
 * hang-up is reported whatever is asked for), at most ms milliseconds, -1
 * for no bound.  An autoreaped child is released by the kernel a moment
 * after it exits, and only then is its pid free and its entry gone from
 * its parent's children list: so ward reports such a child as ended only
 * once that has happened, as a waitid() reap of an ordinary child frees it
 * before returning.  Async-signal-safe.
 */
static void
wait_released(int pidfd, int ms)
{
    struct pollfd pfd = { .fd = pidfd, .events = 0 };
    struct timespec now, end;
    int r;

    clock_gettime(CLOCK_MONOTONIC, &end);
    end.tv_sec += ms / 1000;
    end.tv_nsec += (long)(ms % 1000) * 1000000L;
    for (;;) {
        long left = -1;

        if (ms >= 0) {
            clock_gettime(CLOCK_MONOTONIC, &now);
            left = (long)(end.tv_sec - now.tv_sec) * 1000 +
                   (end.tv_nsec - now.tv_nsec) / 1000000;
            if (left < 0)
                left = 0;
        }
        pfd.revents = 0;
        r = poll(&pfd, 1, (int)left);
        if (r == 1 || (r == -1 && errno != EINTR) || (r == 0 && ms >= 0))
            return;
    }
}

static int
linux_spawn(struct ward__exec *ex, pid_t *pidp, int *pidfdp)
{
    void *stack;
    int pidfd = -1, err;
    pid_t pid;

    if ((stack = stack_get()) == NULL)
        return -1;
    ex->err = 0;
    ex->autoreaped = 0;
    ex->autokill = 0;
    pid = start_child(ex, stack, &pidfd, 1);
    if (pid == -1 && (errno == EMFILE || errno == ENFILE)) {
        /*
         * No descriptor for the pidfd (the kernel allocates it before it
         * makes the child, so there is no child yet).  A spawn must not
         * fail for want of one where posix_spawn() would succeed: this
         * child is made as an ordinary one, known by its pid alone, as on
         * the posix backend.  The core reaps it by pid under ward__lock
         * (linux_reap()), signals it by pid only while it is unreaped
         * (linux_signal()), and the events descriptor learns of its end
         * from SIGCHLD (linux_watch()).  What it loses (ward(7)): a stolen
         * status cannot be recovered, the kernel does not keep it private
         * (CLONE_AUTOREAP), and WARD_DIE_WITH_PARENT is PR_SET_PDEATHSIG.
         */
        ex->err = 0;
        ex->autoreaped = 0;
        ex->autokill = 0;
        pidfd = -1;
        pid = start_child(ex, stack, &pidfd, 0);
    }
    err = errno;
    WARD_UNPOISON(stack, CHILD_STACK_SIZE);
    stack_put(stack);
    if (pid == -1) {
        errno = err;
        return -1;
    }
    if (ex->err != 0) {
        /*
         * The child failed before exec and has exited: reap it now.  The
         * kernel reaps an autoreaped one itself; it is waited for all the
         * same (CLONE_VFORK lets this thread go as soon as the child has
         * dropped its memory, before it is released), so that no trace of
         * it (a pid, a children-list entry) is left when the spawn returns.
         */
        siginfo_t si;

        if (pidfd == -1) {
            /* Unreaped, its pid is still its own. */
            ward__reap_pid(pid);
            errno = ex->err;
            return -1;
        }
        if (ex->autoreaped)
            wait_released(pidfd, -1);
        else
            while (ward__real_waitid(P_PIDFD, (id_t)pidfd, &si, WEXITED) == -1 && errno == EINTR)
                ;
        close(pidfd);
        errno = ex->err;
        return -1;
    }
    if (pidfd != -1 && pidfd < 3 && !ex->autoreaped) {
        /*
         * No descriptor above the standard ones to keep the pidfd by (it
         * is closed then): an ordinary child, unreaped, is kept by its pid
         * instead, as one made without a pidfd.
         */
        pidfd = ward__fd_above_stdio(pidfd);
    }
    if (pidfd != -1 && pidfd < 3) {
        /*
         * An autoreaped child: its pid is not kept for it, and no wait
         * sees it, so only its pidfd may name it.
         */
        int moved = fcntl(pidfd, F_DUPFD_CLOEXEC, 3);

        if (moved == -1) {
            /*
             * No descriptor to keep it by: the child must not outlive the
             * call.  Killed through the pidfd, the only name an autoreaped
             * child's pid is sure to have.
             */
            err = errno;
            (void)sys_pidfd_send_signal(pidfd, SIGKILL);
            /* Gone when the spawn returns, as the exec-error path. */
            wait_released(pidfd, -1);
            close(pidfd);
            errno = err;
            return -1;
        }
        close(pidfd);
        pidfd = moved;
    }
    *pidp = pid;
    *pidfdp = pidfd;
    return 0;
}

static int
linux_adopt(pid_t pid, int *pidfdp)
{
    int fd = ward__fd_above_stdio(sys_pidfd_open(pid, 0));

    if (fd == -1)
        return -1;
    *pidfdp = fd;
    return 0;
}

/*
 * Is c->fd still the descriptor the handle was given?  Other code may
 * close it (a library's closefrom(3) is enough), and the next descriptor
 * made takes the number: another child's pidfd, say, which a waitid() or
 * pidfd_send_signal() through the number would then reap or kill.  So
 * everything that acts on the process through the number (reap, recover,
 * signal, close) checks first: one fstat() against the device and inode
 * remembered at spawn.  Kernels with pidfs (6.9) give each process its own
 * inode, which is enough.  Older ones give every pidfd the same anonymous
 * inode: there the pid that /proc/self/fdinfo reports must match too (or
 * be -1 or 0, a process reaped or out of our namespace, which cannot be
 * told from ours).  Raw system calls: forget() runs in the child of a fork.
 */
static void
linux_note(struct ward__pidref *c)
{
    struct stat st;

    if (fstat(c->fd, &st) == 0) {
        c->fd_dev = (unsigned long long)st.st_dev;
        c->fd_ino = (unsigned long long)st.st_ino;
        if (atomic_load_explicit(&pidfs, memory_order_relaxed) < 0)
            atomic_store_explicit(&pidfs, is_pidfs(c->fd), memory_order_relaxed);
    }
}


static int
fdinfo_pid_matches(int fd, pid_t pid)
{
    char path[40] = "/proc/self/fdinfo/", buf[512], *p;
    char digits[12];
    int n = 0, in;
    ssize_t len;
    long v = 0;

    do
        digits[n++] = (char)('0' + fd % 10);
    while ((fd /= 10) > 0);
    for (size_t at = strlen(path); n > 0; at++)
        path[at] = digits[--n];
    if ((in = open(path, O_RDONLY | O_CLOEXEC)) == -1)
        return errno == EMFILE || errno == ENFILE ? -1 : 0;
    len = read(in, buf, sizeof(buf) - 1);
    close(in);
    if (len <= 0)
        return 0;
    buf[len] = '\0';
    if ((p = strstr(buf, "\nPid:")) == NULL)
        return 0;
    for (p += 5; *p == ' ' || *p == '\t'; p++)
        ;
    if (*p == '-')
        return 1;
    for (; *p >= '0' && *p <= '9'; p++)
        v = v * 10 + (*p - '0');
    return v == 0 || v == (long)pid;
}

/*
 * c->fd, as read without ward__lock (linux_can_block(), linux_block(),
 * linux_reap_claimed()): the core sets it to -1 under the lock when the
 * number is found lost (ward__fd_lost()), with an atomic store to match.
 */
static int
ref_fd(const struct ward__pidref *c)
{
    return __atomic_load_n(&c->fd, __ATOMIC_RELAXED);
}

/*
 * 1 if c->fd is still c's pidfd, 0 if not.  -1 where that cannot be told:
 * a kernel without pidfs whose fdinfo cannot be opened because the process
 * has no descriptor left (the state a child without a pidfd is made in).
 * The number still is a pidfd then, and very likely c's; what acts on the
 * process acts by pid instead (reap, signal: c is an ordinary child there,
 * unreaped, so its pid is its own), and only the close goes through the
 * number (linux_forget()).
 */
static int
own_pidfd(const struct ward__pidref *c)
{
    int fd = ref_fd(c);
    struct stat st;

    if (fd == -1 || fstat(fd, &st) == -1 ||
        (unsigned long long)st.st_dev != c->fd_dev ||
        (unsigned long long)st.st_ino != c->fd_ino)
        return 0;
    return pidfs > 0 ? 1 : fdinfo_pid_matches(fd, c->pid);
}

/*
 * Lock-free: the descriptor is still c's, so linux_block() sleeps on c's
 * own process, in waitid(WNOWAIT) or ppoll(), either of which returns at
 * once if it has already ended.  Not for a child without a descriptor or
 * whose descriptor is not surely its own: the core looks under its lock.
 * (A poll() here to see whether the process still runs saved nothing: the
 * sleep answers the same question in the same system call.)
 */
static int
linux_can_block(const struct ward__pidref *c)
{
    return ref_fd(c) != -1 && own_pidfd(c) == 1;
}

/*
 * The common reap of a waiter, outside ward__lock: an ordinary child with a
 * pidfd that is still its own.  waitid(P_PIDFD) cannot reach any other
 * process, and c's claim word keeps every other reaper of ward's and the
 * guard's handler away meanwhile.
 */
static int
linux_reap_claimed(const struct ward__pidref *c, int *status, struct ward__usage *usage)
{
    struct rusage ru;
    siginfo_t si;
    int fd = ref_fd(c);

    if (fd == -1 || c->autoreap || own_pidfd(c) != 1)
        return -1;
    memset(&si, 0, sizeof(si));
    if (sys_waitid(P_PIDFD, (id_t)fd, &si, WEXITED | WNOHANG, &ru) == -1)
        return -1;
    if (si.si_pid == 0)
        return 0;
    *status = ward__status_from_siginfo(&si);
    ward__usage_from_rusage(usage, &ru);
    return 1;
}

static int linux_recover(struct ward__pidref *c, int *status);
static int pidfd_ended(int pidfd, short events);

static int
linux_reap(struct ward__pidref *c, int *status, struct ward__usage *usage)
{
    struct rusage ru;
    siginfo_t si;
    int own = c->fd != -1 ? own_pidfd(c) : 1;

    if (own == 0)
        ward__pidref_lost(c);
    if (c->autoreap) {
        /*
         * No wait can take it: the kernel reaps it and keeps its status
         * for the pidfd.  Without the pidfd, nothing names it any more
         * (ECHILD: the status is lost).  Once it has ended, the record
         * follows within microseconds (see linux_recover()).
         */
        if (c->fd == -1) {
            errno = ECHILD;
            return -1;
        }
        if (!pidfd_ended(c->fd, POLLIN))
            return 0;
        if (linux_recover(c, status) == -1) {
            errno = ECHILD;
            return -1;
        }
        /* Its pid is free once this returns (see wait_released()). */
        wait_released(c->fd, RECOVER_WAIT_MS);
        return 2;
    }
    memset(&si, 0, sizeof(si));
    if (c->fd == -1 || own == -1) {
        /*
         * No pidfd (made without one, or one that cannot be checked now),
         * or the caller closed the descriptor: the child is still private and
         * must not become a zombie that any-child waits see.  Reaped by
         * pid, under ward__lock, as the posix backend does: unreaped, the
         * pid is its own.
         */
        if (sys_waitid(P_PID, (id_t)c->pid, &si, WEXITED | WNOHANG, &ru) == -1)
            return -1;
    } else if (sys_waitid(P_PIDFD, (id_t)c->fd, &si, WEXITED | WNOHANG, &ru) == -1) {
        return -1;
    }
    if (si.si_pid == 0)
        return 0;
    *status = ward__status_from_siginfo(&si);
    ward__usage_from_rusage(usage, &ru);
    return 1;
}

/*
 * WARD_NO_PIDFD_INFO makes ward act as on a kernel older than 6.15, so the
 * unrecoverable path can be tested here.  Read at each recovery, which is
 * rare: only after a theft.
 */
static int
no_pidfd_info(void)
{
    const char *e = getenv("WARD_NO_PIDFD_INFO");

    return e != NULL && e[0] != '\0' && strcmp(e, "0") != 0;
}

static int
exit_info(int pidfd, int *status)
{
    struct ward_pidfd_info info;

    memset(&info, 0, sizeof(info));
    info.mask = WARD_PIDFD_INFO_EXIT;
    if (ioctl(pidfd, WARD_PIDFD_GET_INFO, &info) == -1)
        return -1;
    if (!(info.mask & WARD_PIDFD_INFO_EXIT))
        return 0;
    *status = info.exit_code;
    return 1;
}

/*
 * The thief's reap and the exit record are not published at once.  The
 * kernel marks the child taken (its wait now fails with ECHILD for
 * everyone else), then release_task() stores the exit status in the
 * pidfd's inode (pidfs_exit()), and only after that unhashes the task,
 * which wakes the pidfd's pollers with POLLHUP.  A recovery that looks in
 * between finds no PIDFD_INFO_EXIT yet (PIDFD_GET_INFO still answers, from
 * the living task, or fails with ESRCH when it catches the task being
 * unhashed).  So, until the task is gone, wait for POLLHUP (events 0: a
 * hang-up is reported whatever is asked for) and look again; the look
 * after POLLHUP is final.  On a kernel older than 6.15 the record never
 * comes, and PIDFD_GET_INFO fails with ESRCH once the task is gone (or
 * with ENOTTY before 6.13, at once): the status is lost.  Only async-signal-safe calls:
 * this may run in libward-guard's waitpid() in a signal handler.
 */
/* 1 if the pidfd's process has ended (POLLIN) or is released (POLLHUP). */
static int
pidfd_ended(int pidfd, short events)
{
    struct pollfd pfd = { .fd = pidfd, .events = events };
    int r;

    while ((r = poll(&pfd, 1, 0)) == -1 && errno == EINTR)
        ;
    return r == 1 && (pfd.revents & (POLLIN | POLLHUP)) != 0;
}

static int await_record(int pidfd, int *status);

static int
linux_recover(struct ward__pidref *c, int *status)
{
    /* reap() has just checked the descriptor, under the same lock. */
    if (c->fd == -1 || (!c->autoreap && no_pidfd_info()))
        goto lost;
    /* No exit yet: ECHILD did not come from a reap in progress. */
    if (!pidfd_ended(c->fd, POLLIN))
        goto lost;
    return await_record(c->fd, status);
lost:
    errno = ENODATA;
    return -1;
}

/*
 * The pidfd's process has ended: wait (boundedly) until the kernel has
 * stored its exit record, and read it.  0 with *status, -1/ENODATA if the
 * kernel keeps none.  Async-signal-safe.
 */
static int
await_record(int pidfd, int *status)
{
    struct pollfd pfd = { .fd = pidfd, .events = 0 };
    struct timespec now, end;
    int r, hup = 0;
    long ms;

    clock_gettime(CLOCK_MONOTONIC, &end);
    end.tv_sec += RECOVER_WAIT_MS / 1000;
    for (;;) {
        if ((r = exit_info(pidfd, status)) == 1)
            return 0;
        /*
         * ESRCH can also come from a look that raced with the unhashing
         * (the task found, then its pid gone): decided only after POLLHUP.
         */
        if ((r == -1 && errno != ESRCH) || hup)
            break;
        clock_gettime(CLOCK_MONOTONIC, &now);
        ms = (long)(end.tv_sec - now.tv_sec) * 1000 +
             (end.tv_nsec - now.tv_nsec) / 1000000;
        if (ms <= 0)
            break;
        pfd.revents = 0;
        r = poll(&pfd, 1, (int)ms);
        if (r == -1 && errno != EINTR)
            break;
        if (r == 1) {
            if (pfd.revents & POLLNVAL)
                break;
            /* Unhashed: the record, if the kernel keeps one, is there. */
            hup = 1;
        }
    }
    errno = ENODATA;
    return -1;
}

/*
 * Does every caught signal's handler have SA_RESTART?  Then a handler that
 * interrupted a sleep would have had it restarted, had the sleep been a
 * waitpid().  Raw sigaction queries: this runs only after an EINTR.
 */
static int
all_handlers_restart(void)
{
    for (int sig = 1; sig < NSIG; sig++) {
        struct sigaction sa;

        if (sig == SIGKILL || sig == SIGSTOP ||
            ward__real_sigaction(sig, NULL, &sa) == -1)
            continue;
        if (sa.sa_handler != SIG_DFL && sa.sa_handler != SIG_IGN &&
            !(sa.sa_flags & SA_RESTART))
            return 0;
    }
    return 1;
}

/* Has the pid-tracked child c ended (or gone: ECHILD)?  Looks without reaping. */
static int
pid_ended(const struct ward__pidref *c)
{
    siginfo_t si;

    memset(&si, 0, sizeof(si));
    if (ward__real_waitid(P_PID, (id_t)c->pid, &si, WEXITED | WNOHANG | WNOWAIT) == -1)
        return errno != EINTR;
    return si.si_pid != 0;
}

/*
 * The longest step of a timed wait on a child with no pidfd: an exit is
 * seen at most this late.  No SIGCHLD handler is installed for it (see the
 * posix backend, whose timed waits do the same, for why).
 */
#define PID_STEP_MAX_MS 10

/*
 * Sleep until a child with no pidfd (made without one, or whose pidfd
 * other code closed) may have ended.  Its pid is its own while it is
 * unreaped, which waitid(WNOWAIT) never changes.  As linux_block().
 */
static int
pid_block(struct ward__pidref *c, const struct timespec *deadline, int intr)
{
    int step = 1;

    /*
     * ward_wait: the kernel sleeps until this child has ended, restarted
     * after an SA_RESTART handler and EINTR after another, as waitpid(2).
     */
    if (deadline == NULL && !intr)
        return ward__sleep_until_ended(c->pid);
    for (;;) {
        int ms;

        if (pid_ended(c))
            return 0;
        if ((ms = ward__ms_until(deadline)) == 0) {
            errno = ETIMEDOUT;
            return -1;
        }
        if (ms < 0 || ms > step)
            ms = step;
        /* EINTR too: the core tells the caller's from ward's own. */
        if (poll(NULL, 0, ms) == -1)
            return -1;
        if (step < PID_STEP_MAX_MS)
            step = step * 2 > PID_STEP_MAX_MS ? PID_STEP_MAX_MS : step * 2;
    }
}

static int
linux_block(struct ward__pidref *c, const struct timespec *deadline, int intr)
{
    struct pollfd pfd = { .fd = ref_fd(c), .events = POLLIN };
    struct timespec left;
    int r;

    /*
     * An ordinary child with no pidfd is waited for by pid.  An autoreaped
     * one whose pidfd was lost (see own_pidfd()) has nothing left to name
     * it: the caller's next look says so.
     */
    if (pfd.fd == -1)
        return c->autoreap ? 0 : pid_block(c, deadline, intr);
    if (deadline == NULL && !intr && c->autoreap) {
        /*
         * ward_wait on a child no wait can see (waitid(P_PIDFD) fails with
         * ECHILD at once): poll(2), which the kernel never restarts after
         * a handler.  The rule of waitpid(2) -- restarted after a handler
         * installed with SA_RESTART, EINTR after one without -- is kept as
         * far as can be told afterwards: the interruption is the caller's
         * only if some handler of the program's lacks SA_RESTART.
         */
        if (poll(&pfd, 1, -1) == -1 && errno == EINTR && !all_handlers_restart()) {
            errno = EINTR;
            return -1;
        }
        return 0;
    }
    if (deadline == NULL && !intr) {
        siginfo_t si;

        /*
         * ward_wait: sleep in waitid(P_PIDFD), which the kernel restarts
         * after a handler installed with SA_RESTART and fails with EINTR
         * after one without, as waitpid(2) does; poll and epoll_wait are
         * never restarted.  WNOWAIT reaps nothing, so any number of
         * threads may sleep here; ECHILD (a thief was first) is for the
         * core's next reap to find.
         */
        memset(&si, 0, sizeof(si));
        if (sys_waitid(P_PIDFD, (id_t)pfd.fd, &si, WEXITED | WNOWAIT, NULL) == -1 &&
            errno != ECHILD)
            return -1;
        return 0;
    }
    /* ward__time_left() never overflows, whatever time_t the deadline holds. */
    if (deadline != NULL)
        (void)ward__time_left(deadline, &left);
    /* ward_timedwait: never restarted, as poll(2). */
    r = ppoll(&pfd, 1, deadline != NULL ? &left : NULL, NULL);
    if (r == -1)
        return -1;
    if (r == 0) {
        errno = ETIMEDOUT;
        return -1;
    }
    return 0;
}

/* From <linux/pidfd.h> of Linux 6.9. */
#define WARD_PIDFD_SIGNAL_PROCESS_GROUP (1u << 2)

/*
 * The group of an autoreaped child, through its pidfd: its pid is not kept
 * for it once it ends, so kill(-pid) could reach a stranger's group.  The
 * flag came with Linux 6.9, CLONE_AUTOREAP with 7.1.
 */
static int
linux_signal_group(struct ward__pidref *c, int sig)
{
    if (own_pidfd(c) != 1) {
        ward__pidref_lost(c);
        errno = EBADF;
        return -1;
    }
    return (int)syscall(SYS_pidfd_send_signal, c->fd, sig, NULL,
                        WARD_PIDFD_SIGNAL_PROCESS_GROUP);
}

/*
 * An autoreaped child whose pidfd other code closed: its pid is its own
 * only while it runs, and it may end (and the pid be taken) at any moment.
 * So a new pidfd is opened by pid and compared with the one the handle was
 * given: the kernels that have CLONE_AUTOREAP have pidfs (Linux 6.9), where
 * a pidfd's inode names one process and is never given to another, so the
 * same device and inode prove the same child, and the signal goes through
 * the new pidfd, which cannot reach anyone else.  Anything else (the pid
 * gone, another process's inode) is ESRCH: nothing is sent.
 */
static int
linux_signal_lost(struct ward__pidref *c, int sig)
{
    struct stat st;
    int fd, r;

    if (pidfs <= 0 || c->fd_ino == 0 || (fd = sys_pidfd_open(c->pid, 0)) == -1) {
        errno = ESRCH;
        return -1;
    }
    if (fstat(fd, &st) == -1 || (unsigned long long)st.st_dev != c->fd_dev ||
        (unsigned long long)st.st_ino != c->fd_ino) {
        close(fd);
        errno = ESRCH;
        return -1;
    }
    r = sys_pidfd_send_signal(fd, sig);
    /*
     * SIGKILL comes from ward_free() with WARD_KILL_ON_FREE, which returns
     * once the child is gone; with the handle's pidfd lost, this one is
     * the only way to see it go.
     */
    if (r == 0 && sig == SIGKILL)
        wait_released(fd, RECOVER_WAIT_MS);
    WARD__KEEP_ERRNO(close(fd));
    return r;
}

/* An autoreaped child that has been released (POLLHUP): its pid is free. */
static int
linux_released(const struct ward__pidref *c)
{
    return c->fd != -1 && pidfd_ended(c->fd, 0);
}

static int
linux_signal(struct ward__pidref *c, int sig)
{
    int own = c->fd != -1 ? own_pidfd(c) : 0;

    if ((c->fd == -1 || own == -1) && !c->autoreap) {
        /*
         * A child with no pidfd, or whose pidfd cannot be checked now: by
         * pid, which is its own while it is unreaped.  The core holds ward__lock and the child's claim, so
         * no one who goes through ward can reap it meanwhile; a thief
         * that does not may have, and then the pid may be anyone's: a
         * child no longer ours (ECHILD) is not signalled.  What is left is
         * a thief's reap and the pid's reuse both between this look and
         * kill(), which only a pidfd could close (ward(7)).
         */
        siginfo_t si;

        memset(&si, 0, sizeof(si));
        if (ward__real_waitid(P_PID, (id_t)c->pid, &si,
                              WEXITED | WNOHANG | WNOWAIT) == -1 && errno == ECHILD) {
            errno = ESRCH;
            return -1;
        }
        return kill(c->pid, sig);
    }
    if (own != 1) {
        ward__pidref_lost(c);
        errno = EBADF;
        return -1;
    }
    return sys_pidfd_send_signal(c->fd, sig);
}

/*
 * Children with no pidfd (made when none could be had: linux_spawn()) have
 * nothing to put in the events set.  Their ends come as SIGCHLD, as on the
 * posix backend: while one is watched, a handler of ward's (or
 * libward-guard's, which calls linux_sigchld()) writes to an eventfd that
 * sits in the events set, and a drain that finds it asks the core to look
 * at every child.  The eventfd is made with the events set, while
 * descriptors are still to be had: by the time a child has no pidfd, none
 * is left to make it.  The handler is installed only once such a child is
 * watched (a program that asked for the events descriptor and ran out of
 * descriptors accepts it), in front of the program's, which it calls; an
 * ignored SIGCHLD is left alone (the kernel then reaps those children
 * itself and their statuses are lost: ward(7)).
 */
#define EV_WAKE UINT64_MAX /* the eventfd's entry in the events set */

static _Atomic int wake_fd = -1; /* the eventfd; read by the handler */
static size_t pid_watched;       /* children watched by SIGCHLD; under ward__lock */
static int handler_state;        /* 0 not tried, 1 installed, -1 not possible */
static struct sigaction chained; /* the program's handler, called after ours */

static void
linux_sigchld(const siginfo_t *info)
{
    int e = errno, fd = atomic_load(&wake_fd);
    uint64_t one = 1;

    /* Every child with a pidfd is named by it: si_pid adds nothing. */
    (void)info;

    /* A full counter already says "something ended": a failed write is fine. */
    if (fd >= 0 && write(fd, &one, sizeof(one)) < 0) {
        /* Nothing to do: see above. */
    }
    errno = e;
}

static void
on_sigchld(int sig, siginfo_t *si, void *ctx)
{
    linux_sigchld(si);
    if (!ward__sigchld_chain(&chained, sig, si, ctx, NULL))
        ward__quiet_signal();
}

/* 0 once SIGCHLD reaches linux_sigchld(), -1 if it cannot.  Under ward__lock. */
static int
ensure_handler(void)
{
    if (ward__guard_active()) {
        /* libward-guard owns SIGCHLD and calls linux_sigchld(). */
        ward__guard_want_handler();
        return 0;
    }
    if (handler_state == 0)
        handler_state = ward__sigchld_install(on_sigchld, &chained) == 0 ? 1 : -1;
    return handler_state == 1 ? 0 : -1;
}

/*
 * The events set holds the pid, not a pointer: a pidfd that a forked child
 * still holds a copy of stays registered after we close ours, and must not
 * name a freed handle.  Each child is removed explicitly when it is reaped.
 */
static int
linux_events_open(void)
{
    struct epoll_event ev = { .events = EPOLLIN, .data.u64 = EV_WAKE };
    int ep, wfd;

    if (epfd != -1)
        return epfd;
    if ((ep = ward__fd_above_stdio(epoll_create1(EPOLL_CLOEXEC))) == -1)
        return -1;
    wfd = ward__fd_above_stdio(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (wfd == -1 || epoll_ctl(ep, EPOLL_CTL_ADD, wfd, &ev) == -1) {
        WARD__KEEP_ERRNO(if (wfd != -1) close(wfd); close(ep));
        return -1;
    }
    atomic_store(&wake_fd, wfd);
    epfd = ep;
    return epfd;
}

static int
linux_watch(struct ward__pidref *c)
{
    struct epoll_event ev = { .events = EPOLLIN, .data.u64 = (uint64_t)c->pid };

    if (c->fd == -1) {
        uint64_t one = 1;

        /* An autoreaped child with no pidfd: nothing can tell of its end. */
        if (c->autoreap || ensure_handler() == -1)
            return -1;
        pid_watched++;
        /*
         * A SIGCHLD that came before it was in the table may have been
         * drained by a dispatch that did not find it yet.  The kernel
         * makes a child a zombie and sends SIGCHLD in one step, so a child
         * not ended now sends its SIGCHLD later, and one ended now gets a
         * wake-up of its own.
         */
        if (pid_ended(c) && write(atomic_load(&wake_fd), &one, sizeof(one)) < 0) {
            /* The counter is not empty: a wake-up is due anyway. */
        }
        return 1;
    }
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev) == -1 && errno != EEXIST)
        return -1;
    return 1;
}

static void
linux_unwatch(struct ward__pidref *c)
{
    /* Watched with no pidfd: a lost pidfd is never unwatched (the core's rule). */
    if (c->fd == -1) {
        if (pid_watched > 0)
            pid_watched--;
        return;
    }
    (void)epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
}

static int
linux_events_drain(pid_t *pids, int max, int *scan_all)
{
    struct epoll_event ev[64];
    int n, k = 0;

    if (max > 64)
        max = 64;
    n = epoll_wait(epfd, ev, max, 0);
    if (n == -1) {
        /* Only EINTR is possible here; look at everything instead. */
        *scan_all = 1;
        return 0;
    }
    for (int i = 0; i < n; i++) {
        if (ev[i].data.u64 == EV_WAKE) {
            uint64_t v;

            /* A SIGCHLD: some child without a pidfd may have ended. */
            if (read(atomic_load(&wake_fd), &v, sizeof(v)) < 0) {
                /* Already drained: nothing new since. */
            }
            if (pid_watched > 0)
                *scan_all = 1;
            continue;
        }
        pids[k++] = (pid_t)ev[i].data.u64;
    }
    /*
     * With the wake-up in it, a full batch comes back short and the core
     * stops draining: what was left is reported again (level-triggered),
     * and the descriptor stays readable, for the next dispatch.
     */
    return k;
}

/*
 * Is there a child that is not ward's?  The kernel lists each thread's
 * children, zombies included, in /proc/self/task/TID/children (procfs with
 * CONFIG_PROC_CHILDREN, as distribution kernels have).  Raw system calls
 * and no allocation: the guard's wait family may run in a signal handler.
 * A pid is ward's if the core says so (is_private: its table has it); the
 * spawn gate is held, so no child of ward's is between its birth and the
 * table.
 */
struct ward_dirent64 {
    uint64_t d_ino;
    int64_t d_off;
    unsigned short d_reclen;
    unsigned char d_type;
    char d_name[];
};

/* The wait others_exist() stands for, and the core's answer for one pid. */
struct wait_for {
    idtype_t idtype;
    id_t id;
    int (*is_private)(pid_t pid);
};

static int
other_matches(const struct wait_for *w, pid_t pid)
{
    pid_t pg;

    if (w->is_private(pid))
        return 0;
    if (w->idtype != P_PGID)
        return 1;
    pg = getpgid(pid);
    /* Gone in the meantime, or not ours to ask: let the kernel decide. */
    return pg == -1 || pg == (pid_t)(w->id != 0 ? w->id : (id_t)getpgrp());
}

/*
 * 1 if a pid in tid's children file is another's, 0 if none, -1 if that
 * cannot be told.  The file is a seq_file: a second read() restarts by
 * position, and a child reaped in between shifts the list under it, so
 * only a file read whole in one read() is believed.  A thread that is gone
 * has handed its children to another one, maybe already read: unknown.
 */
static int
task_has_other(int taskdir, const char *tid, const struct wait_for *w)
{
    char path[64], buf[4096];
    size_t len = strlen(tid);
    long pid = -1;
    ssize_t n;
    int fd, found = 0;

    if (len > sizeof(path) - sizeof("/children"))
        return -1;
    memcpy(path, tid, len);
    memcpy(path + len, "/children", sizeof("/children"));
    if ((fd = openat(taskdir, path, O_RDONLY | O_CLOEXEC)) == -1)
        return -1;
    n = read(fd, buf, sizeof(buf));
    close(fd);
    if (n < 0 || n == (ssize_t)sizeof(buf))
        return -1;
    for (ssize_t i = 0; i <= n && !found; i++) {
        if (i < n && buf[i] >= '0' && buf[i] <= '9') {
            pid = (pid < 0 ? 0 : pid * 10) + (buf[i] - '0');
        } else if (pid >= 0) {
            found = other_matches(w, (pid_t)pid);
            pid = -1;
        }
    }
    return found;
}

/*
 * Call fn(dir, tid, arg) for every thread in /proc/self/task (dir), read
 * from its start, until fn returns non-zero.  Returns that value, 0 when
 * all were seen, -1 on error.
 */
static int
each_task(int dir, int (*fn)(int, const char *, void *), void *arg)
{
    union {
        char buf[1024];
        struct ward_dirent64 align;
    } u;
    long n;
    int r = 0;

    if (lseek(dir, 0, SEEK_SET) == -1)
        return -1;
    while (r == 0 && (n = syscall(SYS_getdents64, dir, u.buf, sizeof(u.buf))) != 0) {
        if (n < 0)
            return -1;
        for (long off = 0; off < n && r == 0;) {
            struct ward_dirent64 *d = (struct ward_dirent64 *)(u.buf + off);

            off += d->d_reclen;
            if (d->d_name[0] >= '0' && d->d_name[0] <= '9')
                r = fn(dir, d->d_name, arg);
        }
    }
    return r;
}

/*
 * The threads as a count and a sum of their ids.  Taken before and after a
 * scan: a thread that ended or began in between makes its answer unknown.
 */
struct task_sum {
    long count, sum;
};

static int
add_task(int dir, const char *tid, void *arg)
{
    struct task_sum *t = arg;
    long v = 0;

    (void)dir;
    for (; *tid >= '0' && *tid <= '9'; tid++)
        v = v * 10 + (*tid - '0');
    t->count++;
    t->sum += v;
    return 0;
}

static int
check_task(int dir, const char *tid, void *arg)
{
    return task_has_other(dir, tid, arg);
}

/*
 * Tracees.  A process that one of our threads has attached with ptrace()
 * is waited for like a child, __WALL or not (waitpid(-1) reports its stops
 * and its exit), but no children file lists it, and nothing in /proc lists
 * a tracer's tracees (finding them through every task's TracerPid costs
 * milliseconds).  The kernel answers in one system call instead: a wait
 * with __WCLONE considers only "clone" children (those whose exit signal is
 * not SIGCHLD) and, whatever the flags, tracees, so it fails with ECHILD
 * exactly when neither exists.  ward's children all have SIGCHLD as their
 * exit signal once they have execed, autoreaped ones too (seen on Linux
 * 7.3: execve() resets it, though the kernel still sends nothing for
 * them), and the spawn gate keeps out the moment before that, so any
 * answer but ECHILD names someone else's: a tracee, or a clone child of
 * the program.  WNOWAIT | WNOHANG: nothing is consumed,
 * nothing sleeps.  Async-signal-safe, as the rest.
 */
static int
tracees_or_clones_exist(idtype_t idtype, id_t id)
{
    siginfo_t si;

    memset(&si, 0, sizeof(si));
    if (ward__real_waitid(idtype, id, &si,
                          WEXITED | WSTOPPED | WCONTINUED | WNOHANG | WNOWAIT |
                              __WCLONE) == 0)
        return 1;
    return errno == ECHILD ? 0 : -1;
}

static int
linux_others_exist(idtype_t idtype, id_t id, int (*is_private)(pid_t pid))
{
    struct task_sum before = { 0, 0 }, after = { 0, 0 };
    struct wait_for w = { idtype, id, is_private };
    int dir, r;

    /* One system call first: a tracee means "not only private children". */
    if ((r = tracees_or_clones_exist(idtype, id)) != 0)
        return r;
    if ((dir = open("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
        return -1;
    r = each_task(dir, add_task, &before);
    if (r == 0)
        r = each_task(dir, check_task, &w);
    /* "None" holds only if no thread came or went during the scan. */
    if (r == 0 && (each_task(dir, add_task, &after) != 0 ||
                   after.count != before.count || after.sum != before.sum))
        r = -1;
    close(dir);
    return r;
}

static void
linux_atfork_child(void)
{
    int wfd = atomic_exchange(&wake_fd, -1);

    if (epfd != -1)
        close(epfd);
    epfd = -1;
    if (wfd != -1)
        close(wfd);
    /* The handler, if any, is inherited, and writes nowhere now. */
    pid_watched = 0;
}

/*
 * A number that is no longer ours is left alone, not closed.  An inherited
 * pidfd is a copy the fork made: closed like any other.
 */
static void
linux_forget(struct ward__pidref *c, int inherited)
{
    /* -1, cannot be told (see own_pidfd()): still a pidfd, closed. */
    if (c->fd != -1 && own_pidfd(c) != 0)
        close(c->fd);
    c->fd = -1;
}

const struct ward__backend ward__linux_backend = {
    .name = "linux",
    .init = linux_init,
    .spawn = linux_spawn,
    .spawn_unmasked = linux_spawn_unmasked,
    .adopt = linux_adopt,
    .reap = linux_reap,
    .recover = linux_recover,
    .block = linux_block,
    .signal = linux_signal,
    .forget = linux_forget,
    .note = linux_note,
    .can_block = linux_can_block,
    .reap_claimed = linux_reap_claimed,
    .events_open = linux_events_open,
    .watch = linux_watch,
    .unwatch = linux_unwatch,
    .events_drain = linux_events_drain,
    .others_exist = linux_others_exist,
    .released = linux_released,
    .signal_group = linux_signal_group,
    .signal_lost = linux_signal_lost,
    .sigchld = linux_sigchld,
    .atfork_child = linux_atfork_child,
};
