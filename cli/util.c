/*
 * util.c - helpers shared by the subcommands of ward(1).
 */
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <unistd.h>

const char *ward_argv0 = "ward";

/* ---- errors ------------------------------------------------------------ */

void
message(const char *cause, const char *arg)
{
    if (arg != NULL)
        fprintf(stderr, "ward: %s: %s\n", cause, arg);
    else
        fprintf(stderr, "ward: %s\n", cause);
}

void
usage_error(const char *cause, const char *arg)
{
    message(cause, arg);
    exit(EXIT_USAGE);
}

void
fatal(int status, const char *cause, const char *arg)
{
    message(cause, arg);
    exit(status);
}

void
fatal_errno(const char *what)
{
    fatal(EXIT_FAILED, what, strerror(errno));
}

void
bad_option(int c, char **argv, int before)
{
    const char *arg = argv[optind - 1];
    char opt[3] = { '-', (char)optopt, '\0' };

    /*
     * A long option always uses up its argument, so optind has moved and
     * argv[optind - 1] names it.  A short one may sit in the middle of a
     * cluster such as -vx, where optind has not moved: optopt names it.
     */
    if (optind == before || strncmp(arg, "--", 2) != 0)
        usage_error(c == ':' ? "option requires an argument" : "unknown option", opt);
    if (c == ':')
        usage_error("option requires an argument", arg);
    /* A known long option given a value it does not take: --json=1. */
    if (optopt != 0)
        usage_error("option takes no argument", arg);
    usage_error("unknown option", arg);
}

/* ---- memory ------------------------------------------------------------ */

static void __attribute__((noreturn))
out_of_memory(void)
{
    fatal(EXIT_FAILED, "out of memory", NULL);
}

void *
xmalloc(size_t n)
{
    void *p = malloc(n != 0 ? n : 1);

    if (p == NULL)
        out_of_memory();
    return p;
}

void *
xcalloc(size_t n, size_t size)
{
    void *p = calloc(n != 0 ? n : 1, size != 0 ? size : 1);

    if (p == NULL)
        out_of_memory();
    return p;
}

void *
xrealloc(void *p, size_t n)
{
    p = realloc(p, n != 0 ? n : 1);
    if (p == NULL)
        out_of_memory();
    return p;
}

void *
xgrow(void *p, size_t *cap, size_t want, size_t elem)
{
    size_t n = *cap != 0 ? *cap : 8;

    if (want <= *cap)
        return p;
    while (n < want) {
        if (n > SIZE_MAX / 2)
            out_of_memory();
        n *= 2;
    }
    if (n > SIZE_MAX / elem)
        out_of_memory();
    p = xrealloc(p, n * elem);
    *cap = n;
    return p;
}

char *
xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;

    return memcpy(xmalloc(n), s, n);
}

char *
xasprintf(const char *fmt, ...)
{
    va_list ap;
    char *s;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        fatal_errno("formatting a message");
    s = xmalloc((size_t)n + 1);
    va_start(ap, fmt);
    (void)vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

/* ---- durations and counts --------------------------------------------- */

int
parse_duration(const char *s, nsec_t *out)
{
    static const struct {
        const char *suffix;
        nsec_t mult;
    } units[] = {
        { "", NSEC_PER_SEC },        { "s", NSEC_PER_SEC },
        { "ms", NSEC_PER_MSEC },     { "m", 60 * NSEC_PER_SEC },
        { "h", 3600 * NSEC_PER_SEC }, { "d", 86400 * NSEC_PER_SEC },
    };
    nsec_t whole = 0, mult = 0, ns;
    double frac = 0, scale = 1;
    int digits = 0, nonzero = 0;

    /* The number: digits, optionally a point and more digits. */
    for (; *s >= '0' && *s <= '9'; s++, digits++) {
        if (whole > (INT64_MAX - 9) / 10)
            return -1;
        whole = whole * 10 + (*s - '0');
        nonzero |= *s != '0';
    }
    if (*s == '.') {
        for (s++; *s >= '0' && *s <= '9'; s++, digits++) {
            scale /= 10;
            frac += (*s - '0') * scale;
            nonzero |= *s != '0';
        }
    }
    if (digits == 0)
        return -1;
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (strcmp(s, units[i].suffix) == 0) {
            mult = units[i].mult;
            break;
        }
    }
    if (mult == 0 || whole > INT64_MAX / mult)
        return -1;
    ns = whole * mult;
    /* frac < 1, so the product is below mult and cannot overflow. */
    if ((nsec_t)(frac * (double)mult) > INT64_MAX - ns)
        return -1;
    ns += (nsec_t)(frac * (double)mult);
    /*
     * 0 means "none" to the callers: a duration that is not zero but
     * shorter than a nanosecond is the shortest one, not the absence of one.
     */
    *out = ns == 0 && nonzero ? 1 : ns;
    return 0;
}

