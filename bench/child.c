/*
 * bench/child.c - the program every contender starts, built static so that
 * no dynamic loader hides the library's own cost.
 *
 *   child          exit(0) at once
 *   child wait     read stdin until end of file, then exit(0): an idle child
 *   child stamp    write CLOCK_MONOTONIC (a struct timespec) to stdout right
 *                  before exiting, so the parent can measure how long the
 *                  exit takes to reach it
 *   child fds      exit with the number of descriptors open beyond 0, 1 and
 *                  2 (at most 255): 0 for a clean table
 *
 * Built with -DRAW_CHILD -nostdlib (x86-64 and AArch64), it has its own
 * _start and makes raw system calls: glibc's static start-up alone costs
 * about 200 us on a virtual machine (it runs CPUID in a loop to size the
 * caches, and every CPUID traps to the hypervisor), which would hide the
 * differences the bench is there to show.  Elsewhere it is plain C.
 */
#if defined(RAW_CHILD) && (defined(__x86_64__) || defined(__aarch64__))

#include <asm/unistd.h>

struct ts {
    long sec, nsec;
};

static long
sys3(long n, long a, long b, long c)
{
#if defined(__x86_64__)
    long r;

    __asm__ volatile("syscall"
                     : "=a"(r)
                     : "a"(n), "D"(a), "S"(b), "d"(c)
                     : "rcx", "r11", "memory");
    return r;
#else
    register long x8 __asm__("x8") = n;
    register long x0 __asm__("x0") = a;
    register long x1 __asm__("x1") = b;
    register long x2 __asm__("x2") = c;

    __asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2) : "memory");
    return x0;
#endif
}

/*
 * Descriptors open beyond 0-2.  The directory's own descriptor is counted
 * out; on a clean table it is 3.
 */
static long
extra_fds(void)
{
    char buf[4096];
    long fd = sys3(__NR_openat, -100 /* AT_FDCWD */, (long)"/proc/self/fd",
                   0 /* O_RDONLY */), n = 0, len;

    if (fd < 0)
        return 255;
    while ((len = sys3(__NR_getdents64, fd, (long)buf, sizeof(buf))) > 0) {
        for (long off = 0; off < len;) {
            unsigned short reclen = *(unsigned short *)(buf + off + 16);
            const char *name = buf + off + 19;

            n += name[0] != '.';
            off += reclen;
        }
    }
    n -= 4;
    return n < 0 ? 255 : n > 255 ? 255 : n;
}

static void __attribute__((noreturn, used))
child_main(long *sp)
{
    long argc = sp[0];
    char **argv = (char **)(sp + 1);
    char buf[64];

    if (argc > 1 && argv[1][0] == 'f') {
        long n = extra_fds();

        for (;;)
            sys3(__NR_exit_group, n, 0, 0);
    } else if (argc > 1 && argv[1][0] == 'w') {
        while (sys3(__NR_read, 0, (long)buf, sizeof(buf)) > 0)
            ;
    } else if (argc > 1 && argv[1][0] == 's') {
        struct ts t;

        sys3(__NR_clock_gettime, 1 /* CLOCK_MONOTONIC */, (long)&t, 0);
        sys3(__NR_write, 1, (long)&t, sizeof(t));
    }
    for (;;)
        sys3(__NR_exit_group, 0, 0, 0);
}

/* The kernel enters with the stack pointer at argc; hand it to C. */
#if defined(__x86_64__)
__asm__(".text\n.global _start\n_start:\n"
        "  mov %rsp, %rdi\n  and $-16, %rsp\n  call child_main\n  hlt\n");
#else
__asm__(".text\n.global _start\n_start:\n"
        "  mov x0, sp\n  and sp, x0, #-16\n  bl child_main\n");
#endif

#else

#include <dirent.h>
#include <time.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
    if (argc > 1 && argv[1][0] == 'f') {
        DIR *d = opendir("/proc/self/fd");
        struct dirent *e;
        int n = 0;

        if (d == NULL)
            _exit(255);
        while ((e = readdir(d)) != NULL)
            n += e->d_name[0] != '.';
        closedir(d);
        n -= 4;
        _exit(n < 0 ? 255 : n > 255 ? 255 : n);
    } else if (argc > 1 && argv[1][0] == 'w') {
        char buf[64];

        while (read(0, buf, sizeof(buf)) > 0)
            ;
    } else if (argc > 1 && argv[1][0] == 's') {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        if (write(1, &ts, sizeof(ts)) != (ssize_t)sizeof(ts))
            _exit(1);
    }
    _exit(0);
}

#endif