nsec_t
duration_arg(const char *opt, const char *arg)
{
    nsec_t ns;

    if (parse_duration(arg, &ns) == -1) {
        char *cause = xasprintf("invalid duration for %s", opt);

        usage_error(cause, arg);
    }
    return ns;
}

long
count_arg(const char *opt, const char *arg, long min, long max)
{
    char *end;
    long n;

    errno = 0;
    n = strtol(arg, &end, 10);
    if (arg[0] < '0' || arg[0] > '9' || *end != '\0' || errno != 0 || n < min ||
        n > max) {
        char *cause = xasprintf("invalid number for %s", opt);

        usage_error(cause, arg);
    }
    return n;
}

/* ---- signals ----------------------------------------------------------- */

static const struct {
    int sig;
    const char *name;
} signals[] = {
    { SIGHUP, "HUP" },   { SIGINT, "INT" },       { SIGQUIT, "QUIT" },
    { SIGILL, "ILL" },   { SIGTRAP, "TRAP" },     { SIGABRT, "ABRT" },
    { SIGBUS, "BUS" },   { SIGFPE, "FPE" },       { SIGKILL, "KILL" },
    { SIGUSR1, "USR1" }, { SIGSEGV, "SEGV" },     { SIGUSR2, "USR2" },
    { SIGPIPE, "PIPE" }, { SIGALRM, "ALRM" },     { SIGTERM, "TERM" },
    { SIGCHLD, "CHLD" }, { SIGCONT, "CONT" },     { SIGSTOP, "STOP" },
    { SIGTSTP, "TSTP" }, { SIGTTIN, "TTIN" },     { SIGTTOU, "TTOU" },
    { SIGURG, "URG" },   { SIGXCPU, "XCPU" },     { SIGXFSZ, "XFSZ" },
    { SIGVTALRM, "VTALRM" }, { SIGPROF, "PROF" }, { SIGSYS, "SYS" },
#ifdef SIGWINCH
    { SIGWINCH, "WINCH" },
#endif
#ifdef SIGIO
    { SIGIO, "IO" },
#endif
#ifdef SIGPWR
    { SIGPWR, "PWR" },
#endif
#ifdef SIGSTKFLT
    { SIGSTKFLT, "STKFLT" },
#endif
#ifdef SIGEMT
    { SIGEMT, "EMT" },
#endif
#ifdef SIGINFO
    { SIGINFO, "INFO" },
#endif
};

const char *
signal_name(int sig)
{
    for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++) {
        if (signals[i].sig == sig)
            return signals[i].name;
    }
    return NULL;
}

int
parse_signal(const char *s)
{
    if (*s >= '0' && *s <= '9') {
        char *end;
        long n;

        errno = 0;
        n = strtol(s, &end, 10);
        if (*end != '\0' || errno != 0 || n < 1 || n >= NSIG)
            return -1;
        return (int)n;
    }
    if (strncasecmp(s, "SIG", 3) == 0)
        s += 3;
    for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++) {
        if (strcasecmp(signals[i].name, s) == 0)
            return signals[i].sig;
    }
    return -1;
}

static int sigpipe_fds[2] = { -1, -1 };

static void
on_signal(int sig)
{
    int e = errno;
    unsigned char b = (unsigned char)sig;
    ssize_t n;

    /*
     * A full pipe already holds wake-ups; losing this byte then loses only a
     * repeat of a signal already on its way.
     */
    n = write(sigpipe_fds[1], &b, 1);
    (void)n;
    errno = e;
}

int
sigpipe_open(const int *sigs, size_t nsigs)
{
    struct sigaction sa, old;

    if (pipe(sigpipe_fds) == -1)
        fatal_errno("pipe");
    for (int i = 0; i < 2; i++) {
        if (set_nonblock(sigpipe_fds[i]) == -1 ||
            fcntl(sigpipe_fds[i], F_SETFD, FD_CLOEXEC) == -1)
            fatal_errno("fcntl");
    }
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < nsigs; i++) {
        if (sigaction(sigs[i], NULL, &old) == -1)
            fatal_errno("sigaction");
        if (old.sa_handler == SIG_IGN)
            continue;
        if (sigaction(sigs[i], &sa, NULL) == -1)
            fatal_errno("sigaction");
    }
    return sigpipe_fds[0];
}

int
sigpipe_read(void)
{
    unsigned char b;
    ssize_t n;

    while ((n = read(sigpipe_fds[0], &b, 1)) == -1 && errno == EINTR)
        ;
    return n == 1 ? b : 0;
}

/* ---- clocks and descriptors -------------------------------------------- */

nsec_t
now_ns(void)
{
    struct timespec ts;

    if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
        fatal_errno("clock_gettime");
    return (nsec_t)ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
}

nsec_t
deadline_after(nsec_t after)
{
    nsec_t now = now_ns();

    return after >= NSEC_NEVER - now ? NSEC_NEVER : now + after;
}

int
poll_timeout(nsec_t deadline)
{
    nsec_t left;

    if (deadline == NSEC_NEVER)
        return -1;
    left = deadline - now_ns();
    if (left <= 0)
        return 0;
    left = (left + NSEC_PER_MSEC - 1) / NSEC_PER_MSEC;
    return left > INT_MAX ? INT_MAX : (int)left;
}

double
ns_to_sec(nsec_t ns)
{
    return (double)ns / (double)NSEC_PER_SEC;
}

int
set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);

    if (fl == -1 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1)
        return -1;
    return 0;
}

/* ---- escaping ---------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at p (1..4), or 0 if it is not one. */
static size_t
utf8_len(const unsigned char *p, size_t n)
{
    size_t len;
    unsigned int cp;

    if (p[0] < 0x80)
        return 1;
    if (p[0] >= 0xc2 && p[0] <= 0xdf) {
        len = 2;
        cp = p[0] & 0x1f;
    } else if (p[0] >= 0xe0 && p[0] <= 0xef) {
        len = 3;
        cp = p[0] & 0x0f;
    } else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
        len = 4;
        cp = p[0] & 0x07;
    } else {
        return 0;
    }
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3f);
    }
    /* Overlong forms, surrogates and code points past U+10FFFF. */
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
        return 0;
    return len;
}

void
json_bytes(FILE *out, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;

    putc('"', out);
    for (size_t i = 0; i < n;) {
        size_t len = utf8_len(p + i, n - i);

        if (len == 0) {
            fputs("\\ufffd", out);
            i++;
            continue;
        }
        if (len > 1) {
            fwrite(p + i, 1, len, out);
            i += len;
            continue;
        }
        switch (p[i]) {
        case '"':  fputs("\\\"", out); break;
        case '\\': fputs("\\\\", out); break;
        case '\n': fputs("\\n", out); break;
        case '\t': fputs("\\t", out); break;
        case '\r': fputs("\\r", out); break;
        default:
            if (p[i] < 0x20 || p[i] == 0x7f)
                fprintf(out, "\\u%04x", p[i]);
            else
                putc(p[i], out);
        }
        i++;
    }
    putc('"', out);
}

void
json_string(FILE *out, const char *s)
{
    json_bytes(out, s, strlen(s));
}

void
xml_text(FILE *out, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;

    for (size_t i = 0; i < n;) {
        size_t len = utf8_len(p + i, n - i);

        /* U+FFFE and U+FFFF are not XML characters either. */
        if (len == 3 && p[i] == 0xef && p[i + 1] == 0xbf && p[i + 2] >= 0xbe) {
            putc('?', out);
            i += len;
            continue;
        }
        if (len > 1) {
            fwrite(p + i, 1, len, out);
            i += len;
            continue;
        }
        i++;
        if (len == 0) {
            putc('?', out);
            continue;
        }
        switch (p[i - 1]) {
        case '&': fputs("&amp;", out); break;
        case '<': fputs("&lt;", out); break;
        case '>': fputs("&gt;", out); break;
        case '"': fputs("&quot;", out); break;
        case '\t':
        case '\n':
            putc(p[i - 1], out);
            break;
        default:
            /* XML 1.0 allows no other control character, even escaped. */
            putc(p[i - 1] < 0x20 || p[i - 1] == 0x7f ? '?' : p[i - 1], out);
        }
    }
}

void
clean_text(FILE *out, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;

    for (size_t i = 0; i < n;) {
        size_t len = utf8_len(p + i, n - i);

        if (len > 1) {
            fwrite(p + i, 1, len, out);
            i += len;
            continue;
        }
        putc(len == 0 || (p[i] < 0x20 && p[i] != '\t') || p[i] == 0x7f ? '?' : p[i],
             out);
        i++;
    }
}

/* ---- live counter ------------------------------------------------------ */

static int progress_tty = -1;
static int stdout_tty;
static int progress_shown;
static nsec_t progress_last;

void
progress_init(void)
{
    progress_tty = isatty(STDERR_FILENO);
    stdout_tty = isatty(STDOUT_FILENO);
}

/* The width of the terminal on standard error, 80 if it does not say. */
static size_t
terminal_width(void)
{
    struct winsize ws;

    if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        return ws.ws_col;
    return 80;
}

/*
 * Print a live line so that "\r" and "\033[K" can take it back: at most one
 * column less than the terminal is wide, since a line that wraps leaves its
 * first rows on the screen at every redraw, and with no control character
 * or malformed UTF-8 from a test's name, which the terminal would act on or
 * draw in a width of its own.  A UTF-8 character counts as one column.
 */
static void
terminal_line(FILE *out, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t room = terminal_width() - 1;

    while (*p != '\0' && room > 0) {
        size_t n = utf8_len(p, strnlen((const char *)p, 4));

        if (n == 0 || (n == 1 && (*p < 0x20 || *p == 0x7f))) {
            putc('?', out);
            p++;
        } else {
            fwrite(p, 1, n, out);
            p += n;
        }
        room--;
    }
}

void
progress_update(const char *fmt, ...)
{
    va_list ap;
    nsec_t now;
    char line[512];

    if (progress_tty != 1)
        return;
    /* Redraw at most 20 times a second: a terminal is slow. */
    now = now_ns();
    if (progress_shown && now - progress_last < 50 * NSEC_PER_MSEC)
        return;
    progress_last = now;
    va_start(ap, fmt);
    (void)vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    fputs("\r", stderr);
    terminal_line(stderr, line);
    fputs("\033[K", stderr);
    fflush(stderr);
    progress_shown = 1;
}

void
progress_clear(void)
{
    if (progress_tty != 1 || !progress_shown)
        return;
    fputs("\r\033[K", stderr);
    fflush(stderr);
    progress_shown = 0;
}

int
progress_active(void)
{
    return progress_tty == 1;
}

void
progress_finish(const char *line)
{
    if (progress_tty != 1)
        return;
    if (stdout_tty) {
        progress_clear();
        return;
    }
    /* Erase what is left of the longer live line, then end the line. */
    fprintf(stderr, "\r%.*s\033[K\n", (int)strcspn(line, "\n"), line);
    fflush(stderr);
    progress_shown = 0;
}

void
progress_before_stdout(void)
{
    if (stdout_tty)
        progress_clear();
}
